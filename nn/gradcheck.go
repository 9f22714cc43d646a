package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GradCheckFunc builds the expression under test on g from its input
// nodes (in the order of GradCheck.Inputs) and returns its output node.
type GradCheckFunc func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error)

// GradCheck compares a graph's symbolic gradients with central finite
// differences. Use float64 inputs: that is the real check. Float32 inputs
// are accepted for Ops that only have a float32 kernel, with looser
// defaults (Eps 1e-2, RTol 1e-2, ATol 1e-3: a float32 central difference
// carries a rounding error of about 1e-7 |f| / Eps).
//
// A non-scalar output y is reduced to the scalar Σ y ⊙ R with R a fixed
// random tensor (seeded by Seed), so every output element's gradient is
// exercised with a distinct weight.
type GradCheck struct {
	// Inputs are the values of the input nodes, float64 (or all float32)
	// tensors; the check perturbs them in place and restores them.
	Inputs []*tensor.Dense
	// WRT lists the inputs whose gradients are checked; nil means all.
	WRT []int
	// Eps is the finite-difference step (default 1e-6 in float64: the
	// central difference's error is O(Eps²) against a rounding error of
	// O(1e-16/Eps)).
	Eps float64
	// An element passes when |symbolic - numeric| <= ATol + RTol |numeric|
	// (defaults 1e-5 and 1e-7 in float64).
	RTol, ATol float64
	Seed       uint64
}

// GradCheckResult is the outcome of [GradCheck.Run].
type GradCheckResult struct {
	// Worst is the largest |symbolic - numeric| / (ATol + RTol |numeric|)
	// over all checked elements: at most 1 means every element passed.
	Worst float64
	// Where names the worst element with both values.
	Where string
	// Checked is the number of elements compared.
	Checked int
}

// Run builds f twice (once for the symbolic gradients, once for the
// perturbed forward passes) and compares.
func (c GradCheck) Run(f GradCheckFunc) (GradCheckResult, error) {
	if len(c.Inputs) == 0 {
		return GradCheckResult{}, fmt.Errorf("nn: gradcheck: no inputs")
	}
	dt := c.Inputs[0].Dtype()
	if dt != tensor.Float64 && dt != tensor.Float32 {
		return GradCheckResult{}, fmt.Errorf("nn: gradcheck: inputs are %v, want float64 or float32", dt)
	}
	for i, in := range c.Inputs {
		if in.Dtype() != dt {
			return GradCheckResult{}, fmt.Errorf("nn: gradcheck: input %d is %v, input 0 %v", i, in.Dtype(), dt)
		}
	}
	def := [3]float64{1e-6, 1e-5, 1e-7}
	if dt == tensor.Float32 {
		def = [3]float64{1e-2, 1e-2, 1e-3}
	}
	if c.Eps == 0 {
		c.Eps = def[0]
	}
	if c.RTol == 0 {
		c.RTol = def[1]
	}
	if c.ATol == 0 {
		c.ATol = def[2]
	}
	wrt := c.WRT
	if wrt == nil {
		for i := range c.Inputs {
			wrt = append(wrt, i)
		}
	}
	for _, i := range wrt {
		if i < 0 || i >= len(c.Inputs) {
			return GradCheckResult{}, fmt.Errorf("nn: gradcheck: WRT index %d out of range", i)
		}
	}

	g := gorgonia.NewGraph()
	nodes := make([]*gorgonia.Node, len(c.Inputs))
	for i, in := range c.Inputs {
		nodes[i] = gorgonia.NodeFromAny(g, in, gorgonia.WithName(fmt.Sprintf("in%d", i)))
	}
	out, err := f(g, nodes)
	if err != nil {
		return GradCheckResult{}, fmt.Errorf("nn: gradcheck: build: %w", err)
	}
	cost := out
	if !out.IsScalar() {
		rng := rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))
		r := RandTensor(rng, out.Shape()...)
		if dt == tensor.Float32 {
			r = toFloat32(r)
		}
		rn := gorgonia.NodeFromAny(g, r, gorgonia.WithName("gradcheck.R"))
		prod, err := gorgonia.HadamardProd(out, rn)
		if err != nil {
			return GradCheckResult{}, fmt.Errorf("nn: gradcheck: weight output: %w", err)
		}
		if cost, err = gorgonia.Sum(prod); err != nil {
			return GradCheckResult{}, fmt.Errorf("nn: gradcheck: sum output: %w", err)
		}
	}
	wrtNodes := make([]*gorgonia.Node, len(wrt))
	for k, i := range wrt {
		wrtNodes[k] = nodes[i]
	}
	grads, err := gorgonia.Grad(cost, wrtNodes...)
	if err != nil {
		return GradCheckResult{}, fmt.Errorf("nn: gradcheck: grad: %w", err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	run := func() (float64, error) {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			return 0, err
		}
		v, ok := scalarOf(cost.Value().Data())
		if !ok {
			return 0, fmt.Errorf("cost holds %T", cost.Value().Data())
		}
		return v, nil
	}
	if _, err := run(); err != nil {
		return GradCheckResult{}, fmt.Errorf("nn: gradcheck: run: %w", err)
	}
	sym := make([][]float64, len(wrt))
	for k, gn := range grads {
		v := gn.Value()
		if v == nil {
			return GradCheckResult{}, fmt.Errorf("nn: gradcheck: no gradient value for input %d", wrt[k])
		}
		d, ok := floatsOf(v.Data())
		if !ok {
			return GradCheckResult{}, fmt.Errorf("nn: gradcheck: gradient of input %d holds %T", wrt[k], v.Data())
		}
		sym[k] = d
	}

	var res GradCheckResult
	for k, i := range wrt {
		x := c.Inputs[i]
		n := x.Shape().TotalSize()
		if len(sym[k]) != n {
			return GradCheckResult{}, fmt.Errorf("nn: gradcheck: gradient of input %d has %d elements, input %d", i, len(sym[k]), n)
		}
		for j := 0; j < n; j++ {
			orig := getAt(x, j)
			setAt(x, j, orig+c.Eps)
			fp, err := run()
			if err != nil {
				return GradCheckResult{}, fmt.Errorf("nn: gradcheck: run: %w", err)
			}
			setAt(x, j, orig-c.Eps)
			fm, err := run()
			setAt(x, j, orig)
			if err != nil {
				return GradCheckResult{}, fmt.Errorf("nn: gradcheck: run: %w", err)
			}
			num := (fp - fm) / (2 * c.Eps)
			e := math.Abs(sym[k][j]-num) / (c.ATol + c.RTol*math.Abs(num))
			if math.IsNaN(e) {
				e = math.Inf(1)
			}
			res.Checked++
			if e > res.Worst || res.Where == "" {
				res.Worst = e
				res.Where = fmt.Sprintf("input %d element %d: symbolic %.10g, numeric %.10g", i, j, sym[k][j], num)
			}
		}
	}
	return res, nil
}

// Check runs c on f and returns an error naming the worst element when
// one is out of tolerance (or when the check could not run). Tests call
// it through nntest.CheckGradients, which keeps "testing" out of nn.
func (c GradCheck) Check(f GradCheckFunc) error {
	res, err := c.Run(f)
	if err != nil {
		return err
	}
	if res.Worst > 1 {
		return fmt.Errorf("nn: gradcheck: gradient off by %.3g x tolerance at %s", res.Worst, res.Where)
	}
	return nil
}

// RandTensor returns a float64 tensor of the given shape with N(0, 1)
// entries from rng, for gradient checks.
func RandTensor(rng *rand.Rand, shape ...int) *tensor.Dense {
	d := make([]float64, tensor.Shape(shape).TotalSize())
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// RandTensor32 is RandTensor in float32.
func RandTensor32(rng *rand.Rand, shape ...int) *tensor.Dense {
	return toFloat32(RandTensor(rng, shape...))
}

func toFloat32(t *tensor.Dense) *tensor.Dense {
	d := t.Float64s()
	f := make([]float32, len(d))
	for i, v := range d {
		f[i] = float32(v)
	}
	return tensor.New(tensor.WithShape(t.Shape()...), tensor.WithBacking(f))
}

func scalarOf(d any) (float64, bool) {
	switch v := d.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case []float64:
		return v[0], len(v) == 1
	case []float32:
		return float64(v[0]), len(v) == 1
	}
	return 0, false
}

func floatsOf(d any) ([]float64, bool) {
	switch v := d.(type) {
	case []float64:
		return append([]float64(nil), v...), true
	case []float32:
		f := make([]float64, len(v))
		for i, x := range v {
			f[i] = float64(x)
		}
		return f, true
	case float64:
		return []float64{v}, true
	case float32:
		return []float64{float64(v)}, true
	}
	return nil, false
}

func getAt(t *tensor.Dense, i int) float64 {
	if t.Dtype() == tensor.Float32 {
		return float64(t.Float32s()[i])
	}
	return t.Float64s()[i]
}

func setAt(t *tensor.Dense, i int, v float64) {
	if t.Dtype() == tensor.Float32 {
		t.Float32s()[i] = float32(v)
		return
	}
	t.Float64s()[i] = v
}
