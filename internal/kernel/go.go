package kernel

import "math"

// The pure-Go implementation: loops written so the compiler can drop bounds
// checks, with several independent accumulators. Used under the purego
// build tag, on CPUs without AVX2/FMA and for edge pieces of the assembly
// paths.

func matVecGo(y, w, x []float32, rows, cols, nb, ldx, ldy int) {
	for s := 0; s < nb; s++ {
		xs := x[s*ldx : s*ldx+cols]
		ys := y[s*ldy : s*ldy+rows]
		for r := range ys {
			ys[r] += dotGo(w[r*cols:r*cols+cols], xs)
		}
	}
}

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGo(y []float32, a float32, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

func addGo(dst, a, b []float32) {
	a = a[:len(dst)]
	b = b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func reluGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v > 0 {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

// Constants of the float32 exp shared by every implementation (Cephes
// expf): x = n ln2 + r with ln2 split in two parts (Cody-Waite) so r is
// exact, exp(r) by a degree-6 polynomial on |r| <= ln2/2 (relative error
// about 1 ulp), 2^n built in the exponent bits. The argument is clamped to
// [expLo, expHi] so 2^n stays a normal float32; every caller only needs
// exp to saturate there.
const (
	expHi   = 88.0
	expLo   = -87.0
	log2e   = 1.44269504088896341
	ln2Hi   = 0.693359375
	ln2Lo   = -2.12194440e-4
	expP0   = 1.9875691500e-4
	expP1   = 1.3981999507e-3
	expP2   = 8.3334519073e-3
	expP3   = 4.1665795894e-2
	expP4   = 1.6666665459e-1
	expP5   = 5.0000001201e-1
	expBias = 127
)

// exp32 is a fast scalar float32 exp on the same constants (separate
// roundings, no fused multiply-add), used by the pure-Go softmax.
func exp32(x float32) float32 {
	if x > expHi {
		x = expHi
	}
	if !(x >= expLo) { // also maps NaN to expLo
		x = expLo
	}
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2Hi
	r -= n * ln2Lo
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	e := p*r*r + r + 1
	return e * math.Float32frombits(uint32(int32(n)+expBias)<<23)
}

// expSIMD is exp as the assembly computes it, operation for operation
// (fused multiply-adds through fma32, every product rounded explicitly so
// the compiler cannot fuse it), so that tanh, sigmoid and the gate give the
// same bits in pure Go as on AVX2 and AVX-512.
func expSIMD(x float32) float32 {
	if !(x < expHi) { // VMINPS: NaN also gives the bound
		x = expHi
	}
	if !(x > expLo) {
		x = expLo
	}
	n := float32(math.Floor(float64(fma32(x, log2e, 0.5))))
	r := fma32(-n, ln2Hi, x)
	r = fma32(-n, ln2Lo, r)
	p := fma32(r, expP0, expP1)
	p = fma32(r, p, expP2)
	p = fma32(r, p, expP3)
	p = fma32(r, p, expP4)
	p = fma32(r, p, expP5)
	rr := float32(r * r)
	p = fma32(rr, p, r)
	p += 1
	return float32(p * math.Float32frombits(uint32(int32(n)+expBias)<<23))
}

// tanh32 is 1 - 2/(exp(2x)+1), as the assembly computes it.
func tanh32(x float32) float32 {
	e := expSIMD(x+x) + 1
	return 1 - 2/e
}

// sigmoid32 is 1/(1+exp(-x)), as the assembly computes it.
func sigmoid32(x float32) float32 {
	e := expSIMD(-x) + 1
	return 1 / e
}

func tanhGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = tanh32(v)
	}
}

func sigmoidGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = sigmoid32(v)
	}
}

func gateGo(dst, f, g []float32) {
	f = f[:len(dst)]
	g = g[:len(dst)]
	for i := range dst {
		dst[i] = float32(tanh32(f[i]) * sigmoid32(g[i]))
	}
}

func softmaxGo(dst, x []float32) {
	if len(dst) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range x {
		e := exp32(v - mx)
		dst[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range dst {
		dst[i] *= inv
	}
}

func logSoftmaxGo(dst, x []float32) {
	if len(dst) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for _, v := range x {
		sum += float64(exp32(v - mx))
	}
	lse := mx + float32(math.Log(sum))
	for i, v := range x {
		dst[i] = v - lse
	}
}

// gemmGo is the pure-Go Gemm: C is first scaled by beta, then op(A)op(B)
// is accumulated row by row as axpys over contiguous rows of B (NN, TN) or
// as dot products over contiguous rows of A and B (NT), with alpha folded
// into the A element or the dot product.
func gemmGo(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(ci)
		case 1:
		default:
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	switch {
	case transB && !transA:
		for i := 0; i < m; i++ {
			ai := a[i*lda : i*lda+k]
			ci := c[i*ldc : i*ldc+n]
			for j := range ci {
				ci[j] += alpha * dotGo(ai, b[j*ldb:j*ldb+k])
			}
		}
	case !transB:
		for i := 0; i < m; i++ {
			ci := c[i*ldc : i*ldc+n]
			for p := 0; p < k; p++ {
				var av float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				axpyGo(ci, alpha*av, b[p*ldb:p*ldb+n])
			}
		}
	default: // transA && transB
		for i := 0; i < m; i++ {
			ci := c[i*ldc : i*ldc+n]
			for j := range ci {
				var s float32
				for p := 0; p < k; p++ {
					s += a[p*lda+i] * b[j*ldb+p]
				}
				ci[j] += alpha * s
			}
		}
	}
}
