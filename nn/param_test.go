package nn

import (
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestParamFromNode builds loss = sum(w ⊙ w) for w = (1, 2, 3), runs the
// backward pass and checks that the Param view aliases w and holds
// dloss/dw = 2w.
func TestParamFromNode(t *testing.T) {
	g := gorgonia.NewGraph()
	wt := tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, 2, 3}))
	w := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("w"), gorgonia.WithValue(wt))
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(w, w))))
	if _, err := gorgonia.Grad(loss, w); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(w))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	p, err := ParamFromNode(w)
	if err != nil {
		t.Fatalf("ParamFromNode(w): %v", err)
	}
	if p.Name != "w" {
		t.Errorf("ParamFromNode(w).Name = %q, want w", p.Name)
	}
	want := []float32{2, 4, 6}
	for i := range want {
		if p.Grad[i] != want[i] {
			t.Errorf("ParamFromNode(w).Grad[%d] = %v, want %v", i, p.Grad[i], want[i])
		}
	}
	p.Value[0] = 7
	if got := wt.Data().([]float32)[0]; got != 7 {
		t.Errorf("Value does not alias the tensor: tensor[0] = %v after setting 7", got)
	}
}
