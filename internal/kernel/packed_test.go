package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestMatMulAddPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	type shape struct{ rows, cols int }
	// Hot shapes, then rows that are not multiples of the 32-row panel
	// and odd column counts.
	shapes := []shape{{64, 64}, {32, 32}, {128, 640}, {256, 128}, {0, 3}, {3, 0}, {1, 1}, {31, 5}, {33, 17}, {70, 9}, {100, 300}}
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, sh := range shapes {
			w := randSlice(rng, sh.rows*sh.cols)
			p := NewPacked(w, sh.rows, sh.cols)
			for _, nb := range []int{0, 1, 7, 8, 9, 16, 19} {
				ldx, ldy := sh.cols+rng.IntN(3), sh.rows+rng.IntN(3)
				x := randSlice(rng, max(0, (nb-1)*ldx+sh.cols))
				y := randSlice(rng, max(0, (nb-1)*ldy+sh.rows))
				want := append([]float32(nil), y...)
				for s := 0; s < nb; s++ {
					matVecAddRef(want[s*ldy:], w, x[s*ldx:], sh.rows, sh.cols)
				}
				got := append([]float32(nil), y...)
				im.packed(got, ldy, p, x, ldx, nb)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); !(d <= tol(sh.cols, float64(sh.cols)/2)) {
						t.Fatalf("packed(%dx%d, nb=%d)[%d] = %g, want %g", sh.rows, sh.cols, nb, i, got[i], want[i])
					}
				}
			}
		}
	})
}

func TestPackedRepack(t *testing.T) {
	w := []float32{1, 2, 3, 4} // (2, 2)
	p := NewPacked(w, 2, 2)
	w[0] = 10
	p.Repack()
	x := make([]float32, 8*2)
	for i := range x {
		x[i] = 1
	}
	y := make([]float32, 8*2)
	MatMulAddPacked(y, 2, p, x, 2, 8)
	// Row sums of the updated W: 10+2 and 3+4, for each of the 8 streams.
	for s := 0; s < 8; s++ {
		if y[2*s] != 12 || y[2*s+1] != 7 {
			t.Fatalf("MatMulAddPacked after Repack: stream %d = %v, want [12 7]", s, y[2*s:2*s+2])
		}
	}
	if p.Rows() != 2 || p.Cols() != 2 {
		t.Errorf("Rows(), Cols() = %d, %d, want 2, 2", p.Rows(), p.Cols())
	}
}

func BenchmarkMatMulAddPacked(b *testing.B) {
	shapes := [][2]int{{64, 64}, {32, 32}, {128, 640}, {128, 128}, {256, 128}, {512, 512}}
	for _, sh := range shapes {
		for _, nb := range []int{8, 16, 32} {
			rows, cols := sh[0], sh[1]
			b.Run(fmt.Sprintf("%dx%d/B=%d", rows, cols, nb), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(5, 6))
				w, x, y := randSlice(rng, rows*cols), randSlice(rng, nb*cols), make([]float32, nb*rows)
				p := NewPacked(w, rows, cols)
				benchImpls(b, func(b *testing.B, im *impl) {
					b.ReportAllocs()
					for b.Loop() {
						im.packed(y, rows, p, x, cols, nb)
					}
					b.ReportMetric(2*float64(nb*rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			})
		}
	}
}
