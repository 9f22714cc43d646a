package cache

// The gated activation in pure Go. Both tanh and sigmoid use the rational
// tanh approximation of Eigen's generic_fast_tanh_float (odd degree-13
// numerator, even degree-6 denominator, clamped where float32 tanh is +-1;
// absolute error about 3e-7), with sigmoid(x) = (1 + tanh(x/2)) / 2, and
// the product is formed with one division:
//
//	tanh(a) * sigmoid(b) = pa/qa * (qb+pb)/(2 qb) = pa (qb+pb) / (2 qa qb).

const tanhClamp = 7.90531110763549805

// tanhNum returns x times the numerator polynomial of tanh, x clamped.
func tanhNum(x, x2 float32) float32 {
	p := float32(-2.76076847742355e-16)
	p = float32(p*x2) + 2.00018790482477e-13
	p = float32(p*x2) + -8.60467152213735e-11
	p = float32(p*x2) + 5.12229709037114e-08
	p = float32(p*x2) + 1.48572235717979e-05
	p = float32(p*x2) + 6.37261928875436e-04
	p = float32(p*x2) + 4.89352455891786e-03
	return p * x
}

// tanhDen returns the denominator polynomial of tanh at x2 = x*x.
func tanhDen(x2 float32) float32 {
	q := float32(1.19825839466702e-06)
	q = float32(q*x2) + 1.18534705686654e-04
	q = float32(q*x2) + 2.26843463243900e-03
	return float32(q*x2) + 4.89352518554385e-03
}

func clampTanh(x float32) float32 {
	if x > tanhClamp {
		return tanhClamp
	}
	if x < -tanhClamp {
		return -tanhClamp
	}
	return x
}

// tanh32 is a float32 tanh with absolute error below 1e-6.
func tanh32(x float32) float32 {
	x = clampTanh(x)
	x2 := x * x
	return tanhNum(x, x2) / tanhDen(x2)
}

// gate computes the gated activation unit for one row:
// dst[i] = tanh(pre[i]) * sigmoid(pre[D+i]), D = len(dst), len(pre) >= 2D.
func gate(dst, pre []float32) {
	d := len(dst)
	a, b := pre[:d], pre[d:2*d]
	for i := range dst {
		x := clampTanh(a[i])
		y := clampTanh(0.5 * b[i])
		x2, y2 := x*x, y*y
		pa, qa := tanhNum(x, x2), tanhDen(x2)
		pb, qb := tanhNum(y, y2), tanhDen(y2)
		dst[i] = float32(pa*(qb+pb)) / float32(2*float32(qa*qb))
	}
}
