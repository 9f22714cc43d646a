package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SoftmaxRows adds a softmax over each row of x (N, C) to x's graph,
// subtracting each row's own maximum, so large logits stay finite (unlike
// gorgonia's SoftMax, which takes one maximum over the whole tensor). The
// gradient is dx = y ⊙ (dy - Σ_c dy_c y_c) per row.
func SoftmaxRows(x *gorgonia.Node) (*gorgonia.Node, error) {
	op := &fnOp{name: "nn.SoftmaxRows", inDims: []int{2}, outDims: 2, shape: sameShape,
		fwd32: softmaxRowsFwd[float32], fwd64: softmaxRowsFwd[float64], diff: []bool{true}}
	op.grad = func(_ int, _ gorgonia.Nodes, y, dy *gorgonia.Node) (*gorgonia.Node, error) {
		return (&fnOp{name: "nn.SoftmaxRowsGrad", inDims: []int{2, 2}, outDims: 2, shape: sameShape,
			fwd32: softmaxRowsGrad[float32], fwd64: softmaxRowsGrad[float64]}).apply(y, dy)
	}
	return op.apply(x)
}

// LogSoftmaxRows adds a per-row log-softmax of x (N, C) to x's graph:
// y = x - max - log Σ exp(x - max), row by row. The gradient is
// dx = dy - exp(y) Σ_c dy_c per row.
func LogSoftmaxRows(x *gorgonia.Node) (*gorgonia.Node, error) {
	op := &fnOp{name: "nn.LogSoftmaxRows", inDims: []int{2}, outDims: 2, shape: sameShape,
		fwd32: logSoftmaxRowsFwd[float32], fwd64: logSoftmaxRowsFwd[float64], diff: []bool{true}}
	op.grad = func(_ int, _ gorgonia.Nodes, y, dy *gorgonia.Node) (*gorgonia.Node, error) {
		return (&fnOp{name: "nn.LogSoftmaxRowsGrad", inDims: []int{2, 2}, outDims: 2, shape: sameShape,
			fwd32: logSoftmaxRowsGrad[float32], fwd64: logSoftmaxRowsGrad[float64]}).apply(y, dy)
	}
	return op.apply(x)
}

// Softmax writes the softmax of x into dst (len(x)) with the maximum
// subtracted first, and returns dst; a nil or short dst is allocated; dst
// may be x (in place). For one row at inference time (a policy's action
// probabilities).
func Softmax(dst, x []float32) []float32 {
	if cap(dst) < len(x) {
		dst = make([]float32, len(x))
	}
	dst = dst[:len(x)]
	softmaxRow(dst, x)
	return dst
}

// LogSoftmax writes the log-softmax of x into dst and returns dst; a nil
// or short dst is allocated; dst may be x.
func LogSoftmax(dst, x []float32) []float32 {
	if cap(dst) < len(x) {
		dst = make([]float32, len(x))
	}
	dst = dst[:len(x)]
	logSoftmaxRow(dst, x)
	return dst
}

func rowsCols(sh tensor.Shape) (int, int) { return sh[0], sh[1] }

// softmaxRow writes softmax(x) into y (len(x)), in float64 sums.
func softmaxRow[T float](y, x []T) {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	var s float64
	for j, v := range x {
		e := math.Exp(float64(v - m))
		y[j] = T(e)
		s += e
	}
	inv := 1 / s
	for j := range y {
		y[j] = T(float64(y[j]) * inv)
	}
}

// logSoftmaxRow writes log softmax(x) into y (len(x)).
func logSoftmaxRow[T float](y, x []T) {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v - m))
	}
	lse := float64(m) + math.Log(s)
	for j, v := range x {
		y[j] = T(float64(v) - lse)
	}
}

func softmaxRowsFwd[T float](y []T, in [][]T, sh []tensor.Shape) {
	_, c := rowsCols(sh[0])
	x := in[0]
	for r := 0; r+c <= len(y); r += c {
		softmaxRow(y[r:r+c], x[r:r+c])
	}
}

func logSoftmaxRowsFwd[T float](y []T, in [][]T, sh []tensor.Shape) {
	_, c := rowsCols(sh[0])
	x := in[0]
	for r := 0; r+c <= len(y); r += c {
		logSoftmaxRow(y[r:r+c], x[r:r+c])
	}
}

func softmaxRowsGrad[T float](dx []T, in [][]T, sh []tensor.Shape) {
	_, c := rowsCols(sh[0])
	y, dy := in[0], in[1]
	for r := 0; r+c <= len(dx); r += c {
		var s T
		for j := r; j < r+c; j++ {
			s += dy[j] * y[j]
		}
		for j := r; j < r+c; j++ {
			dx[j] = y[j] * (dy[j] - s)
		}
	}
}

func logSoftmaxRowsGrad[T float](dx []T, in [][]T, sh []tensor.Shape) {
	_, c := rowsCols(sh[0])
	y, dy := in[0], in[1]
	for r := 0; r+c <= len(dx); r += c {
		var s T
		for j := r; j < r+c; j++ {
			s += dy[j]
		}
		for j := r; j < r+c; j++ {
			dx[j] = dy[j] - T(math.Exp(float64(y[j])))*s
		}
	}
}

// checkMatrices checks that a and b are matrices of one shape.
func checkMatrices(name string, a, b *gorgonia.Node) error {
	if a == nil || b == nil {
		return fmt.Errorf("nn: %s: nil input", name)
	}
	if a.Dims() != 2 || b.Dims() != 2 {
		return fmt.Errorf("nn: %s: inputs are %v and %v, want matrices", name, a.Shape(), b.Shape())
	}
	return sameShapeCheck(name, a.Shape(), b.Shape())
}
