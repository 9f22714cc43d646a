package rl

import (
	"errors"
	"math"
	"math/rand/v2"
)

// CartPole is Gymnasium's CartPole-v1 (classic_control/cartpole.py): a pole
// on a cart, pushed left (action 0) or right (action 1) with a fixed force;
// Euler integration with tau = 0.02 s; the episode terminates when
// |x| > 2.4 or |theta| > 12 degrees, and is truncated after 500 steps.
// Reward is 1 for every step, the terminating one included.
type CartPole struct {
	// State is (x, x_dot, theta, theta_dot).
	State      [4]float64
	Steps      int
	MaxSteps   int
	terminated bool
}

// Gymnasium's constants.
const (
	cpGravity        = 9.8
	cpMassCart       = 1.0
	cpMassPole       = 0.1
	cpTotalMass      = cpMassPole + cpMassCart
	cpLength         = 0.5 // half the pole's length
	cpPoleMassLength = cpMassPole * cpLength
	cpForceMag       = 10.0
	cpTau            = 0.02
	cpXThreshold     = 2.4
)

// cpThetaThreshold is 12 degrees in radians, as Gymnasium writes it.
var cpThetaThreshold = 12 * 2 * math.Pi / 360

// NewCartPole returns CartPole-v1 with its 500-step limit.
func NewCartPole() *CartPole { return &CartPole{MaxSteps: 500} }

// ErrEpisodeOver is returned by Step after the episode has ended.
var ErrEpisodeOver = errors.New("rl: step after the episode ended; call Reset")

func (c *CartPole) NumActions() int { return 2 }
func (c *CartPole) ObsSize() int    { return 4 }

// Reset draws each state variable uniformly from [-0.05, 0.05).
func (c *CartPole) Reset(rng *rand.Rand) []float64 {
	for i := range c.State {
		c.State[i] = rng.Float64()*0.1 - 0.05
	}
	c.Steps = 0
	c.terminated = false
	return c.obs()
}

func (c *CartPole) obs() []float64 { s := c.State; return s[:] }

// Step follows Gymnasium's step in its order of operations.
func (c *CartPole) Step(action int) ([]float64, float64, bool, bool, error) {
	if err := checkAction(action, 2); err != nil {
		return nil, 0, false, false, err
	}
	if c.terminated || (c.MaxSteps > 0 && c.Steps >= c.MaxSteps) {
		return nil, 0, false, false, ErrEpisodeOver
	}
	x, xDot, theta, thetaDot := c.State[0], c.State[1], c.State[2], c.State[3]
	force := -cpForceMag
	if action == 1 {
		force = cpForceMag
	}
	cos, sin := math.Cos(theta), math.Sin(theta)
	temp := (force + cpPoleMassLength*thetaDot*thetaDot*sin) / cpTotalMass
	thetaAcc := (cpGravity*sin - cos*temp) / (cpLength * (4.0/3.0 - cpMassPole*cos*cos/cpTotalMass))
	xAcc := temp - cpPoleMassLength*thetaAcc*cos/cpTotalMass
	x += cpTau * xDot
	xDot += cpTau * xAcc
	theta += cpTau * thetaDot
	thetaDot += cpTau * thetaAcc
	c.State = [4]float64{x, xDot, theta, thetaDot}
	c.Steps++
	c.terminated = x < -cpXThreshold || x > cpXThreshold || theta < -cpThetaThreshold || theta > cpThetaThreshold
	truncated := !c.terminated && c.MaxSteps > 0 && c.Steps >= c.MaxSteps
	return c.obs(), 1, c.terminated, truncated, nil
}
