//go:build !purego && amd64

package kernel

import (
	"sync"
	"unsafe"
)

// microKernel computes one mr x nr tile: C = alpha * A B (+ C if acc != 0),
// A element (i, p) at a + i*rs + p*cs bytes, B packed as k rows of nr
// floats, C rows ldc bytes apart.
type microKernel func(k int, a *float32, rs, cs int, b *float32, c *float32, ldc int, alpha float32, acc int)

//go:noescape
func gemm12x32AVX512(k int, a *float32, rs, cs int, b *float32, c *float32, ldc int, alpha float32, acc int)

//go:noescape
func gemm6x16AVX2(k int, a *float32, rs, cs int, b *float32, c *float32, ldc int, alpha float32, acc int)

// gemmKC is the depth of one packed block of B: a 12x32 tile then costs
// 12*32*256*2 flops (about 5 us), and the whole packed block of B for
// n <= 256 (256 KiB) stays in L2 while every row tile of A streams by.
const gemmKC = 256

// gemmBuf holds the packed B block and the edge tiles; pooled so Gemm does
// not allocate in steady state.
type gemmBuf struct{ b, a, c []float32 }

var gemmPool = sync.Pool{New: func() any { return new(gemmBuf) }}

// gemmAsm builds a blocked Gemm (GotoBLAS loop order without packing A)
// around a micro-kernel of mr x nr.
func gemmAsm(mr, nr int, micro microKernel) func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	const f32 = int(unsafe.Sizeof(float32(0)))
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if m == 0 || n == 0 {
			return
		}
		if k == 0 || alpha == 0 {
			gemmGo(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return
		}
		if beta != 0 && beta != 1 {
			for i := 0; i < m; i++ {
				ci := c[i*ldc : i*ldc+n]
				for j := range ci {
					ci[j] *= beta
				}
			}
		}
		buf := gemmPool.Get().(*gemmBuf)
		defer gemmPool.Put(buf)
		nblk := (k + gemmKC - 1) / gemmKC
		kc := (k + nblk - 1) / nblk
		npan := (n + nr - 1) / nr
		buf.b = grow(buf.b, npan*nr*kc)
		buf.a = grow(buf.a, mr*kc)
		buf.c = grow(buf.c, mr*nr)
		rs, cs := lda, 1
		if transA {
			rs, cs = 1, lda
		}
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			packB(buf.b, transB, b, ldb, pc, kb, n, nr)
			acc := 1
			if pc == 0 && beta == 0 {
				acc = 0
			}
			for i0 := 0; i0 < m; i0 += mr {
				mb := min(mr, m-i0)
				// skip is the number of leading rows of the tile already
				// computed: the last partial tile of a matrix with m >= mr
				// is computed as the full tile ending at row m (overlapping
				// the previous one) so that A needs no packing.
				skip := 0
				if mb < mr && m >= mr {
					skip = mr - mb
				}
				ap, ars, acs := &a[(i0-skip)*rs+pc*cs], rs*f32, cs*f32
				if mb < mr && skip == 0 {
					ta := buf.a[:mr*kb]
					clear(ta)
					for i := 0; i < mb; i++ {
						row := ta[i*kb : i*kb+kb]
						for p := range row {
							row[p] = a[(i0+i)*rs+(pc+p)*cs]
						}
					}
					ap, ars, acs = &ta[0], kb*f32, f32
				}
				for j := 0; j < npan; j++ {
					j0 := j * nr
					nb := min(nr, n-j0)
					bp := &buf.b[j*kb*nr]
					if mb == mr && nb == nr {
						micro(kb, ap, ars, acs, bp, &c[i0*ldc+j0], ldc*f32, alpha, acc)
						continue
					}
					tc := buf.c
					micro(kb, ap, ars, acs, bp, &tc[0], nr*f32, alpha, 0)
					for i := 0; i < mb; i++ {
						ci := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+nb]
						ti := tc[(skip+i)*nr : (skip+i)*nr+nb]
						if acc == 0 {
							copy(ci, ti)
						} else {
							for jj, v := range ti {
								ci[jj] += v
							}
						}
					}
				}
			}
		}
	}
}

// packB copies rows pc..pc+kb of op(B) (k, n) into panels of nr columns:
// panel j holds kb rows of nr floats, zero beyond column n.
func packB(dst []float32, transB bool, b []float32, ldb, pc, kb, n, nr int) {
	npan := (n + nr - 1) / nr
	for j := 0; j < npan; j++ {
		j0 := j * nr
		nb := min(nr, n-j0)
		pan := dst[j*kb*nr : (j+1)*kb*nr]
		if nb < nr {
			clear(pan)
		}
		if !transB {
			for p := 0; p < kb; p++ {
				copy(pan[p*nr:p*nr+nb], b[(pc+p)*ldb+j0:(pc+p)*ldb+j0+nb])
			}
			continue
		}
		for jj := 0; jj < nb; jj++ {
			src := b[(j0+jj)*ldb+pc : (j0+jj)*ldb+pc+kb]
			for p, v := range src {
				pan[p*nr+jj] = v
			}
		}
	}
}
