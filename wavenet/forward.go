package wavenet

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// InputError reports codes or conditioning indices that do not fit the
// model: a code outside 0..Q-1, the wrong number of conditioning indices, or
// an index outside a condition's values.
type InputError struct {
	What  string // "code", "conditions" or "condition NAME"
	Index int    // position in codes or cond
	Value int    // the offending value (or count)
	Limit int    // the allowed count or bound (exclusive)
}

func (e *InputError) Error() string {
	switch e.What {
	case "code":
		return fmt.Sprintf("wavenet: codes[%d] is %d, want 0 to %d", e.Index, e.Value, e.Limit-1)
	case "conditions":
		return fmt.Sprintf("wavenet: %d conditioning indices given, model has %d conditions", e.Value, e.Limit)
	}
	return fmt.Sprintf("wavenet: %s index %d out of range (cond[%d]), want 0 to %d", e.What, e.Value, e.Index, e.Limit-1)
}

// CheckInput returns an *InputError if codes or cond do not fit the model.
func (m *Model) CheckInput(codes []int32, cond []int) error {
	q := m.Config.QuantizationChannels
	for i, c := range codes {
		if c < 0 || int(c) >= q {
			return &InputError{What: "code", Index: i, Value: int(c), Limit: q}
		}
	}
	conds := m.Config.Conditions
	if len(cond) != len(conds) {
		return &InputError{What: "conditions", Value: len(cond), Limit: len(conds)}
	}
	for i, h := range cond {
		if h < 0 || h >= conds[i].Rows() {
			return &InputError{What: "condition " + conds[i].Name, Index: i, Value: h, Limit: conds[i].Rows()}
		}
	}
	return nil
}

// Forward runs the whole network over codes (T mu-law codes) with global
// conditioning cond (one index per Config.Conditions entry) and returns the
// logits, (T, Q) row-major, in dst (reallocated if too short; nil
// allocates). Row t holds the logits of the code at time t+1 given
// codes[0..t]. Every layer's input, including the one-hot input, is zero
// before time 0 (causal zero padding), so the first ReceptiveField()-1 rows
// see padding.
//
// Sequences are kept channels-last, (T, C), so that each tap of a dilated
// convolution is a row-shifted view and every convolution is one GEMM per
// tap. Memory is about T*(2D + 2S + R + D + Q) floats; use Score or Loss for long
// recordings, which works in chunks.
//
// ctx is checked between layers; on cancellation Forward returns ctx.Err().
// Forward only reads the model: concurrent calls are safe. A model with
// local conditioning needs ForwardMels or ForwardLocal instead.
func (m *Model) Forward(ctx context.Context, dst []float32, codes []int32, cond []int) ([]float32, error) {
	if err := m.checkLocal(nil, len(codes)); err != nil {
		return dst, err
	}
	return m.forwardChecked(ctx, dst, codes, cond, nil)
}

// forwardChecked is Forward with local conditioning rows local (checked
// by the caller).
func (m *Model) forwardChecked(ctx context.Context, dst []float32, codes []int32, cond []int, local []float32) ([]float32, error) {
	if err := m.CheckShapes(); err != nil {
		return dst, err
	}
	if err := m.CheckInput(codes, cond); err != nil {
		return dst, err
	}
	T, Q := len(codes), m.Config.QuantizationChannels
	if cap(dst) < T*Q {
		dst = make([]float32, T*Q)
	}
	dst = dst[:T*Q]
	if T == 0 {
		return dst, nil
	}
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	if err := m.forward(ctx, ws, dst, codes, cond, local, 0); err != nil {
		return dst, err
	}
	return dst, nil
}

// workspaces recycles forward-pass buffers between calls (validation
// scores many files in a row).
var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// workspace holds the channels-last intermediate buffers of a forward pass.
type workspace struct {
	x    []float32 // (T, R) residual stream
	pre  []float32 // (T, 2D) gate pre-activations
	z    []float32 // (T, D) gated activations
	skip []float32 // (T, S) sum of skip outputs, then post1 input
	post []float32 // (T, S) post1 output
	bias []float32 // (2D) per-layer gate bias plus conditioning
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// forward computes logits (T, Q) into out for codes, assuming inputs are
// valid. Only rows from `skipRows` on are needed by the caller, but all
// rows are computed through the stack (later rows depend on earlier ones);
// the post-processing runs only on rows skipRows..T-1, whose logits are
// written at out[(t-skipRows)*Q:]. local is nil or the local conditioning,
// row t (C values) for codes[t].
func (m *Model) forward(ctx context.Context, ws *workspace, out []float32, codes []int32, cond []int, local []float32, skipRows int) error {
	cfg := &m.Config
	T := len(codes)
	K, Q := cfg.FilterWidth, cfg.QuantizationChannels
	R, D, S := cfg.ResidualChannels, cfg.DilationChannels, cfg.SkipChannels

	ws.x = grow(ws.x, T*R)
	ws.pre = grow(ws.pre, T*2*D)
	ws.z = grow(ws.z, T*D)
	ws.skip = grow(ws.skip, T*S)
	ws.bias = grow(ws.bias, 2*D)
	x, pre, z, skip, bias := ws.x, ws.pre, ws.z, ws.skip, ws.bias

	// Initial causal convolution over one-hot codes: a gather of columns
	// of Input.W (R, K*Q). Tap k reads the code at t-(K-1-k).
	in := m.Input
	for t := 0; t < T; t++ {
		row := x[t*R : t*R+R]
		if in.B != nil {
			copy(row, in.B)
		} else {
			clear(row)
		}
		for k := 0; k < K; k++ {
			src := t - (K - 1 - k)
			if src < 0 {
				continue
			}
			col := k*Q + int(codes[src])
			for r := range row {
				row[r] += in.W[r*in.In+col]
			}
		}
	}

	// The skip sum starts from the sum of all layers' skip biases.
	clear(skip[:S])
	for _, l := range m.Layers {
		if l.Skip.B != nil {
			for j, b := range l.Skip.B {
				skip[j] += b
			}
		}
	}
	for t := 1; t < T; t++ {
		copy(skip[t*S:t*S+S], skip[:S])
	}

	for li := range m.Layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &m.Layers[li]
		// Gate bias plus the conditioning embeddings' rows.
		if l.Gate.B != nil {
			copy(bias, l.Gate.B)
		} else {
			clear(bias)
		}
		for c, h := range cond {
			for j, v := range l.Cond[c][h*2*D : (h+1)*2*D] {
				bias[j] += v
			}
		}
		// Dilated causal convolution: tap k of Gate.W (columns k*R..k*R+R-1
		// of the (2D, K*R) matrix) times x shifted down by s rows. The
		// current tap (k = K-1, no shift) covers every row and goes first,
		// overwriting pre; the bias is added in the activation loop.
		for k := K - 1; k >= 0; k-- {
			s := (K - 1 - k) * l.Dilation
			if s >= T {
				continue
			}
			beta := float32(1)
			if k == K-1 {
				beta = 0
			}
			kernel.Gemm(false, true, T-s, 2*D, R, 1,
				x, R, l.Gate.W[k*R:], K*R, beta, pre[s*2*D:], 2*D)
		}
		// Local conditioning: pre += local Local.W^T.
		if local != nil {
			C := l.Local.In
			kernel.Gemm(false, true, T, 2*D, C, 1, local, C, l.Local.W, C, 1, pre, 2*D)
		}
		// Gated activation unit.
		for t := 0; t < T; t++ {
			p := pre[t*2*D : (t+1)*2*D]
			zr := z[t*D : (t+1)*D]
			for j := range zr {
				zr[j] = float32(tanh(float64(p[j]+bias[j])) * sigmoid(float64(p[D+j]+bias[D+j])))
			}
		}
		// Skip output, summed over layers: skip += z Skip.W^T.
		kernel.Gemm(false, true, T, S, D, 1, z, D, l.Skip.W, D, 1, skip, S)
		// Residual output: x += z Res.W^T + Res.B. The last layer's residual
		// output feeds nothing.
		if li < len(m.Layers)-1 {
			kernel.Gemm(false, true, T, R, D, 1, z, D, l.Res.W, D, 1, x, R)
			if l.Res.B != nil {
				for t := 0; t < T; t++ {
					row := x[t*R : (t+1)*R]
					for j, b := range l.Res.B {
						row[j] += b
					}
				}
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	// Post-processing: ReLU, Post1, ReLU, Post2.
	n := T - skipRows
	h := skip[skipRows*S : T*S]
	relu(h)
	ws.post = grow(ws.post, n*S)
	dense(ws.post, h, n, m.Post1)
	relu(ws.post)
	dense(out[:n*Q], ws.post, n, m.Post2)
	return nil
}

// dense computes dst (n, d.Out) = src (n, d.In) d.W^T + d.B.
func dense(dst, src []float32, n int, d Dense) {
	if d.B != nil {
		for t := 0; t < n; t++ {
			copy(dst[t*d.Out:(t+1)*d.Out], d.B)
		}
		kernel.Gemm(false, true, n, d.Out, d.In, 1, src, d.In, d.W, d.In, 1, dst, d.Out)
		return
	}
	kernel.Gemm(false, true, n, d.Out, d.In, 1, src, d.In, d.W, d.In, 0, dst, d.Out)
}

func relu(v []float32) {
	for i, x := range v {
		if x < 0 {
			v[i] = 0
		}
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// tanh is 1 - 2/(e^(2x)+1): math.Exp has an assembly implementation and is
// about twice as fast as math.Tanh; the absolute error stays near 1e-16,
// far below float32 resolution.
func tanh(x float64) float64 { return 1 - 2/(math.Exp(2*x)+1) }

// CheckShapes reports whether every weight slice of m has the length its
// config implies, so that a hand-built or corrupted model is an error rather
// than a panic inside a kernel.
func (m *Model) CheckShapes() error {
	cfg := &m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	K, Q := cfg.FilterWidth, cfg.QuantizationChannels
	R, D, S := cfg.ResidualChannels, cfg.DilationChannels, cfg.SkipChannels
	if len(m.Layers) != len(cfg.Dilations) {
		return fmt.Errorf("wavenet: model has %d layers, config has %d dilations", len(m.Layers), len(cfg.Dilations))
	}
	// layer is -1 outside the stack; names are built only on error, so
	// that the check allocates nothing for a good model.
	checkDense := func(layer int, name string, d Dense, out, in int) error {
		if layer >= 0 {
			name = fmt.Sprintf("layers.%d.%s", layer, name)
		}
		if d.Out != out || d.In != in || len(d.W) != out*in {
			return fmt.Errorf("wavenet: %s.weight is (%d, %d) with %d values, want (%d, %d)", name, d.Out, d.In, len(d.W), out, in)
		}
		if cfg.UseBiases && len(d.B) != out || !cfg.UseBiases && d.B != nil {
			return fmt.Errorf("wavenet: %s.bias has %d values, want %d (use_biases %v)", name, len(d.B), out, cfg.UseBiases)
		}
		return nil
	}
	if err := checkDense(-1, "input", m.Input, R, K*Q); err != nil {
		return err
	}
	for i, l := range m.Layers {
		if l.Dilation != cfg.Dilations[i] {
			return fmt.Errorf("wavenet: layers.%d has dilation %d, config says %d", i, l.Dilation, cfg.Dilations[i])
		}
		if err := checkDense(i, "gate", l.Gate, 2*D, K*R); err != nil {
			return err
		}
		if err := checkDense(i, "res", l.Res, R, D); err != nil {
			return err
		}
		if err := checkDense(i, "skip", l.Skip, S, D); err != nil {
			return err
		}
		if len(l.Cond) != len(cfg.Conditions) {
			return fmt.Errorf("wavenet: layers.%d has %d conditioning embeddings, config has %d conditions", i, len(l.Cond), len(cfg.Conditions))
		}
		for c, cond := range cfg.Conditions {
			if len(l.Cond[c]) != cond.Rows()*2*D {
				return fmt.Errorf("wavenet: layers.%d.cond.%s has %d values, want (%d, %d)", i, cond.Name, len(l.Cond[c]), cond.Rows(), 2*D)
			}
		}
		if lc := cfg.Local; lc != nil {
			if d := l.Local; d.Out != 2*D || d.In != lc.Channels || len(d.W) != 2*D*lc.Channels || d.B != nil {
				return fmt.Errorf("wavenet: layers.%d.local.weight is (%d, %d) with %d values and %d biases, want (%d, %d) and none",
					i, d.Out, d.In, len(d.W), len(d.B), 2*D, lc.Channels)
			}
		} else if l.Local.W != nil {
			return fmt.Errorf("wavenet: layers.%d.local is set, the config has no local_conditioning", i)
		}
	}
	if err := m.checkUp(); err != nil {
		return err
	}
	if err := checkDense(-1, "post1", m.Post1, S, S); err != nil {
		return err
	}
	return checkDense(-1, "post2", m.Post2, Q, S)
}

// checkUp reports whether the upsampling layers match Config.Local.
func (m *Model) checkUp() error {
	lc := m.Config.Local
	if lc == nil {
		if len(m.Up) != 0 {
			return fmt.Errorf("wavenet: model has %d upsampling layers, the config has no local_conditioning", len(m.Up))
		}
		return nil
	}
	if len(m.Up) != len(lc.Scales) {
		return fmt.Errorf("wavenet: model has %d upsampling layers, config has %d scales", len(m.Up), len(lc.Scales))
	}
	C, fw := lc.Channels, lc.FreqKernel()
	for i, u := range m.Up {
		if fw > 0 || u.FreqWidth != 0 {
			if u.Scale != lc.Scales[i] || u.Width != lc.Width || u.FreqWidth != fw || len(u.W) != lc.Width*u.Scale*fw {
				return fmt.Errorf("wavenet: upsample.%d is scale %d width %d frequency width %d with %d values, want the config's %s layer: scale %d width %d frequency width %d, (%d, %d)",
					i, u.Scale, u.Width, u.FreqWidth, len(u.W), lc.Net, lc.Scales[i], lc.Width, fw, lc.Width*lc.Scales[i], fw)
			}
			continue
		}
		if u.Scale != lc.Scales[i] || u.Width != lc.Width || len(u.W) != C*lc.Width*u.Scale*C {
			return fmt.Errorf("wavenet: upsample.%d is scale %d width %d with %d values, want scale %d width %d, (%d, %d, %d)",
				i, u.Scale, u.Width, len(u.W), lc.Scales[i], lc.Width, C, lc.Width*lc.Scales[i], C)
		}
	}
	return nil
}
