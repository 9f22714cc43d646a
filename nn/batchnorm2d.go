package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Batch normalisation over NCHW images (torch.nn.BatchNorm2d): channel c is
// normalised over its N*H*W elements. The (N, C) BatchNorm of norm.go
// strides over rows; here each channel is N runs of H*W contiguous values,
// so this file has its own loops, with the same gradient (see norm.go).

// BatchNormTrain2D adds training-mode batch normalisation of x (N, C, H,
// W) with gamma and beta (C): each channel normalised with the batch's
// mean and biased variance over N*H*W values.
func BatchNormTrain2D(x, gamma, beta *gorgonia.Node, eps float64) (*gorgonia.Node, error) {
	return bn2dOp(x, gamma, beta, eps, nil, nil)
}

// Build2D adds the layer applied to x (N, C, H, W) to x's graph and returns
// its output and its parameter nodes (gamma, beta, named name+".gamma" and
// name+".beta"), whose values alias Gamma and Beta. With train, each run
// normalises with the batch statistics and updates the running ones as
// torch.nn.BatchNorm2d (unbiased variance over N*H*W); without, it
// normalises with the running statistics (eval mode; gradients still flow
// to x, gamma and beta).
func (bn *BatchNorm) Build2D(x *gorgonia.Node, name string, train bool) (*gorgonia.Node, []*gorgonia.Node, error) {
	gamma, beta := bn.nodes(x.Graph(), name)
	var y *gorgonia.Node
	var err error
	if train {
		y, err = bn2dOp(x, gamma, beta, bn.Eps, bn.update, nil)
	} else {
		y, err = bn2dOp(x, gamma, beta, bn.Eps, nil, bn)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("nn: batchnorm2d %s: %w", name, err)
	}
	return y, []*gorgonia.Node{gamma, beta}, nil
}

func (bn *BatchNorm) nodes(g *gorgonia.ExprGraph, name string) (gamma, beta *gorgonia.Node) {
	vec := func(v []float32, n string) *gorgonia.Node {
		return gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(bn.C), gorgonia.WithName(n),
			gorgonia.WithValue(tensor.New(tensor.WithShape(bn.C), tensor.WithBacking(v))))
	}
	return vec(bn.Gamma, name+".gamma"), vec(bn.Beta, name+".beta")
}

// Affine returns the eval-mode layer as y = scale ⊙ x + shift per channel:
// scale = gamma / sqrt(RunningVar + Eps), shift = beta - RunningMean scale.
// A convolution followed by the layer folds into one with weights scaled
// by scale (per output channel) and bias shift (+ scale b).
func (bn *BatchNorm) Affine(scale, shift []float32) {
	for c := 0; c < bn.C; c++ {
		s := bn.Gamma[c] / float32(math.Sqrt(float64(bn.RunningVar[c])+bn.Eps))
		scale[c], shift[c] = s, bn.Beta[c]-bn.RunningMean[c]*s
	}
}

// Forward2D normalises x (n, C, hw) with the running statistics
// (inference) into dst and returns it; a nil or short dst is allocated,
// and dst may be x.
func (bn *BatchNorm) Forward2D(dst, x []float32, n, hw int) []float32 {
	size := n * bn.C * hw
	if cap(dst) < size {
		dst = make([]float32, size)
	}
	dst = dst[:size]
	for c := 0; c < bn.C; c++ {
		s := bn.Gamma[c] / float32(math.Sqrt(float64(bn.RunningVar[c])+bn.Eps))
		t := bn.Beta[c] - bn.RunningMean[c]*s
		for i := 0; i < n; i++ {
			o := (i*bn.C + c) * hw
			for j, v := range x[o : o+hw] {
				dst[o+j] = v*s + t
			}
		}
	}
	return dst
}

// bn2dOp builds the Op: with run == nil it normalises with batch statistics
// (passed to stats when not nil), else with run's running statistics.
func bn2dOp(x, gamma, beta *gorgonia.Node, eps float64, stats func(c int, mean, variance float64, count int), run *BatchNorm) (*gorgonia.Node, error) {
	if x == nil || gamma == nil || beta == nil {
		return nil, fmt.Errorf("nn: batchnorm2d: nil input")
	}
	if x.Dims() != 4 {
		return nil, fmt.Errorf("nn: batchnorm2d: x is %v, want 4 dims", x.Shape())
	}
	c := x.Shape()[1]
	if gamma.Dims() != 1 || beta.Dims() != 1 || gamma.Shape()[0] != c || beta.Shape()[0] != c {
		return nil, fmt.Errorf("nn: batchnorm2d: gamma %v and beta %v, want (%d)", gamma.Shape(), beta.Shape(), c)
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("nn: batchnorm2d: eps %v, want > 0", eps)
	}
	name := fmt.Sprintf("nn.BatchNorm2D{%v,eval=%p}", eps, run)
	if stats != nil {
		name = fmt.Sprintf("nn.BatchNorm2D{%v,stats=%p}", eps, stats)
	}
	// saved is the last forward's mean and rstd per channel; sums the
	// backward's Σ dy and Σ dy x̂ per channel, shared by the three gradient
	// Ops: computed by the first to run after each forward (gen counts the
	// forwards, sumsGen is the forward the sums belong to).
	var saved, sums []float64
	var gen, sumsGen int
	statsOf := func(sh tensor.Shape) bn2dStats {
		if len(saved) != 2*sh[1] {
			saved, sums = make([]float64, 2*sh[1]), make([]float64, 2*sh[1])
		}
		st := bn2dStats{n: sh[0], c: sh[1], hw: sh[2] * sh[3], eps: eps, stats: stats, saved: saved}
		if run != nil {
			st.mean, st.variance = run.RunningMean, run.RunningVar
		}
		return st
	}
	op := &fnOp{name: name, inDims: []int{4, 1, 1}, outDims: 4, shape: sameShape, diff: []bool{true, true, true},
		fwd32: func(y []float32, in [][]float32, sh []tensor.Shape) {
			gen++
			bn2dForward(y, in[0], in[1], in[2], statsOf(sh[0]))
		},
		fwd64: func(y []float64, in [][]float64, sh []tensor.Shape) {
			gen++
			bn2dForward(y, in[0], in[1], in[2], statsOf(sh[0]))
		},
	}
	op.grad = func(i int, in gorgonia.Nodes, _, dy *gorgonia.Node) (*gorgonia.Node, error) {
		shape := sameShape
		if i > 0 {
			shape = func(sh []tensor.Shape) (tensor.Shape, error) { return sh[1].Clone(), nil }
		}
		return (&fnOp{name: fmt.Sprintf("%sGrad%d", name, i), inDims: []int{4, 1, 4}, outDims: []int{4, 1, 1}[i], shape: shape,
			fwd32: func(out []float32, in [][]float32, sh []tensor.Shape) {
				st := statsOf(sh[0])
				if sumsGen != gen {
					bn2dSums(sums, in[0], in[2], st)
					sumsGen = gen
				}
				bn2dBackward(out, in[0], in[1], in[2], st, sums, i)
			},
			fwd64: func(out []float64, in [][]float64, sh []tensor.Shape) {
				st := statsOf(sh[0])
				if sumsGen != gen {
					bn2dSums(sums, in[0], in[2], st)
					sumsGen = gen
				}
				bn2dBackward(out, in[0], in[1], in[2], st, sums, i)
			}}).apply(in[0], in[1], dy)
	}
	return op.apply(x, gamma, beta)
}

// bn2dStats says how to normalise x (n, c, hw): with the batch statistics
// when mean is nil (calling stats with them if not nil), else with the
// running mean and variance.
type bn2dStats struct {
	n, c, hw       int
	eps            float64
	stats          func(c int, mean, variance float64, count int)
	mean, variance []float32
	// saved holds the batch mean and rstd of each channel: the forward
	// pass writes them, the backward pass (run after it on the same x)
	// reads them.
	saved []float64
}

// channelStats returns channel c's mean, variance and 1/sqrt(var + eps).
func channelStats[T float](x []T, st bn2dStats, c int) (mean, variance, rstd float64) {
	if st.mean != nil {
		v := float64(st.variance[c])
		return float64(st.mean[c]), v, 1 / math.Sqrt(v+st.eps)
	}
	m := float64(st.n * st.hw)
	for i := 0; i < st.n; i++ {
		for _, v := range x[(i*st.c+c)*st.hw:][:st.hw] {
			mean += float64(v)
		}
	}
	mean /= m
	for i := 0; i < st.n; i++ {
		for _, v := range x[(i*st.c+c)*st.hw:][:st.hw] {
			d := float64(v) - mean
			variance += d * d
		}
	}
	variance /= m
	return mean, variance, 1 / math.Sqrt(variance+st.eps)
}

func bn2dForward[T float](y, x, gamma, beta []T, st bn2dStats) {
	for c := 0; c < st.c; c++ {
		mean, variance, rstd := channelStats(x, st, c)
		st.saved[2*c], st.saved[2*c+1] = mean, rstd
		if st.stats != nil {
			st.stats(c, mean, variance, st.n*st.hw)
		}
		s := T(rstd) * gamma[c]
		t := beta[c] - T(mean)*s
		for i := 0; i < st.n; i++ {
			o := (i*st.c + c) * st.hw
			for j, v := range x[o : o+st.hw] {
				y[o+j] = v*s + t
			}
		}
	}
}

// bn2dSums writes Σ dy and Σ dy x̂ of each channel c into sums[2c] and
// sums[2c+1], with the mean and rstd the forward pass saved.
func bn2dSums[T float](sums []float64, x, dy []T, st bn2dStats) {
	for c := 0; c < st.c; c++ {
		mean, rstd := st.saved[2*c], st.saved[2*c+1]
		var sg, sgx float64
		for i := 0; i < st.n; i++ {
			o := (i*st.c + c) * st.hw
			for j, v := range x[o : o+st.hw] {
				g := float64(dy[o+j])
				sg += g
				sgx += g * (float64(v) - mean)
			}
		}
		sums[2*c], sums[2*c+1] = sg, sgx*rstd
	}
}

// bn2dBackward writes the gradient of input which (0 x, 1 gamma, 2 beta)
// into out from the sums of bn2dSums. With batch statistics the x
// gradient is norm.go's; with running statistics it is dy gamma rstd.
func bn2dBackward[T float](out, x, gamma, dy []T, st bn2dStats, sums []float64, which int) {
	switch which {
	case 1:
		for c := range out {
			out[c] = T(sums[2*c+1])
		}
		return
	case 2:
		for c := range out {
			out[c] = T(sums[2*c])
		}
		return
	}
	m := float64(st.n * st.hw)
	for c := 0; c < st.c; c++ {
		mean, rstd := st.saved[2*c], st.saved[2*c+1]
		sg, sgx := sums[2*c], sums[2*c+1]
		gm := float64(gamma[c])
		for i := 0; i < st.n; i++ {
			o := (i*st.c + c) * st.hw
			for j, v := range x[o : o+st.hw] {
				g := float64(dy[o+j]) * gm
				if st.mean != nil {
					out[o+j] = T(g * rstd)
					continue
				}
				xh := (float64(v) - mean) * rstd
				out[o+j] = T((m*g - gm*sg - xh*gm*sgx) * rstd / m)
			}
		}
	}
}
