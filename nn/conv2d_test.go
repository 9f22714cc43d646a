package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// conv2dSpecs cover the three paths of Conv2DForward: general (stride 2,
// padding, groups 1 and 2), depthwise (stride 1 and 2) and pointwise, plus
// a rectangular kernel with unequal strides.
var conv2dSpecs = []Conv2DSpec{
	{InC: 3, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
	{InC: 3, OutC: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
	{InC: 4, OutC: 6, KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadH: 0, PadW: 1, Groups: 2},
	{InC: 4, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 4},
	{InC: 4, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 4},
	{InC: 5, OutC: 3, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
	{InC: 2, OutC: 3, KH: 1, KW: 1, StrideH: 2, StrideW: 2},
}

// naiveConv2D is the 7-loop definition of torch.nn.Conv2d (zero padding).
func naiveConv2D(x, w, b []float64, n, h, wdt int, s Conv2DSpec) []float64 {
	oh, ow := s.OutHW(h, wdt)
	g := s.groups()
	cin, cout := s.InC/g, s.OutC/g
	y := make([]float64, n*s.OutC*oh*ow)
	for i := 0; i < n; i++ {
		for co := 0; co < s.OutC; co++ {
			grp := co / cout
			for r := 0; r < oh; r++ {
				for o := 0; o < ow; o++ {
					var acc float64
					if b != nil {
						acc = b[co]
					}
					for ci := 0; ci < cin; ci++ {
						for kh := 0; kh < s.KH; kh++ {
							for kw := 0; kw < s.KW; kw++ {
								ih, iw := r*s.StrideH+kh-s.PadH, o*s.StrideW+kw-s.PadW
								if ih < 0 || ih >= h || iw < 0 || iw >= wdt {
									continue
								}
								acc += w[((co*cin+ci)*s.KH+kh)*s.KW+kw] * x[((i*s.InC+grp*cin+ci)*h+ih)*wdt+iw]
							}
						}
					}
					y[((i*s.OutC+co)*oh+r)*ow+o] = acc
				}
			}
		}
	}
	return y
}

func randSlice(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

func to32(v []float64) []float32 {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return f
}

// TestConv2DForward compares Conv2DForward (float32, on kernel.Gemm) with
// the naive float64 loops. Tolerance 1e-4 absolute: at most 36 products of
// N(0,1) values, float32 rounding about 1e-7 relative each.
func TestConv2DForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	const n, h, wdt = 2, 7, 6
	for _, s := range conv2dSpecs {
		for _, bias := range []bool{false, true} {
			x, w := randSlice(rng, n*s.InC*h*wdt), randSlice(rng, s.WeightLen())
			var b []float64
			if bias {
				b = randSlice(rng, s.OutC)
			}
			want := naiveConv2D(x, w, b, n, h, wdt, s)
			got := make([]float32, len(want))
			for i := range got {
				got[i] = float32(math.NaN()) // must be overwritten
			}
			var b32 []float32
			if b != nil {
				b32 = to32(b)
			}
			Conv2DForward(got, to32(x), to32(w), b32, n, h, wdt, s)
			for i := range want {
				if d := math.Abs(float64(got[i]) - want[i]); !(d <= 1e-4) {
					t.Errorf("Conv2DForward(%v, bias %v)[%d] = %g, want %g", s, bias, i, got[i], want[i])
					break
				}
			}
		}
	}
}

// TestConv2DGradients checks the gradients of Conv2D with respect to x, w
// and b in float64 against central differences (GradCheck's float64
// defaults: Eps 1e-6, RTol 1e-5, ATol 1e-7), and the float32 backward
// functions against the float64 ones (1e-4 absolute).
func TestConv2DGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	const n, h, wdt = 2, 5, 4
	for _, s := range conv2dSpecs {
		c := GradCheck{Inputs: []*tensor.Dense{RandTensor(rng, n, s.InC, h, wdt),
			RandTensor(rng, s.OutC, s.InC/s.groups(), s.KH, s.KW), RandTensor(rng, s.OutC)}, Seed: 7}
		err := c.Check(func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return Conv2D(in[0], in[1], in[2], s)
		})
		if err != nil {
			t.Errorf("Conv2D(%v): %v", s, err)
		}

		// float32 backward against float64 backward
		x, w := randSlice(rng, n*s.InC*h*wdt), randSlice(rng, s.WeightLen())
		oh, ow := s.OutHW(h, wdt)
		dy := randSlice(rng, n*s.OutC*oh*ow)
		dx64, dw64, db64 := make([]float64, len(x)), make([]float64, len(w)), make([]float64, s.OutC)
		conv2dBackwardInput(dx64, dy, w, n, h, wdt, s)
		conv2dBackwardWeight(dw64, x, dy, n, h, wdt, s)
		conv2dBackwardBias(db64, dy, n, oh*ow)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.OutC)
		Conv2DBackwardInput(dx, to32(dy), to32(w), n, h, wdt, s)
		Conv2DBackwardWeight(dw, to32(x), to32(dy), n, h, wdt, s)
		Conv2DBackwardBias(db, to32(dy), n, oh*ow)
		for _, c := range []struct {
			name string
			got  []float32
			want []float64
		}{{"input", dx, dx64}, {"weight", dw, dw64}, {"bias", db, db64}} {
			for i := range c.want {
				if d := math.Abs(float64(c.got[i]) - c.want[i]); !(d <= 1e-4) {
					t.Errorf("Conv2DBackward%s(%v)[%d] = %g, want %g", c.name, s, i, c.got[i], c.want[i])
					break
				}
			}
		}
	}
}

func TestConv2DErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 3, 4, 4), gorgonia.WithName("x"))
	w := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(2, 3, 3, 3), gorgonia.WithName("w"))
	for _, s := range []Conv2DSpec{
		{InC: 3, OutC: 2, KH: 3, KW: 3},                                    // stride 0
		{InC: 3, OutC: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, Groups: 2}, // 3 % 2
		{InC: 4, OutC: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1},            // InC != x
		{InC: 3, OutC: 2, KH: 5, KW: 5, StrideH: 1, StrideW: 1},            // w shape
	} {
		if _, err := Conv2D(x, w, nil, s); err == nil {
			t.Errorf("Conv2D(%+v) = nil error, want one", s)
		}
	}
	small := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 3, 2, 2), gorgonia.WithName("small"))
	if _, err := Conv2D(small, w, nil, Conv2DSpec{InC: 3, OutC: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1}); err == nil {
		t.Error("Conv2D(2x2 input, 3x3 kernel, no padding) = nil error, want one")
	}
}

// BenchmarkConv2D times Conv2DForward for the layer shapes of a small
// MobileNet on a 40x32 log-mel input, one sample.
func BenchmarkConv2D(b *testing.B) {
	cases := []struct {
		name string
		s    Conv2DSpec
		h, w int
	}{
		{"stem3x3s2", Conv2DSpec{InC: 1, OutC: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, 40, 32},
		{"dw3x3", Conv2DSpec{InC: 32, OutC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 32}, 20, 16},
		{"dw3x3s2", Conv2DSpec{InC: 64, OutC: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 64}, 20, 16},
		{"pw32to64", Conv2DSpec{InC: 32, OutC: 64, KH: 1, KW: 1, StrideH: 1, StrideW: 1}, 20, 16},
		{"general3x3", Conv2DSpec{InC: 32, OutC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}, 20, 16},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			x, w := to32(randSlice(rng, c.s.InC*c.h*c.w)), to32(randSlice(rng, c.s.WeightLen()))
			oh, ow := c.s.OutHW(c.h, c.w)
			y := make([]float32, c.s.OutC*oh*ow)
			b.ReportAllocs()
			for b.Loop() {
				Conv2DForward(y, x, w, nil, 1, c.h, c.w, c.s)
			}
			b.ReportMetric(float64(2*c.s.MACs(c.h, c.w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func ExampleConv2DSpec_OutHW() {
	s := Conv2DSpec{InC: 1, OutC: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
	fmt.Println(s.OutHW(40, 32))
	// Output: 20 16
}
