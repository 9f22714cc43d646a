package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSmallStep runs the kernel work of one generation step of the
// small preset (DESIGN.md: 20 layers, R = D = 32, S = 128, Q = 256, filter
// width 2; 0.465 MFLOP and 0.93 MB of weights per sample) for B streams:
// per layer the gate product (2D x 2R), the gated activation and the
// residual product (R x D, not in the last layer), then the skip product
// over all layers' outputs (S x 20D), ReLU, the two output products
// (S x S, Q x S) and a softmax per stream. It is the upper bound the cache
// package can reach with these kernels (no queue bookkeeping, no sampling).
func BenchmarkSmallStep(b *testing.B) {
	const (
		L, R, D, S, Q, K = 20, 32, 32, 128, 256, 2
	)
	rng := rand.New(rand.NewPCG(21, 22))
	gateW := make([][]float32, L)
	resW := make([][]float32, L)
	for l := range L {
		gateW[l] = randSlice(rng, 2*D*K*R)
		resW[l] = randSlice(rng, R*D)
	}
	skipW, post1W, post2W := randSlice(rng, S*L*D), randSlice(rng, S*S), randSlice(rng, Q*S)
	flops := 0
	for l := range L {
		flops += 2 * 2 * D * K * R
		if l < L-1 {
			flops += 2 * R * D
		}
	}
	flops += 2 * (S*L*D + S*S + Q*S)
	for _, nb := range []int{1, 16} {
		x := randSlice(rng, nb*K*R)
		pre := make([]float32, nb*2*D)
		z := make([]float32, nb*L*D)
		xr := make([]float32, nb*R)
		skip, h, logits := make([]float32, nb*S), make([]float32, nb*S), make([]float32, nb*Q)
		b.Run(fmt.Sprintf("B=%d", nb), func(b *testing.B) {
			benchImpls(b, func(b *testing.B, im *impl) {
				b.ReportAllocs()
				for b.Loop() {
					// Fresh accumulators each step, as the biases are in
					// the real step (and the values stay bounded).
					clear(pre)
					clear(xr)
					clear(skip)
					clear(h)
					clear(logits)
					for l := range L {
						clear(pre)
						im.matVec(pre, gateW[l], x, 2*D, K*R, nb, K*R, 2*D)
						for s := range nb {
							p := pre[s*2*D:]
							im.gate(z[s*L*D+l*D:][:D], p[:D], p[D:2*D])
						}
						if l < L-1 {
							im.matVec(xr, resW[l], z[l*D:], R, D, nb, L*D, R)
						}
					}
					im.matVec(skip, skipW, z, S, L*D, nb, L*D, S)
					im.relu(skip, skip)
					im.matVec(h, post1W, skip, S, S, nb, S, S)
					im.relu(h, h)
					im.matVec(logits, post2W, h, Q, S, nb, S, Q)
					for s := range nb {
						im.softmax(logits[s*Q:(s+1)*Q], logits[s*Q:(s+1)*Q])
					}
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(nb*b.N)/sec, "samples/s")
				b.ReportMetric(float64(flops*nb*b.N)/sec/1e9, "GFLOP/s")
			})
		})
	}
}
