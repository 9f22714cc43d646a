package cache

import (
	"math"
	"testing"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// TestTanh32 checks the rational tanh against math.Tanh on a fine grid
// over [-20, 20] (beyond +-9 float32 tanh is +-1). 2e-6 absolute: float32
// epsilon (1.2e-7) times the ~10 rounding steps of the evaluation, with
// margin; the logits tolerance of the package is 1e-4.
func TestTanh32(t *testing.T) {
	const tol = 2e-6
	worst := 0.0
	for i := -200000; i <= 200000; i++ {
		x := float32(i) * 1e-4
		got := float64(tanh32(x))
		want := math.Tanh(float64(x))
		if e := math.Abs(got - want); e > worst {
			worst = e
		}
		if math.Abs(got-want) > tol {
			t.Fatalf("tanh32(%v) = %v, want %v (tolerance %v)", x, got, want, tol)
		}
	}
	t.Logf("max abs error %.3g", worst)
}

func TestGate(t *testing.T) {
	pre := []float32{-3, -0.5, 0, 0.5, 3, 40, -40, 0.25, 1, -1, 0, -200}
	dst := make([]float32, len(pre)/2)
	gate(dst, pre)
	for i := range dst {
		a, b := float64(pre[i]), float64(pre[len(dst)+i])
		want := math.Tanh(a) / (1 + math.Exp(-b))
		if math.Abs(float64(dst[i])-want) > 2e-6 {
			t.Errorf("gate(%v, %v) = %v, want %v", a, b, dst[i], want)
		}
	}
}

// TestExp32 checks exp32 against math.Exp on [-90, 0], relative error
// 4e-7 (about 3 float32 ulps: the Cephes polynomial is good to 1 ulp, the
// range reduction and the final scaling add rounding).
func TestExp32(t *testing.T) {
	for i := 0; i <= 900000; i++ {
		x := -float32(i) * 1e-4
		got := float64(exp32(x))
		want := math.Exp(float64(x))
		if x < -87 {
			if got != 0 {
				t.Fatalf("exp32(%v) = %v, want 0 (flushed)", x, got)
			}
			continue
		}
		if math.Abs(got-want) > 4e-7*want {
			t.Fatalf("exp32(%v) = %v, want %v", x, got, want)
		}
	}
}

// BenchmarkGate compares the package's gated activation with the kernel
// package's, on one row of the small preset (D = 32).
func BenchmarkGate(b *testing.B) {
	pre := make([]float32, 64)
	for i := range pre {
		pre[i] = float32(i%13)*0.4 - 2.5
	}
	dst := make([]float32, 32)
	b.Run("cache", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			gate(dst, pre)
		}
	})
	b.Run("kernel", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			kernel.GateTanhSigmoid(dst, pre)
		}
	})
}
