package compress

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestCalcQParams(t *testing.T) {
	// Values computed by hand from observer.py's formulas.
	cases := []struct {
		lo, hi float32
		d      DType
		s      Scheme
		want   QParams
		why    string
	}{
		// (2 - (-1)) / 255 = 0.0117647; zp = 0 - round(-1 / 0.0117647) = round(85.0) = 85.
		{-1, 2, QUInt8, Affine, QParams{3.0 / 255, 85}, "quint8 affine"},
		// The range is widened to include 0: [0, 2]; zp = 0.
		{0.5, 2, QUInt8, Affine, QParams{2.0 / 255, 0}, "range widened to 0"},
		// qint8: zp = -128 - round(-1/(3/255)) = -128 + 85 = -43.
		{-1, 2, QInt8, Affine, QParams{3.0 / 255, -43}, "qint8 affine"},
		// Symmetric: max(|-1|, 2) / 127.5; zero point 0 (qint8), 128 (quint8).
		{-1, 2, QInt8, Symmetric, QParams{2 / 127.5, 0}, "qint8 symmetric"},
		{-1, 2, QUInt8, Symmetric, QParams{2 / 127.5, 128}, "quint8 symmetric"},
		// All zero: the scale floors at float32 eps and zp = qmin.
		{0, 0, QUInt8, Affine, QParams{float32Eps, 0}, "all zero"},
		// zp ties: min = -0.5 * scale exactly gives round(-0.5)= -0 (half to even).
		{-1.5 / 255 * 1, 253.5 / 255, QUInt8, Affine, QParams{1.0 / 255, 2}, "round half to even of 1.5 is 2"},
	}
	for _, c := range cases {
		got := CalcQParams(c.lo, c.hi, c.d, c.s)
		if math.Abs(float64(got.Scale-c.want.Scale)) > 1e-7*float64(c.want.Scale) || got.ZeroPoint != c.want.ZeroPoint {
			t.Errorf("CalcQParams(%v, %v, %v, %v) = %+v, want %+v (%s)", c.lo, c.hi, c.d, c.s, got, c.want, c.why)
		}
	}
}

func TestQuantizeRoundsHalfToEvenAndClamps(t *testing.T) {
	qp := QParams{Scale: 0.5, ZeroPoint: 10}
	cases := []struct {
		x    float32
		d    DType
		want int32
	}{
		{0.25, QUInt8, 10},  // 0.5 rounds to 0
		{0.75, QUInt8, 12},  // 1.5 rounds to 2
		{-0.25, QUInt8, 10}, // -0.5 rounds to -0
		{1000, QUInt8, 255},
		{-1000, QUInt8, 0},
		{1000, QInt8, 127},
		{-1000, QInt8, -128},
	}
	for _, c := range cases {
		if got := qp.Quantize(c.x, c.d); got != c.want {
			t.Errorf("Quantize(%v, %v) = %d, want %d", c.x, c.d, got, c.want)
		}
	}
}

func TestQuantizeInt8Error(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	rows, cols := 16, 64
	w := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		scale := float32(r+1) / 4 // channels with very different ranges
		for c := 0; c < cols; c++ {
			w[r*cols+c] = scale * float32(rng.NormFloat64())
		}
	}
	for _, perChannel := range []bool{false, true} {
		for _, d := range []DType{QUInt8, QInt8} {
			for _, s := range []Scheme{Affine, Symmetric} {
				q, err := QuantizeInt8(w, rows, cols, d, s, perChannel)
				if err != nil {
					t.Fatal(err)
				}
				back := q.Dequantize(nil)
				for r := 0; r < rows; r++ {
					qp := q.ParamsOf(r)
					for c := 0; c < cols; c++ {
						// Inside the range, the error is at most half a step.
						if e := math.Abs(float64(back[r*cols+c] - w[r*cols+c])); e > float64(qp.Scale)/2*1.0001 {
							t.Fatalf("perChannel=%v %v %v: w[%d,%d] = %v, dequantized %v, error %v > scale/2 = %v",
								perChannel, d, s, r, c, w[r*cols+c], back[r*cols+c], e, qp.Scale/2)
						}
					}
				}
			}
		}
	}
	if _, err := QuantizeInt8([]float32{1, float32(math.NaN())}, 1, 2, QInt8, Affine, false); err == nil {
		t.Error("QuantizeInt8 with NaN: want an error")
	}
	if _, err := QuantizeInt8([]float32{1, 2, 3}, 2, 2, QInt8, Affine, false); err == nil {
		t.Error("QuantizeInt8 with a wrong shape: want an error")
	}
}
