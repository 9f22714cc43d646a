package nn

import "math"

// ClipGlobalNorm scales all grads so their joint L2 norm is at most maxNorm;
// returns the norm before clipping. As torch.nn.utils.clip_grad_norm_, the
// scale is maxNorm / (norm + 1e-6), applied only when it is below 1. A
// non-finite norm (NaN or Inf gradients) is returned without touching the
// gradients, so the caller can skip the step.
func ClipGlobalNorm(params []Param, maxNorm float64) float64 {
	var ss float64
	for _, p := range params {
		for _, g := range p.Grad {
			ss += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(ss)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm
	}
	if c := maxNorm / (norm + 1e-6); c < 1 {
		fc := float32(c)
		for _, p := range params {
			for j := range p.Grad {
				p.Grad[j] *= fc
			}
		}
	}
	return norm
}

// ClipValue clamps every gradient element to [-limit, limit], as
// torch.nn.utils.clip_grad_value_.
func ClipValue(params []Param, limit float64) {
	l := float32(limit)
	for _, p := range params {
		for j, g := range p.Grad {
			p.Grad[j] = min(max(g, -l), l)
		}
	}
}
