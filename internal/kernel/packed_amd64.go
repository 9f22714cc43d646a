//go:build !purego && amd64

package kernel

import "unsafe"

// The panel kernels of packed_amd64.s: packedSxP steps S streams against
// P panels at a time; npan must be a multiple of P.

type packedKernel func(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed1x4AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed1x1AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed2x2AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed2x1AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed3x1AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed4x1AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed5x1AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed6x1AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed7x1AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

//go:noescape
func packed8x1AVX512(y, p, x *float32, npan, cols, ldx, ldy, mask int)

// packedByStreams[s] runs s streams one panel at a time.
var packedByStreams = [9]packedKernel{nil, packed1x1AVX512, packed2x1AVX512, packed3x1AVX512, packed4x1AVX512,
	packed5x1AVX512, packed6x1AVX512, packed7x1AVX512, packed8x1AVX512}

// packedAVX512 is MatMulAddPacked on AVX-512: groups of up to 8 streams
// run on the panels, one or two streams with several panels interleaved so
// that enough FMA chains are in flight. Panels are taken a few at a time
// (about 32 KiB of weights, at least 4 panels) and every group of streams
// runs on them before the next few.
func packedAVX512(y []float32, ldy int, p *Packed, x []float32, ldx, nb int) {
	rows, cols := p.rows, p.cols
	if rows == 0 || cols == 0 || nb == 0 {
		return
	}
	full := rows / packedRows
	step := max(4, 8192/(packedRows*cols)) &^ 3
	for p0 := 0; p0 < full; p0 += step {
		np := min(step, full-p0)
		for g0 := 0; g0 < nb; g0 += 8 {
			packedRun(min(8, nb-g0), y[g0*ldy+p0*packedRows:], ldy, p.pan[p0*cols*packedRows:], x[g0*ldx:], ldx, np, cols, 1<<32-1)
		}
	}
	if tail := rows - full*packedRows; tail > 0 {
		for g0 := 0; g0 < nb; g0 += 8 {
			packedRun(min(8, nb-g0), y[g0*ldy+full*packedRows:], ldy, p.pan[full*cols*packedRows:], x[g0*ldx:], ldx, 1, cols, 1<<tail-1)
		}
	}
}

// packedRun steps ns <= 8 streams against np panels.
func packedRun(ns int, y []float32, ldy int, pan, x []float32, ldx, np, cols, mask int) {
	const f32 = int(unsafe.Sizeof(float32(0)))
	var wide packedKernel
	var width int
	switch ns {
	case 1:
		wide, width = packed1x4AVX512, 4
	case 2:
		wide, width = packed2x2AVX512, 2
	}
	done := 0
	if wide != nil {
		if n := np - np%width; n > 0 {
			wide(&y[0], &pan[0], &x[0], n, cols, ldx*f32, ldy*f32, mask)
			done = n
		}
	}
	if done < np {
		packedByStreams[ns](&y[done*packedRows], &pan[done*cols*packedRows], &x[0], np-done, cols, ldx*f32, ldy*f32, mask)
	}
}

//go:noescape
func packed1x2AVX2(y, p, x *float32, npan, cols, ldx, ldy int)

//go:noescape
func packed1x1AVX2(y, p, x *float32, npan, cols, ldx, ldy int)

//go:noescape
func packed2x1AVX2(y, p, x *float32, npan, cols, ldx, ldy int)

//go:noescape
func packed3x1AVX2(y, p, x *float32, npan, cols, ldx, ldy int)

// packedAVX2 is MatMulAddPacked on AVX2: groups of up to 3 streams (one
// stream runs two panels interleaved); a partial last panel runs on a
// zeroed 32-row copy, added to y afterwards (0 + acc is exact, so the
// result is the same chain).
func packedAVX2(y []float32, ldy int, p *Packed, x []float32, ldx, nb int) {
	const f32 = int(unsafe.Sizeof(float32(0)))
	rows, cols := p.rows, p.cols
	if rows == 0 || cols == 0 || nb == 0 {
		return
	}
	full := rows / packedRows
	step := max(2, 8192/(packedRows*cols)) &^ 1
	run := func(ns int, y []float32, ldy int, pan, x []float32, np int) {
		done := 0
		if ns == 1 {
			if n := np &^ 1; n > 0 {
				packed1x2AVX2(&y[0], &pan[0], &x[0], n, cols, ldx*f32, ldy*f32)
				done = n
			}
		}
		if done == np {
			return
		}
		k := [4]func(y, p, x *float32, npan, cols, ldx, ldy int){nil, packed1x1AVX2, packed2x1AVX2, packed3x1AVX2}[ns]
		k(&y[done*packedRows], &pan[done*cols*packedRows], &x[0], np-done, cols, ldx*f32, ldy*f32)
	}
	for p0 := 0; p0 < full; p0 += step {
		np := min(step, full-p0)
		for g0 := 0; g0 < nb; g0 += 3 {
			run(min(3, nb-g0), y[g0*ldy+p0*packedRows:], ldy, p.pan[p0*cols*packedRows:], x[g0*ldx:], np)
		}
	}
	if tail := rows - full*packedRows; tail > 0 {
		var tmp [3 * packedRows]float32
		for g0 := 0; g0 < nb; g0 += 3 {
			ns := min(3, nb-g0)
			clear(tmp[:])
			run(ns, tmp[:], packedRows, p.pan[full*cols*packedRows:], x[g0*ldx:], 1)
			for s := 0; s < ns; s++ {
				ys := y[(g0+s)*ldy+full*packedRows:][:tail]
				for r := range ys {
					ys[r] += tmp[s*packedRows+r]
				}
			}
		}
	}
}
