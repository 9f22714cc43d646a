package wavenet

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Dense is a fully connected (1x1 convolution) weight: y = W x + B.
// W is (Out, In), row-major; B is (Out) or nil when the model has no biases.
type Dense struct {
	Out, In int
	W       []float32
	B       []float32
}

func newDense(out, in int, bias bool) Dense {
	d := Dense{Out: out, In: in, W: make([]float32, out*in)}
	if bias {
		d.B = make([]float32, out)
	}
	return d
}

// Layer is one residual block of the dilated stack.
//
//	        x (R) ─────────────────────────────────────┐
//	          │                                        │
//	dilated causal conv, K taps at dilation d          │
//	  Gate.W (2D, K*R) + Gate.B + Σ_c Cond[c][h_c]     │
//	  + Local.W (2D, C) c_t (local conditioning)        │
//	          │                                        │
//	 tanh(rows 0..D-1) ⊙ sigmoid(rows D..2D-1) = z (D) │
//	      │                  │                         │
//	Skip.W (S, D)      Res.W (R, D)                    │
//	      │                  └───────── + ─────────────┘
//	 skip out (S)                       │
//	                             x' (R), to the next layer
//
// Tap k of Gate.W (columns k*R .. k*R+R-1) multiplies the input at time
// t - (K-1-k)*Dilation: tap K-1 is the current sample.
type Layer struct {
	Dilation int
	Gate     Dense
	// Cond[c] is (Config.Conditions[c].Rows(), 2D): the row of the
	// conditioning value is added to the gate pre-activations.
	Cond [][]float32
	// Local is the 1x1 projection (2D, C), no bias, of the upsampled local
	// conditioning of the current sample; empty without Config.Local.
	Local Dense
	Res   Dense
	Skip  Dense
}

// Model is a WaveNet's weights as plain float32 slices.
//
// Input is the initial causal convolution over one-hot codes, (R, K*Q):
// column k*Q+q is tap k (time t-(K-1-k)) for code q. The skip outputs of all
// layers are summed, then ReLU, Post1 (S, S), ReLU, Post2 (Q, S) give the
// logits over the Q mu-law codes.
type Model struct {
	Config Config
	Input  Dense
	Layers []Layer
	Post1  Dense
	Post2  Dense
	// Up holds the local-conditioning upsampling layers, one per
	// Config.Local.Scales entry (see LocalConfig); nil without it.
	Up []UpLayer
}

// UpLayer is one layer of the upsampling network (see LocalConfig). A
// causal transposed convolution (FreqWidth 0) has W (C, Width*Scale, C),
// row-major (output channel, tap, input channel); a repeat-conv2d layer
// has W (Width*Scale, FreqWidth), row-major (time tap k, frequency tap f).
type UpLayer struct {
	Scale, Width int
	FreqWidth    int // repeat-conv2d layers only
	W            []float32
}

// New returns a model for cfg with weights drawn from rng: Glorot-uniform
// for weights, zero for biases and conditioning embeddings.
func New(cfg Config, rng *rand.Rand) (*Model, error) {
	m, err := NewZero(cfg)
	if err != nil {
		return nil, err
	}
	for _, p := range m.Params() {
		switch p.Init {
		case InitUpsample:
			// Each output channel starts as the mean of its own channel
			// over the Width input rows it sees: a smoothed repeat.
			C := p.Shape[0]
			taps := p.Shape[1] / C
			for co := 0; co < C; co++ {
				for k := 0; k < taps; k++ {
					p.Data[(co*taps+k)*C+co] = 1 / float32(cfg.Local.Width)
				}
			}
		case InitMean:
			for i := range p.Data {
				p.Data[i] = 1 / float32(len(p.Data))
			}
		case InitGlorot:
			fanIn, fanOut := p.Shape[1], p.Shape[0]
			limit := math.Sqrt(6 / float64(fanIn+fanOut))
			for i := range p.Data {
				p.Data[i] = float32((rng.Float64()*2 - 1) * limit)
			}
		}
	}
	return m, nil
}

// NewZero returns a model for cfg with every weight zero, ready to be filled
// (by a checkpoint loader, say).
func NewZero(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	K, Q := cfg.FilterWidth, cfg.QuantizationChannels
	R, D, S := cfg.ResidualChannels, cfg.DilationChannels, cfg.SkipChannels
	b := cfg.UseBiases
	m := &Model{
		Config: cfg,
		Input:  newDense(R, K*Q, b),
		Post1:  newDense(S, S, b),
		Post2:  newDense(Q, S, b),
	}
	for _, d := range cfg.Dilations {
		l := Layer{
			Dilation: d,
			Gate:     newDense(2*D, K*R, b),
			Res:      newDense(R, D, b),
			Skip:     newDense(S, D, b),
		}
		for _, c := range cfg.Conditions {
			l.Cond = append(l.Cond, make([]float32, c.Rows()*2*D))
		}
		if lc := cfg.Local; lc != nil {
			l.Local = newDense(2*D, lc.Channels, false)
		}
		m.Layers = append(m.Layers, l)
	}
	if lc := cfg.Local; lc != nil {
		C, fw := lc.Channels, lc.FreqKernel()
		for _, sc := range lc.Scales {
			if fw > 0 {
				m.Up = append(m.Up, UpLayer{Scale: sc, Width: lc.Width, FreqWidth: fw, W: make([]float32, lc.Width*sc*fw)})
			} else {
				m.Up = append(m.Up, UpLayer{Scale: sc, Width: lc.Width, W: make([]float32, C*lc.Width*sc*C)})
			}
		}
	}
	return m, nil
}

// Init says how a parameter is initialised.
type Init int

const (
	InitZero     Init = iota // biases, conditioning embeddings
	InitGlorot               // weight matrices, (out, in)
	InitUpsample             // upsampling kernels (C, Width*Scale*C): 1/Width on the channel diagonal, a smoothed repeat
	InitMean                 // repeat-conv2d kernels (Width*Scale, FreqWidth): 1/(kernel size), a moving average (r9y9)
)

// Param is one named tensor of the model. Data aliases the model's storage.
type Param struct {
	Name  string
	Shape []int
	Data  []float32
	Init  Init
}

// Params lists every tensor of the model in a fixed order, with names
// stable across versions (they are the safetensors keys):
// input.weight, input.bias, layers.N.gate.weight, layers.N.gate.bias,
// layers.N.cond.NAME, layers.N.res.weight, layers.N.res.bias,
// layers.N.skip.weight, layers.N.skip.bias, post1.weight, post1.bias,
// post2.weight, post2.bias. Bias entries are absent when the model has none.
// A model with local conditioning also has layers.N.local.weight (2D, C)
// after layers.N.cond.*, and upsample.I.weight last, stored 2-D as
// (C, Width*Scale*C), UpLayer.W's (C, Width*Scale, C) with the last two
// dimensions merged, so that every weight is a matrix with one row per
// output channel (int8 quantization and structured pruning go by rows);
// a repeat-conv2d layer's is UpLayer.W's (Width*Scale, FreqWidth), one
// row per time tap.
func (m *Model) Params() []Param {
	var ps []Param
	dense := func(name string, d Dense) {
		ps = append(ps, Param{Name: name + ".weight", Shape: []int{d.Out, d.In}, Data: d.W, Init: InitGlorot})
		if d.B != nil {
			ps = append(ps, Param{Name: name + ".bias", Shape: []int{d.Out}, Data: d.B})
		}
	}
	dense("input", m.Input)
	for i, l := range m.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		dense(p+"gate", l.Gate)
		for c, cond := range m.Config.Conditions {
			ps = append(ps, Param{Name: p + "cond." + cond.Name, Shape: []int{cond.Rows(), l.Gate.Out}, Data: l.Cond[c]})
		}
		if m.Config.Local != nil {
			dense(p+"local", l.Local)
		}
		dense(p+"res", l.Res)
		dense(p+"skip", l.Skip)
	}
	dense("post1", m.Post1)
	dense("post2", m.Post2)
	for i, u := range m.Up {
		name := fmt.Sprintf("upsample.%d.weight", i)
		if u.FreqWidth > 0 {
			ps = append(ps, Param{Name: name, Shape: []int{u.Width * u.Scale, u.FreqWidth}, Data: u.W, Init: InitMean})
			continue
		}
		C := m.Config.Local.Channels
		ps = append(ps, Param{Name: name, Shape: []int{C, u.Width * u.Scale * C}, Data: u.W, Init: InitUpsample})
	}
	return ps
}

// NumParams is the number of scalar weights.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Params() {
		n += len(p.Data)
	}
	return n
}

// Clone returns a deep copy of the model.
func (m *Model) Clone() *Model {
	c, err := NewZero(m.Config)
	if err != nil {
		panic(err) // m was built from a valid config
	}
	src, dst := m.Params(), c.Params()
	for i := range src {
		copy(dst[i].Data, src[i].Data)
	}
	return c
}
