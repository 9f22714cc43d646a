package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// cnnModel is what the graph-against-plain test needs of a builder.
type cnnModel interface {
	Build(x *gorgonia.Node, train bool) (*gorgonia.Node, []*gorgonia.Node, error)
	Forward(dst, x []float32, n, h, w int) []float32
	Params() []Param
	Buffers() []Param
	Tensors() []NamedTensor
}

// checkGraphMatchesForward runs the train graph once (so the running
// statistics are not the initial ones), then compares the eval graph with
// the plain Forward. Tolerance 1e-4 + 1e-4|want|: both are float32 with the
// same kernels but different summation orders in BN.
func checkGraphMatchesForward(t *testing.T, name string, m cnnModel, in, n, h, w int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	xs := to32(randSlice(rng, n*in*h*w))
	// Random gammas and betas, so BN is not near the identity.
	for _, p := range m.Params() {
		if strings.HasSuffix(p.Name, ".gamma") || strings.HasSuffix(p.Name, ".beta") {
			for i := range p.Value {
				p.Value[i] = float32(0.5 + rng.Float64())
			}
		}
	}
	var out []float32
	for _, train := range []bool{true, false} {
		g := gorgonia.NewGraph()
		x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, in, h, w), gorgonia.WithName("x"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(n, in, h, w), tensor.WithBacking(xs))))
		f, params, err := m.Build(x, train)
		if err != nil {
			t.Fatalf("%s: Build(train %v): %v", name, train, err)
		}
		ps := m.Params()
		if len(params) != len(ps) {
			t.Fatalf("%s: Build gave %d parameter nodes, Params %d", name, len(params), len(ps))
		}
		for i, p := range params {
			if p.Name() != ps[i].Name || &p.Value().Data().([]float32)[0] != &ps[i].Value[0] {
				t.Fatalf("%s: parameter %d: node %s does not alias Params' %s", name, i, p.Name(), ps[i].Name)
			}
		}
		vm := gorgonia.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatalf("%s: run: %v", name, err)
		}
		vm.Close()
		out = f.Value().Data().([]float32)
	}
	changed := false
	for _, b := range m.Buffers() {
		if strings.HasSuffix(b.Name, ".running_mean") && b.Value[0] != 0 {
			changed = true
		}
	}
	if !changed {
		t.Errorf("%s: the training run left the running means at 0", name)
	}
	got := m.Forward(nil, xs, n, h, w)
	if len(got) != len(out) {
		t.Fatalf("%s: Forward gave %d values, graph %d", name, len(got), len(out))
	}
	for i := range out {
		if d := math.Abs(float64(got[i] - out[i])); !(d <= 1e-4+1e-4*math.Abs(float64(out[i]))) {
			t.Errorf("%s: Forward[%d] = %v, eval graph %v", name, i, got[i], out[i])
			break
		}
	}
	// Tensors holds exactly Params and Buffers, with shapes that fit.
	byName := map[string]int{}
	for _, p := range append(m.Params(), m.Buffers()...) {
		byName[p.Name] = len(p.Value)
	}
	ts := m.Tensors()
	for _, tn := range ts {
		size := 1
		for _, d := range tn.Shape {
			size *= d
		}
		if n, ok := byName[tn.Name]; !ok || n != size || len(tn.Value) != size {
			t.Errorf("%s: tensor %s %v with %d values; Params/Buffers have %d (listed %v)", name, tn.Name, tn.Shape, len(tn.Value), n, ok)
		}
	}
	if len(ts) != len(byName) {
		t.Errorf("%s: %d tensors, %d params and buffers", name, len(ts), len(byName))
	}
	if a := testing.AllocsPerRun(5, func() { m.Forward(got, xs, n, h, w) }); a != 0 {
		t.Errorf("%s: Forward allocates %v times per call", name, a)
	}
}

func TestMobileNetGraphMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := MobileNetConfig{In: 1, Stem: 8, Alpha: 0.5, Blocks: []MobileBlock{
		{Out: 16, Stride: 1}, {Out: 24, Stride: 2}, // v1
		{Out: 24, Stride: 1, Expand: 2}, {Out: 32, Stride: 2, Expand: 1}, {Out: 32, Stride: 1, Expand: 3}, // v2
	}}
	m, err := NewMobileNet("mn", cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Blocks[2].Residual || m.Blocks[3].Residual || !m.Blocks[4].Residual || m.Blocks[3].Expand != nil {
		t.Errorf("v2 blocks: residual %v %v %v, expand of t=1 %v; want true false true, nil",
			m.Blocks[2].Residual, m.Blocks[3].Residual, m.Blocks[4].Residual, m.Blocks[3].Expand)
	}
	if got := m.Features(); got != 16 {
		t.Errorf("Features() = %d, want 16 (32 * alpha 0.5)", got)
	}
	checkGraphMatchesForward(t, "mobilenet", m, 1, 2, 12, 10)
}

// TestMobileNetSummary checks a stem and one v1 block on an 8x8 input
// against counts by hand:
//
//	stem  1->4 3x3/2:   36 weights + 8 BN = 44 params, out 4x4x4, 16*36 = 576 MACs
//	dw    4 3x3/2 g4:   36 + 8 = 44,  out 4x2x2, 4*36 = 144 MACs
//	pw    4->8 1x1:     32 + 16 = 48, out 8x2x2, 4*32 = 128 MACs
//
// total 136 params and 2*(576+144+128) = 1696 FLOPs.
func TestMobileNetSummary(t *testing.T) {
	m, err := NewMobileNet("m", MobileNetConfig{In: 1, Stem: 4, Blocks: []MobileBlock{{Out: 8, Stride: 2}}}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	s := m.Summary(8, 8)
	want := []SummaryRow{
		{"m.stem", []int{4, 4, 4}, 44, 1152},
		{"m.block0.dw", []int{4, 2, 2}, 44, 288},
		{"m.block0.pw", []int{8, 2, 2}, 48, 256},
		{"m.pool", []int{8}, 0, 0},
	}
	checkSummary(t, s, want, 136, 1696)
	checkParamCount(t, m.Params(), s)
}

func checkSummary(t *testing.T, s *Summary, want []SummaryRow, params int, flops int64) {
	t.Helper()
	if len(s.Rows) != len(want) {
		t.Fatalf("Summary has %d rows, want %d:\n%s", len(s.Rows), len(want), s)
	}
	for i, w := range want {
		r := s.Rows[i]
		if r.Name != w.Name || shapeString(r.Shape) != shapeString(w.Shape) || r.Params != w.Params || r.FLOPs != w.FLOPs {
			t.Errorf("Summary row %d = %+v, want %+v", i, r, w)
		}
	}
	if s.Params() != params || s.FLOPs() != flops {
		t.Errorf("Summary totals = %d params, %d FLOPs, want %d, %d", s.Params(), s.FLOPs(), params, flops)
	}
	if str := s.String(); !strings.Contains(str, "total") || strings.Count(str, "\n") != len(want)+2 {
		t.Errorf("Summary.String() =\n%s\nwant a header, %d rows and a total", str, len(want))
	}
}

// BenchmarkMobileNetForward times the plain Forward of a MobileNet-style
// student on one 40x32 log-mel image (40 mel bands, 32 frames), the size
// of the spectrogram classifier's input.
func BenchmarkMobileNetForward(b *testing.B) {
	cfg := MobileNetConfig{In: 1, Stem: 32, Blocks: []MobileBlock{
		{Out: 64, Stride: 1}, {Out: 128, Stride: 2}, {Out: 128, Stride: 1}, {Out: 256, Stride: 2}, {Out: 256, Stride: 1},
	}}
	for _, alpha := range []float64{0.5, 1} {
		cfg.Alpha = alpha
		m, err := NewMobileNet("m", cfg, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		x := to32(randSlice(rand.New(rand.NewPCG(2, 2)), 40*32))
		dst := m.Forward(nil, x, 1, 40, 32)
		b.Run(fmt.Sprintf("alpha=%v", alpha), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Forward(dst, x, 1, 40, 32)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/image")
			b.ReportMetric(float64(m.Summary(40, 32).FLOPs())/1e6, "MFLOP/image")
		})
	}
}

func checkParamCount(t *testing.T, ps []Param, s *Summary) {
	t.Helper()
	n := 0
	for _, p := range ps {
		n += len(p.Value)
	}
	if n != s.Params() {
		t.Errorf("Params() hold %d values, Summary counts %d", n, s.Params())
	}
}

// A MobileNet trunk with width multiplier 0.5 on a 40x32 log-mel image;
// heads are Linear layers on its features.
func ExampleMobileNet_Summary() {
	m, err := NewMobileNet("student", MobileNetConfig{In: 1, Stem: 16, Alpha: 0.5, Blocks: []MobileBlock{
		{Out: 32, Stride: 1}, {Out: 64, Stride: 2}, {Out: 64, Stride: 1, Expand: 4},
	}}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	s := m.Summary(40, 32)
	digit := NewLinear(10, m.Features(), nil)
	s.AddLinear("digit", &digit)
	fmt.Print(s)
	// Output:
	// layer                  output            params         FLOPs
	// student.stem           8x20x16               88         46080
	// student.block0.dw      8x20x16               88         46080
	// student.block0.pw      16x20x16             160         81920
	// student.block1.dw      16x10x8              176         23040
	// student.block1.pw      32x10x8              576         81920
	// student.block2.expand  128x10x8            4352        655360
	// student.block2.dw      128x10x8            1408        184320
	// student.block2.pw      32x10x8             4160        655360
	// student.pool           32                     0             0
	// digit                  10                   330           640
	// total                                     11338       1774720
}
