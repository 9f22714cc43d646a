//go:build !purego && amd64

package kernel

import "golang.org/x/sys/cpu"

// The AVX-512 kernels of q8_amd64.s. Strides are in bytes.

//go:noescape
func q8AbsMaxAVX512(x *float32, n int) float32

//go:noescape
func q8QuantAVX512(dst *uint8, x *float32, n int, inv float32)

//go:noescape
func q8MatVec1VNNI(y *float32, w *int8, x *uint8, scale *float32, corr *int32, xs float32, nblk, kg, mask int)

//go:noescape
func q8MatVec4VNNI(y *float32, ldy int, w *int8, x *uint8, ldx int, scale *float32, corr *int32, xs *float32, nblk, kg, mask int)

//go:noescape
func q8MatVec4x2VNNI(y *float32, ldy int, w *int8, x *uint8, ldx int, scale *float32, corr *int32, xs *float32, npair, kg int)

var q8VNNI = &q8Impl{
	name: "vnni",
	absMax: func(x []float32) float32 {
		return q8AbsMaxAVX512(&x[0], len(x))
	},
	quant: func(dst []uint8, x []float32, inv float32) {
		q8QuantAVX512(&dst[0], &x[0], len(x), inv)
	},
	matMul: q8MatMulVNNI,
}

// q8MatMulVNNI steps the streams four at a time (each weight vector is
// loaded once for the four) and the rest one at a time (four accumulators
// over the column groups, to hide VPDPBUSD's latency). Each call covers
// one matrix for at most four streams: a few microseconds at most.
func q8MatMulVNNI(y []float32, ldy int, w *Q8, xq []uint8, ldx int, xs []float32, nb int) {
	mask := 0xffff
	if r := w.Rows % 16; r != 0 {
		mask = 1<<r - 1
	}
	// Pairs of full blocks go to the two-block kernel, the rest (at most
	// two blocks, the last maybe partial) to the one-block kernel.
	pairs := w.Rows / 32
	rest := w.nblk - 2*pairs
	b0 := 2 * pairs
	s := 0
	for ; s+4 <= nb; s += 4 {
		if pairs > 0 {
			q8MatVec4x2VNNI(&y[s*ldy], 4*ldy, &w.w[0], &xq[s*ldx], ldx, &w.scale[0], &w.corr[0], &xs[s], pairs, w.kg)
		}
		if rest > 0 {
			q8MatVec4VNNI(&y[s*ldy+16*b0], 4*ldy, &w.w[b0*w.kg*64], &xq[s*ldx], ldx, &w.scale[16*b0], &w.corr[16*b0], &xs[s], rest, w.kg, mask)
		}
	}
	for ; s < nb; s++ {
		q8MatVec1VNNI(&y[s*ldy], &w.w[0], &xq[s*ldx], &w.scale[0], &w.corr[0], xs[s], w.nblk, w.kg, mask)
	}
}

func init() {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VNNI {
		q8Impls = []*q8Impl{q8VNNI, q8Go}
		q8cur = q8VNNI
	}
}
