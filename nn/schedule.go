package nn

import "math"

// Schedule gives the learning rate at a step (0-based), so a resumed run
// continues the schedule exactly.
type Schedule interface{ LR(step int64) float64 }

// ScheduleFunc adapts a function to a Schedule.
type ScheduleFunc func(step int64) float64

// LR returns f(step).
func (f ScheduleFunc) LR(step int64) float64 { return f(step) }

// Constant returns lr at every step.
func Constant(lr float64) Schedule { return ScheduleFunc(func(int64) float64 { return lr }) }

// StepDecay multiplies lr by gamma every `every` steps, as
// torch.optim.lr_scheduler.StepLR: lr * gamma^floor(step/every).
// every <= 0 means never.
func StepDecay(lr float64, every int64, gamma float64) Schedule {
	return ScheduleFunc(func(step int64) float64 {
		if every <= 0 || step < 0 {
			return lr
		}
		return lr * math.Pow(gamma, float64(step/every))
	})
}

// ExponentialDecay is tf.compat.v1.train.exponential_decay without
// staircase: lr * rate^(step/decaySteps). With decaySteps 1 it is
// torch.optim.lr_scheduler.ExponentialLR (lr * gamma^step).
// decaySteps <= 0 means never.
func ExponentialDecay(lr, rate float64, decaySteps int64) Schedule {
	return ScheduleFunc(func(step int64) float64 {
		if decaySteps <= 0 || step < 0 {
			return lr
		}
		return lr * math.Pow(rate, float64(step)/float64(decaySteps))
	})
}

// CosineWarmup is nanoGPT's get_lr: a linear warmup peak*(step+1)/warmup for
// step < warmup, then a cosine decay from peak to floor,
// floor + (peak-floor)*(1+cos(π (step-warmup)/(total-warmup)))/2, reaching
// floor at step total and staying there.
func CosineWarmup(peak float64, warmup, total int64, floor float64) Schedule {
	return ScheduleFunc(func(step int64) float64 {
		if step < warmup {
			return peak * float64(step+1) / float64(warmup)
		}
		if step >= total || total <= warmup {
			return floor
		}
		r := float64(step-warmup) / float64(total-warmup)
		return floor + (peak-floor)*0.5*(1+math.Cos(math.Pi*r))
	})
}
