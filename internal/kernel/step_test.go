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
	benchStep(b, 20, 32, 32, 128, 256, 2)
}

// BenchmarkIbabStep is BenchmarkSmallStep for the ibab preset (50 layers,
// S = 512: 2.93 MFLOP and 5.9 MB of weights per sample, more than L2).
func BenchmarkIbabStep(b *testing.B) {
	benchStep(b, 50, 32, 32, 512, 256, 2)
}

func benchStep(b *testing.B, L, R, D, S, Q, K int) {
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

// BenchmarkIbabStepF16 is BenchmarkIbabStep for one stream with the
// weights stored in binary16 (MatVecAddF16): 2.9 MB per sample instead of
// 5.9 MB.
func BenchmarkIbabStepF16(b *testing.B) {
	const L, R, D, S, Q, K = 50, 32, 32, 512, 256, 2
	rng := rand.New(rand.NewPCG(21, 22))
	f16 := func(n int) []uint16 { return ToF16(nil, randSlice(rng, n)) }
	gateW := make([][]uint16, L)
	resW := make([][]uint16, L)
	for l := range L {
		gateW[l] = f16(2 * D * K * R)
		resW[l] = f16(R * D)
	}
	skipW, post1W, post2W := f16(S*L*D), f16(S*S), f16(Q*S)
	x := randSlice(rng, K*R)
	pre, z, xr := make([]float32, 2*D), make([]float32, L*D), make([]float32, R)
	skip, h, logits := make([]float32, S), make([]float32, S), make([]float32, Q)
	benchImpls(b, func(b *testing.B, im *impl) {
		b.ReportAllocs()
		for b.Loop() {
			clear(xr)
			clear(skip)
			clear(h)
			clear(logits)
			for l := range L {
				clear(pre)
				im.matVecF16(pre, gateW[l], x, 2*D, K*R, 1, 0, 0)
				im.gate(z[l*D:(l+1)*D], pre[:D], pre[D:])
				if l < L-1 {
					im.matVecF16(xr, resW[l], z[l*D:], R, D, 1, 0, 0)
				}
			}
			im.matVecF16(skip, skipW, z, S, L*D, 1, 0, 0)
			im.relu(skip, skip)
			im.matVecF16(h, post1W, skip, S, S, 1, 0, 0)
			im.relu(h, h)
			im.matVecF16(logits, post2W, h, Q, S, 1, 0, 0)
			im.softmax(logits, logits)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
}
