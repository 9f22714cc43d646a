package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func forEachQ8(t *testing.T, f func(t *testing.T, im *q8Impl)) {
	for _, im := range q8Impls {
		t.Run(im.name, func(t *testing.T) { f(t, im) })
	}
}

func TestNewQ8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	rows, cols := 19, 7 // a partial block and a partial column group
	w := randSlice(rng, rows*cols)
	w[3*cols+2] = 0 // a row with mixed values still quantizes 0 to 0
	for c := 0; c < cols; c++ {
		w[5*cols+c] = 0 // an all-zero row: scale 0
	}
	q := NewQ8(w, rows, cols)
	for r := 0; r < rows; r++ {
		var m float64
		for c := 0; c < cols; c++ {
			m = max(m, math.Abs(float64(w[r*cols+c])))
		}
		for c := 0; c < cols; c++ {
			v, s := q.At(r, c)
			if float64(s) != float64(float32(m)/127) {
				t.Fatalf("NewQ8 row %d scale = %v, want max|w|/127 = %v", r, s, float32(m)/127)
			}
			// Within half a step of the weight; the row maximum is exact.
			if e := math.Abs(float64(v)*float64(s) - float64(w[r*cols+c])); e > float64(s)/2*1.0001 {
				t.Errorf("NewQ8: w[%d,%d] = %v quantized to %d*%v, error %v > scale/2", r, c, w[r*cols+c], v, s, e)
			}
			if v == -128 {
				t.Errorf("NewQ8: w[%d,%d] quantized to -128, want [-127, 127]", r, c)
			}
		}
	}
}

func TestQuantizeU8(t *testing.T) {
	forEachQ8(t, func(t *testing.T, im *q8Impl) {
		saved := q8cur
		q8cur = im
		defer func() { q8cur = saved }()
		// max |x| = 1.27 gives scale 0.01: x/scale = 127, -63.5 (to even:
		// -64), 0.5 (to even: 0), 1.5 (2), -127.
		x := []float32{1.27, -0.635, 0.005, 0.015, -1.27}
		dst := make([]uint8, len(x))
		s := QuantizeU8(dst, x)
		want := []uint8{255, 64, 128, 130, 1}
		if math.Abs(float64(s)-0.01) > 1e-9 {
			t.Errorf("QuantizeU8(%v) scale = %v, want 0.01", x, s)
		}
		for i := range want {
			if dst[i] != want[i] {
				t.Errorf("QuantizeU8(%v)[%d] = %d, want %d", x, i, dst[i], want[i])
			}
		}
		if s := QuantizeU8(dst[:3], []float32{0, 0, 0}); s != 0 || dst[0] != 128 || dst[2] != 128 {
			t.Errorf("QuantizeU8(zeros) = %v, %v, want 0 and codes 128", s, dst[:3])
		}
		// Every length up to a few vectors agrees with the Go version.
		rng := rand.New(rand.NewPCG(2, 2))
		for n := 1; n <= 70; n++ {
			x := randSlice(rng, n)
			got := make([]uint8, n)
			ref := make([]uint8, n)
			m := absMaxGo(x)
			if gm := im.absMax(x); gm != m {
				t.Fatalf("absMax of %d values = %v, want %v", n, gm, m)
			}
			im.quant(got, x, 127/m)
			quantU8Go(ref, x, 127/m)
			for i := range ref {
				if got[i] != ref[i] {
					t.Fatalf("quant n=%d [%d]: x=%v got %d, want %d", n, i, x[i], got[i], ref[i])
				}
			}
		}
	})
}

func TestQ8MatMulAddBatch(t *testing.T) {
	forEachQ8(t, func(t *testing.T, im *q8Impl) {
		rng := rand.New(rand.NewPCG(3, 3))
		for _, rows := range []int{1, 15, 16, 17, 64, 100} {
			for _, cols := range []int{1, 3, 4, 5, 64, 130} {
				for _, nb := range []int{1, 3, 4, 5, 9} {
					w := randSlice(rng, rows*cols)
					q := NewQ8(w, rows, cols)
					ldx := Q8Stride(cols) + 4 // a stride wider than needed
					ldy := rows + 3
					x := randSlice(rng, nb*cols)
					xq := make([]uint8, nb*ldx)
					xs := make([]float32, nb)
					for s := 0; s < nb; s++ {
						xs[s] = QuantizeU8(xq[s*ldx:], x[s*cols:(s+1)*cols])
						for c := cols; c < ldx; c++ {
							xq[s*ldx+c] = uint8(rng.IntN(256)) // padding must not count
						}
					}
					y := randSlice(rng, nb*ldy)
					want := make([]float64, len(y))
					for i, v := range y {
						want[i] = float64(v)
					}
					for s := 0; s < nb; s++ {
						for r := 0; r < rows; r++ {
							var acc int64
							var sc float32
							for c := 0; c < cols; c++ {
								v, scale := q.At(r, c)
								sc = scale
								acc += int64(xq[s*ldx+c]-0) * int64(v)
								acc -= 128 * int64(v)
							}
							want[s*ldy+r] += float64(acc) * float64(sc) * float64(xs[s])
						}
					}
					im.matMul(y, ldy, q, xq, ldx, xs, nb)
					for i := range y {
						// The integer sum is exact; the epilogue rounds 3
						// float32 operations: a few ulps of the magnitude.
						if d := math.Abs(float64(y[i]) - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
							t.Fatalf("rows=%d cols=%d nb=%d: y[%d] = %v, want %v", rows, cols, nb, i, y[i], want[i])
						}
					}
				}
			}
		}
	})
}

// TestQ8Approximation bounds the error of the whole int8 product against
// the float32 one: with weight error at most sw/2 and activation error at
// most sx/2 per element, |err_r| <= sum_c |x_c| sw/2 + |w_rc| sx/2 + sw sx/4.
func TestQ8Approximation(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	rows, cols := 64, 96
	w := randSlice(rng, rows*cols)
	x := randSlice(rng, cols)
	q := NewQ8(w, rows, cols)
	xq := make([]uint8, Q8Stride(cols))
	xs := QuantizeU8(xq, x)
	y := make([]float32, rows)
	Q8MatMulAddBatch(y, rows, q, xq, len(xq), []float32{xs}, 1)
	for r := 0; r < rows; r++ {
		var exact, bound float64
		_, sw := q.At(r, 0)
		for c := 0; c < cols; c++ {
			exact += float64(w[r*cols+c]) * float64(x[c])
			bound += math.Abs(float64(x[c]))*float64(sw)/2 + math.Abs(float64(w[r*cols+c]))*float64(xs)/2 + float64(sw*xs)/4
		}
		if e := math.Abs(float64(y[r]) - exact); e > bound*1.001+1e-6 {
			t.Errorf("row %d: int8 product %v, float %v: error %v > bound %v", r, y[r], exact, e, bound)
		}
	}
}

func TestQ8Panics(t *testing.T) {
	q := NewQ8(make([]float32, 32), 4, 8)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"short y", func() { Q8MatMulAddBatch(make([]float32, 3), 4, q, make([]uint8, 8), 8, []float32{1}, 1) }},
		{"small ldx", func() { Q8MatMulAddBatch(make([]float32, 4), 4, q, make([]uint8, 8), 7, []float32{1}, 1) }},
		{"short xs", func() { Q8MatMulAddBatch(make([]float32, 8), 4, q, make([]uint8, 16), 8, []float32{1}, 2) }},
		{"short w", func() { NewQ8(make([]float32, 31), 4, 8) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: want a panic", c.name)
				}
			}()
			c.f()
		}()
	}
}

// BenchmarkQ8 compares the int8 product with the float32 one
// (MatMulAddBatch) on the matrices of the small preset's generation step:
// a layer's gate (64, 64), the skip outputs of all layers (128, 640) and
// the output layer (256, 128), for 1 and 16 streams. The int8 time
// includes quantizing the activations.
func BenchmarkQ8(b *testing.B) {
	for _, sh := range []struct {
		name       string
		rows, cols int
	}{{"gate", 64, 64}, {"skip", 128, 640}, {"post2", 256, 128}} {
		for _, nb := range []int{1, 16} {
			rng := rand.New(rand.NewPCG(5, 5))
			w := randSlice(rng, sh.rows*sh.cols)
			x := randSlice(rng, nb*sh.cols)
			y := make([]float32, nb*sh.rows)
			q := NewQ8(w, sh.rows, sh.cols)
			ldx := Q8Stride(sh.cols)
			xq := make([]uint8, nb*ldx)
			xs := make([]float32, nb)
			b.Run(fmt.Sprintf("%s/streams=%d/f32", sh.name, nb), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					MatMulAddBatch(y, sh.rows, w, x, sh.cols, nb, sh.rows, sh.cols)
				}
				b.ReportMetric(float64(b.N*nb*sh.rows*sh.cols)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
			b.Run(fmt.Sprintf("%s/streams=%d/q8-%s", sh.name, nb, Q8Impl()), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					for s := 0; s < nb; s++ {
						xs[s] = QuantizeU8(xq[s*ldx:], x[s*sh.cols:(s+1)*sh.cols])
					}
					Q8MatMulAddBatch(y, sh.rows, q, xq, ldx, xs, nb)
				}
				b.ReportMetric(float64(b.N*nb*sh.rows*sh.cols)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
