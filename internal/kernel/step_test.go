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
// (S x S, Q x S) and a softmax per stream. Products go through
// MatMulAddPacked (the row-major kernels below 8 streams). It is the upper bound the cache
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
	gateP := make([]*Packed, L)
	resP := make([]*Packed, L)
	for l := range L {
		gateP[l] = NewPacked(gateW[l], 2*D, K*R)
		resP[l] = NewPacked(resW[l], R, D)
	}
	skipP, post1P, post2P := NewPacked(skipW, S, L*D), NewPacked(post1W, S, S), NewPacked(post2W, Q, S)
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
						im.packed(pre, 2*D, gateP[l], x, K*R, nb)
						for s := range nb {
							p := pre[s*2*D:]
							im.gate(z[s*L*D+l*D:][:D], p[:D], p[D:2*D])
						}
						if l < L-1 {
							im.packed(xr, R, resP[l], z[l*D:], L*D, nb)
						}
					}
					im.packed(skip, S, skipP, z, L*D, nb)
					im.relu(skip, skip)
					im.packed(h, S, post1P, skip, S, nb)
					im.relu(h, h)
					im.packed(logits, Q, post2P, h, S, nb)
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
