package nn

import (
	"math"
	"math/rand/v2"
)

// Init fills w, the weights of a layer with fanIn inputs and fanOut
// outputs, with initial values.
type Init func(w []float32, fanIn, fanOut int)

// GlorotUniform is Glorot & Bengio (2010)'s initialisation,
// torch.nn.init.xavier_uniform_: U(-a, a) with a = sqrt(6/(fanIn+fanOut)).
func GlorotUniform(rng *rand.Rand) Init {
	return func(w []float32, fanIn, fanOut int) {
		uniform(rng, w, math.Sqrt(6/float64(fanIn+fanOut)))
	}
}

// GlorotNormal is torch.nn.init.xavier_normal_: N(0, 2/(fanIn+fanOut)).
func GlorotNormal(rng *rand.Rand) Init {
	return func(w []float32, fanIn, fanOut int) {
		normal(rng, w, math.Sqrt(2/float64(fanIn+fanOut)))
	}
}

// HeUniform is He et al. (2015)'s initialisation for ReLU layers,
// torch.nn.init.kaiming_uniform_(nonlinearity="relu", mode="fan_in"):
// U(-a, a) with a = sqrt(6/fanIn).
func HeUniform(rng *rand.Rand) Init {
	return func(w []float32, fanIn, fanOut int) {
		uniform(rng, w, math.Sqrt(6/float64(fanIn)))
	}
}

// HeNormal is torch.nn.init.kaiming_normal_(nonlinearity="relu",
// mode="fan_in"): N(0, 2/fanIn).
func HeNormal(rng *rand.Rand) Init {
	return func(w []float32, fanIn, fanOut int) {
		normal(rng, w, math.Sqrt(2/float64(fanIn)))
	}
}

// Zeros sets every weight to 0.
func Zeros(w []float32, fanIn, fanOut int) { clear(w) }

// ConstantInit sets every weight to v.
func ConstantInit(v float32) Init {
	return func(w []float32, fanIn, fanOut int) {
		for i := range w {
			w[i] = v
		}
	}
}

func uniform(rng *rand.Rand, w []float32, a float64) {
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * a)
	}
}

func normal(rng *rand.Rand, w []float32, std float64) {
	for i := range w {
		w[i] = float32(rng.NormFloat64() * std)
	}
}
