package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MSE adds the mean squared error mean((pred - target)²) over all elements
// to the graph (torch.nn.MSELoss, reduction "mean"). pred and target have
// the same shape; both get gradients (±2(pred - target)/n).
func MSE(pred, target *gorgonia.Node) (*gorgonia.Node, error) {
	return elemLoss("nn.MSE", pred, target, 0)
}

// Huber adds the Huber loss (torch.nn.HuberLoss, reduction "mean") with
// threshold delta > 0: per element 0.5 d² when |d| < delta, else
// delta (|d| - 0.5 delta), d = pred - target, averaged over all elements.
// DQN (Mnih et al. 2015) clips its TD error this way with delta 1.
func Huber(pred, target *gorgonia.Node, delta float64) (*gorgonia.Node, error) {
	if !(delta > 0) {
		return nil, fmt.Errorf("nn: huber: delta %v, want > 0", delta)
	}
	return elemLoss(fmt.Sprintf("nn.Huber{%v}", delta), pred, target, delta)
}

// elemLoss is MSE (delta 0) or Huber (delta > 0).
func elemLoss(name string, pred, target *gorgonia.Node, delta float64) (*gorgonia.Node, error) {
	if pred == nil || target == nil {
		return nil, fmt.Errorf("nn: %s: nil input", name)
	}
	if err := sameShapeCheck(name, pred.Shape(), target.Shape()); err != nil {
		return nil, err
	}
	d := pred.Dims()
	op := &fnOp{name: name, inDims: []int{d, d}, outDims: 0, shape: scalarShape,
		fwd32: func(out []float32, in [][]float32, _ []tensor.Shape) {
			out[0] = float32(elemLossValue(in[0], in[1], delta))
		},
		fwd64: func(out []float64, in [][]float64, _ []tensor.Shape) { out[0] = elemLossValue(in[0], in[1], delta) },
		diff:  []bool{true, true},
	}
	op.grad = func(i int, in gorgonia.Nodes, _, dout *gorgonia.Node) (*gorgonia.Node, error) {
		sign := 1.0
		if i == 1 {
			sign = -1
		}
		g := &fnOp{name: fmt.Sprintf("%sGrad{%v}", name, sign), inDims: []int{d, d, 0}, outDims: d, shape: sameShape,
			fwd32: func(out []float32, in [][]float32, _ []tensor.Shape) { elemLossGrad(out, in, delta, sign) },
			fwd64: func(out []float64, in [][]float64, _ []tensor.Shape) { elemLossGrad(out, in, delta, sign) }}
		return g.apply(in[0], in[1], dout)
	}
	return op.apply(pred, target)
}

func elemLossValue[T float](p, t []T, delta float64) float64 {
	var s float64
	for i := range p {
		d := float64(p[i] - t[i])
		if delta == 0 || math.Abs(d) < delta {
			s += d * d
			if delta > 0 {
				s -= 0.5 * d * d // 0.5 d² for Huber
			}
		} else {
			s += delta * (math.Abs(d) - 0.5*delta)
		}
	}
	return s / float64(len(p))
}

// elemLossGrad writes sign * dout * d(loss)/d(pred) into out; in is
// (pred, target, dout).
func elemLossGrad[T float](out []T, in [][]T, delta, sign float64) {
	p, t := in[0], in[1]
	scale := sign * float64(in[2][0]) / float64(len(p))
	for i := range out {
		d := float64(p[i] - t[i])
		var g float64
		switch {
		case delta == 0:
			g = 2 * d
		case math.Abs(d) < delta:
			g = d
		default:
			g = math.Copysign(delta, d)
		}
		out[i] = T(g * scale)
	}
}

// KLDivTemperature adds Hinton et al. (2015)'s distillation loss: the mean
// over rows of KL(softmax(teacher/T) || softmax(student/T)), times T², for
// logits student and teacher (N, C). It equals PyTorch's
// F.kl_div(F.log_softmax(s/T, 1), F.softmax(t/T, 1), reduction="batchmean")*T*T.
// Softmaxes are per row with the row maximum subtracted. Only the student
// gets a gradient: T (softmax(s/T) - softmax(t/T)) / N.
func KLDivTemperature(student, teacher *gorgonia.Node, temperature float64) (*gorgonia.Node, error) {
	const name = "nn.KLDivTemperature"
	if err := checkMatrices(name, student, teacher); err != nil {
		return nil, err
	}
	if !(temperature > 0) {
		return nil, fmt.Errorf("nn: %s: temperature %v, want > 0", name, temperature)
	}
	T := temperature
	op := &fnOp{name: fmt.Sprintf("%s{%v}", name, T), inDims: []int{2, 2}, outDims: 0, shape: scalarShape,
		fwd32: func(out []float32, in [][]float32, sh []tensor.Shape) {
			out[0] = float32(klValue(in[0], in[1], sh[0][1], T))
		},
		fwd64: func(out []float64, in [][]float64, sh []tensor.Shape) { out[0] = klValue(in[0], in[1], sh[0][1], T) },
		diff:  []bool{true, false},
	}
	op.grad = func(_ int, in gorgonia.Nodes, _, dout *gorgonia.Node) (*gorgonia.Node, error) {
		g := &fnOp{name: fmt.Sprintf("%sGrad{%v}", name, T), inDims: []int{2, 2, 0}, outDims: 2, shape: sameShape,
			fwd32: func(out []float32, in [][]float32, sh []tensor.Shape) { klGrad(out, in, sh[0][1], T) },
			fwd64: func(out []float64, in [][]float64, sh []tensor.Shape) { klGrad(out, in, sh[0][1], T) }}
		return g.apply(in[0], in[1], dout)
	}
	return op.apply(student, teacher)
}

// softenedLogProbs writes log softmax(x/T) of one row into lp (float64).
func softenedLogProbs[T float](lp []float64, x []T, temp float64) {
	m := math.Inf(-1)
	for j, v := range x {
		lp[j] = float64(v) / temp
		m = max(m, lp[j])
	}
	var s float64
	for _, v := range lp {
		s += math.Exp(v - m)
	}
	lse := m + math.Log(s)
	for j := range lp {
		lp[j] -= lse
	}
}

// KLTemperature returns Hinton's distillation loss for plain slices of
// logits student and teacher (n rows of c), the pure-Go twin of
// [KLDivTemperature].
func KLTemperature(student, teacher []float32, c int, temperature float64) float64 {
	return klValue(student, teacher, c, temperature)
}

func klValue[T float](s, t []T, c int, temp float64) float64 {
	ls := make([]float64, c)
	lt := make([]float64, c)
	var sum float64
	n := len(s) / c
	for r := 0; r < n; r++ {
		softenedLogProbs(ls, s[r*c:r*c+c], temp)
		softenedLogProbs(lt, t[r*c:r*c+c], temp)
		for j := range c {
			sum += math.Exp(lt[j]) * (lt[j] - ls[j])
		}
	}
	return sum / float64(n) * temp * temp
}

func klGrad[T float](out []T, in [][]T, c int, temp float64) {
	s, t := in[0], in[1]
	n := len(s) / c
	scale := float64(in[2][0]) * temp / float64(n)
	ls := make([]float64, c)
	lt := make([]float64, c)
	for r := 0; r < n; r++ {
		softenedLogProbs(ls, s[r*c:r*c+c], temp)
		softenedLogProbs(lt, t[r*c:r*c+c], temp)
		for j := range c {
			out[r*c+j] = T(scale * (math.Exp(ls[j]) - math.Exp(lt[j])))
		}
	}
}

// SoftCrossEntropy adds the mean over rows of -Σ_c q_c log softmax(x)_c for
// logits x (N, C) and target weights q (N, C) (probabilities, as an
// AlphaZero policy target, or a one-hot action scaled by an advantage for
// a policy gradient). The log-softmax is per row and stable. Only x gets a
// gradient: (softmax(x) Σ_c q_c - q) / N.
func SoftCrossEntropy(x, q *gorgonia.Node) (*gorgonia.Node, error) {
	const name = "nn.SoftCrossEntropy"
	if err := checkMatrices(name, x, q); err != nil {
		return nil, err
	}
	op := &fnOp{name: name, inDims: []int{2, 2}, outDims: 0, shape: scalarShape,
		fwd32: softCEValue[float32], fwd64: softCEValue[float64], diff: []bool{true, false}}
	op.grad = func(_ int, in gorgonia.Nodes, _, dout *gorgonia.Node) (*gorgonia.Node, error) {
		return (&fnOp{name: name + "Grad", inDims: []int{2, 2, 0}, outDims: 2, shape: sameShape,
			fwd32: softCEGrad[float32], fwd64: softCEGrad[float64]}).apply(in[0], in[1], dout)
	}
	return op.apply(x, q)
}

func softCEValue[T float](out []T, in [][]T, sh []tensor.Shape) {
	n, c := rowsCols(sh[0])
	x, q := in[0], in[1]
	lp := make([]T, c)
	var sum float64
	for r := 0; r < n; r++ {
		logSoftmaxRow(lp, x[r*c:r*c+c])
		for j := range c {
			sum -= float64(q[r*c+j]) * float64(lp[j])
		}
	}
	out[0] = T(sum / float64(n))
}

func softCEGrad[T float](out []T, in [][]T, sh []tensor.Shape) {
	n, c := rowsCols(sh[0])
	x, q := in[0], in[1]
	scale := in[2][0] / T(n)
	for r := 0; r < n; r++ {
		p := out[r*c : r*c+c]
		softmaxRow(p, x[r*c:r*c+c])
		var qs T
		for j := range c {
			qs += q[r*c+j]
		}
		for j := range c {
			p[j] = scale * (p[j]*qs - q[r*c+j])
		}
	}
}

// RowDot adds y_i = Σ_c x_ic w_ic for x and w (N, C), giving (N). With w a
// one-hot action mask it picks Q(s_i, a_i) out of a DQN's Q values (then
// [Huber] against the TD targets); both inputs get gradients (dx = dy w,
// dw = dy x, row-broadcast).
func RowDot(x, w *gorgonia.Node) (*gorgonia.Node, error) {
	const name = "nn.RowDot"
	if err := checkMatrices(name, x, w); err != nil {
		return nil, err
	}
	op := &fnOp{name: name, inDims: []int{2, 2}, outDims: 1,
		shape: func(sh []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{sh[0][0]}, nil },
		fwd32: rowDot[float32], fwd64: rowDot[float64], diff: []bool{true, true}}
	op.grad = func(i int, in gorgonia.Nodes, _, dy *gorgonia.Node) (*gorgonia.Node, error) {
		// d/dx uses w (input 1) and d/dw uses x (input 0).
		return (&fnOp{name: name + "Grad", inDims: []int{2, 1}, outDims: 2, shape: sameShape,
			fwd32: rowScale[float32], fwd64: rowScale[float64]}).apply(in[1-i], dy)
	}
	return op.apply(x, w)
}

func rowDot[T float](y []T, in [][]T, sh []tensor.Shape) {
	n, c := rowsCols(sh[0])
	x, w := in[0], in[1]
	for r := 0; r < n; r++ {
		var s T
		for j := r * c; j < r*c+c; j++ {
			s += x[j] * w[j]
		}
		y[r] = s
	}
}

// rowScale writes out_ij = m_ij s_i for m (N, C) and s (N).
func rowScale[T float](out []T, in [][]T, sh []tensor.Shape) {
	n, c := rowsCols(sh[0])
	m, s := in[0], in[1]
	for r := 0; r < n; r++ {
		for j := r * c; j < r*c+c; j++ {
			out[j] = m[j] * s[r]
		}
	}
}
