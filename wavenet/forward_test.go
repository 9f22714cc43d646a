package wavenet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveForward is the reference forward pass: one time step at a time, one
// scalar at a time, in float64, straight from the Layer diagram, with every
// layer's input zero before time 0. It shares no code with Forward.
func naiveForward(m *Model, codes []int32, cond []int) [][]float64 {
	cfg := m.Config
	T, K, Q := len(codes), cfg.FilterWidth, cfg.QuantizationChannels
	R, D, S := cfg.ResidualChannels, cfg.DilationChannels, cfg.SkipChannels
	bias := func(b []float32, i int) float64 {
		if b == nil {
			return 0
		}
		return float64(b[i])
	}
	// x[t] is the current layer's input at time t.
	x := make([][]float64, T)
	for t := range x {
		x[t] = make([]float64, R)
		for r := 0; r < R; r++ {
			v := bias(m.Input.B, r)
			for k := 0; k < K; k++ {
				if src := t - (K - 1 - k); src >= 0 {
					v += float64(m.Input.W[r*K*Q+k*Q+int(codes[src])])
				}
			}
			x[t][r] = v
		}
	}
	skip := make([][]float64, T)
	for t := range skip {
		skip[t] = make([]float64, S)
	}
	for _, l := range m.Layers {
		next := make([][]float64, T)
		for t := 0; t < T; t++ {
			pre := make([]float64, 2*D)
			for j := range pre {
				v := bias(l.Gate.B, j)
				for c, h := range cond {
					v += float64(l.Cond[c][h*2*D+j])
				}
				for k := 0; k < K; k++ {
					src := t - (K-1-k)*l.Dilation
					if src < 0 {
						continue // zero padding
					}
					for r := 0; r < R; r++ {
						v += float64(l.Gate.W[j*K*R+k*R+r]) * x[src][r]
					}
				}
				pre[j] = v
			}
			z := make([]float64, D)
			for j := range z {
				z[j] = math.Tanh(pre[j]) / (1 + math.Exp(-pre[D+j]))
			}
			for s := 0; s < S; s++ {
				v := bias(l.Skip.B, s)
				for j := 0; j < D; j++ {
					v += float64(l.Skip.W[s*D+j]) * z[j]
				}
				skip[t][s] += v
			}
			next[t] = make([]float64, R)
			for r := 0; r < R; r++ {
				v := x[t][r] + bias(l.Res.B, r)
				for j := 0; j < D; j++ {
					v += float64(l.Res.W[r*D+j]) * z[j]
				}
				next[t][r] = v
			}
		}
		x = next
	}
	out := make([][]float64, T)
	for t := range out {
		h := make([]float64, S)
		for s := range h {
			v := bias(m.Post1.B, s)
			for j := 0; j < S; j++ {
				v += float64(m.Post1.W[s*S+j]) * math.Max(0, skip[t][j])
			}
			h[s] = math.Max(0, v)
		}
		out[t] = make([]float64, Q)
		for q := range out[t] {
			v := bias(m.Post2.B, q)
			for j := 0; j < S; j++ {
				v += float64(m.Post2.W[q*S+j]) * h[j]
			}
			out[t][q] = v
		}
	}
	return out
}

// randomModel returns a model for cfg with every tensor, biases and
// conditioning embeddings included, uniform in [-scale, scale].
func randomModel(t testing.TB, cfg Config, seed uint64, scale float64) *Model {
	t.Helper()
	m, err := NewZero(cfg)
	if err != nil {
		t.Fatalf("NewZero: %v", err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32((rng.Float64()*2 - 1) * scale)
		}
	}
	return m
}

func randomCodes(rng *rand.Rand, n, q int) []int32 {
	c := make([]int32, n)
	for i := range c {
		c[i] = int32(rng.IntN(q))
	}
	return c
}

func testConfig(k int, bias bool, conds int) Config {
	cfg := Config{FilterWidth: k, SampleRate: 8000, Dilations: []int{1, 2, 4, 1, 3},
		ResidualChannels: 5, DilationChannels: 4, SkipChannels: 6, QuantizationChannels: 7, UseBiases: bias}
	names := []string{"speaker", "digit"}
	for c := 0; c < conds; c++ {
		vals := make([]string, 3+c)
		for i := range vals {
			vals[i] = fmt.Sprint(i)
		}
		cfg.Conditions = append(cfg.Conditions, Condition{Name: names[c], Values: vals})
	}
	return cfg
}

func TestForwardMatchesNaive(t *testing.T) {
	// Tolerance: Forward works in float32 (about 6e-8 relative per
	// operation); over five layers with values of order 1 the accumulated
	// error stays far below 1e-5, the bar the issue sets.
	const tol = 1e-5
	for _, k := range []int{2, 3} {
		for _, bias := range []bool{false, true} {
			for conds := 0; conds <= 2; conds++ {
				name := fmt.Sprintf("K=%d/bias=%v/conds=%d", k, bias, conds)
				t.Run(name, func(t *testing.T) {
					cfg := testConfig(k, bias, conds)
					// Scale 0.5 keeps pre-activations of order 1, so the
					// tanh and sigmoid are neither linear nor saturated.
					m := randomModel(t, cfg, uint64(100*k+10*conds), 0.5)
					rng := rand.New(rand.NewPCG(uint64(k), uint64(conds)))
					// 2 receptive fields plus a bit: rows see padding and
					// rows see none.
					T := 2*cfg.ReceptiveField() + 5
					codes := randomCodes(rng, T, cfg.QuantizationChannels)
					cond := make([]int, conds)
					for c := range cond {
						cond[c] = rng.IntN(len(cfg.Conditions[c].Values))
					}
					got, err := m.Forward(context.Background(), nil, codes, cond)
					if err != nil {
						t.Fatalf("Forward: %v", err)
					}
					want := naiveForward(m, codes, cond)
					Q := cfg.QuantizationChannels
					if len(got) != T*Q {
						t.Fatalf("len(Forward) = %d, want %d", len(got), T*Q)
					}
					for tt := 0; tt < T; tt++ {
						for q := 0; q < Q; q++ {
							g, w := float64(got[tt*Q+q]), want[tt][q]
							if math.Abs(g-w) > tol*math.Max(1, math.Abs(w)) {
								t.Fatalf("Forward logits[%d][%d] = %.7g, want %.7g (naive)", tt, q, g, w)
							}
						}
					}
				})
			}
		}
	}
}

// handModel is one layer with R = D = S = 1, Q = 2, K = 2, no biases:
// x(t) = 1 if codes[t] == 1 else 0 (Input.W picks tap 1, code 1); the
// filter row of Gate.W is (prev, cur), the gate row is zero so
// sigmoid(0) = 1/2; Skip = Post1 = 1, Post2 = (1, -1), so the logits at t
// are (h, -h) with h = max(0, tanh(prev*x(t-1) + cur*x(t)) / 2).
func handModel(t *testing.T, prev, cur float32) *Model {
	t.Helper()
	m, err := NewZero(Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1},
		ResidualChannels: 1, DilationChannels: 1, SkipChannels: 1, QuantizationChannels: 2})
	if err != nil {
		t.Fatal(err)
	}
	m.Input.W = []float32{0, 0, 0, 1} // columns: tap0 code0, tap0 code1, tap1 code0, tap1 code1
	m.Layers[0].Gate.W = []float32{prev, cur, 0, 0}
	m.Layers[0].Skip.W[0] = 1
	m.Layers[0].Res.W[0] = 1 // unused: the last layer's residual feeds nothing
	m.Post1.W[0] = 1
	m.Post2.W = []float32{1, -1}
	return m
}

func TestForwardHandChecked(t *testing.T) {
	h := float32(math.Tanh(1) / 2) // 0.3807970...
	tests := []struct {
		name      string
		prev, cur float32
		codes     []int32
		want      []float32 // rows of (h, -h)
	}{
		// The current tap only: x = (1, 0, 1).
		{"current", 0, 1, []int32{1, 0, 1}, []float32{h, -h, 0, 0, h, -h}},
		// The previous tap only: row 0 sees the zero padding, row 1 sees
		// codes[0] = 1, row 2 sees codes[1] = 0.
		{"previous", 1, 0, []int32{1, 0, 1}, []float32{0, 0, h, -h, 0, 0}},
		// A negative pre-activation is cut by the ReLU after the skip sum.
		{"relu", 0, -1, []int32{1, 1}, []float32{0, 0, 0, 0}},
	}
	for _, tc := range tests {
		m := handModel(t, tc.prev, tc.cur)
		got, err := m.Forward(context.Background(), nil, tc.codes, nil)
		if err != nil {
			t.Fatalf("%s: Forward: %v", tc.name, err)
		}
		for i := range tc.want {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
				t.Errorf("%s: Forward(%v) = %v, want %v", tc.name, tc.codes, got, tc.want)
				break
			}
		}
	}
}

func TestForwardConditioningHandChecked(t *testing.T) {
	// One condition with 2 values; only the embedding is nonzero, so the
	// gate sees (filter, gate) = the embedding row: value 1 gives
	// z = tanh(2) * sigmoid(3), value 0 gives tanh(0) = 0.
	cfg := Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1},
		ResidualChannels: 1, DilationChannels: 1, SkipChannels: 1, QuantizationChannels: 2,
		Conditions: []Condition{{Name: "speaker", Values: []string{"a", "b"}}}}
	m, err := NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Layers[0].Cond[0] = []float32{0, 0, 2, 3}
	m.Layers[0].Skip.W[0] = 1
	m.Post1.W[0] = 1
	m.Post2.W = []float32{1, 0}
	for _, tc := range []struct {
		cond int
		want float64
	}{{0, 0}, {1, math.Tanh(2) / (1 + math.Exp(-3))}} {
		got, err := m.Forward(context.Background(), nil, []int32{0, 1}, []int{tc.cond})
		if err != nil {
			t.Fatal(err)
		}
		for row := 0; row < 2; row++ {
			if math.Abs(float64(got[row*2])-tc.want) > 1e-6 {
				t.Errorf("Forward(cond=%d) row %d = %v, want %.7g", tc.cond, row, got[row*2:row*2+2], tc.want)
			}
		}
	}
}

func TestForwardInputErrors(t *testing.T) {
	m := randomModel(t, testConfig(2, true, 2), 1, 0.5)
	// testConfig: Q = 7, condition 0 has 3 values, condition 1 has 4.
	tests := []struct {
		name  string
		codes []int32
		cond  []int
	}{
		{"code too big", []int32{0, 7}, []int{0, 0}},
		{"negative code", []int32{-1}, []int{0, 0}},
		{"too few conditions", []int32{0}, []int{0}},
		{"too many conditions", []int32{0}, []int{0, 0, 0}},
		{"condition out of range", []int32{0}, []int{3, 0}},
		{"negative condition", []int32{0}, []int{0, -1}},
	}
	for _, tc := range tests {
		_, err := m.Forward(context.Background(), nil, tc.codes, tc.cond)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: Forward(%v, %v) error = %v, want *InputError", tc.name, tc.codes, tc.cond, err)
		}
		if _, _, err := m.Score(context.Background(), tc.codes, tc.cond, 0); !errors.As(err, &ie) {
			t.Errorf("%s: Score(%v, %v) error = %v, want *InputError", tc.name, tc.codes, tc.cond, err)
		}
	}
	// An empty sequence is valid and gives no rows.
	got, err := m.Forward(context.Background(), nil, nil, []int{0, 0})
	if err != nil || len(got) != 0 {
		t.Errorf("Forward(empty) = %d values, %v; want 0, nil", len(got), err)
	}
	// A malformed model is an error, not a panic.
	bad := m.Clone()
	bad.Layers[1].Gate.W = bad.Layers[1].Gate.W[:3]
	if _, err := bad.Forward(context.Background(), nil, []int32{0}, []int{0, 0}); err == nil {
		t.Errorf("Forward with a truncated gate weight: no error")
	}
}

func TestForwardCancel(t *testing.T) {
	m := randomModel(t, testConfig(2, true, 0), 1, 0.5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Forward(ctx, nil, []int32{1, 2, 3}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Forward(cancelled ctx) error = %v, want context.Canceled", err)
	}
}

func TestForwardReusesDst(t *testing.T) {
	m := randomModel(t, testConfig(2, true, 0), 1, 0.5)
	codes := []int32{1, 2, 3, 4}
	want, err := m.Forward(context.Background(), nil, codes, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 100)
	for i := range dst {
		dst[i] = float32(math.NaN()) // must be overwritten, not read
	}
	got, err := m.Forward(context.Background(), dst, codes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &dst[0] {
		t.Errorf("Forward did not reuse a large enough dst")
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Forward(dst) [%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestLossZeroModel(t *testing.T) {
	// All weights zero: every logit row is zero, the softmax is uniform and
	// every prediction costs ln Q nats, log2 Q bits (8 bits for Q = 256).
	cfg, _ := Preset("tiny")
	m, err := NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	codes := randomCodes(rand.New(rand.NewPCG(1, 2)), 100, 256)
	got, err := m.BitsPerSample(context.Background(), codes, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-8) > 1e-12 {
		t.Errorf("BitsPerSample(zero model) = %v, want 8", got)
	}
	nats, n, err := m.Score(context.Background(), codes, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Positions 10..98 predict codes 11..99: 89 terms.
	if n != 89 || math.Abs(nats-89*math.Log(256)) > 1e-9 {
		t.Errorf("Score(from 10) = %v, %d; want %v, 89", nats, n, 89*math.Log(256))
	}
	if _, err := m.Loss(context.Background(), codes[:11], nil, 10); !errors.Is(err, ErrTooShort) {
		t.Errorf("Loss(11 codes, from 10) error = %v, want ErrTooShort", err)
	}
	if _, err := m.Loss(context.Background(), codes, nil, -1); err == nil {
		t.Errorf("Loss(from -1): no error")
	}
}

func TestScoreMatchesForward(t *testing.T) {
	// Score in small chunks (with receptive-field overlap) must equal the
	// cross-entropy of one full Forward.
	defer func(f func(int) int) { scoreChunk = f }(scoreChunk)
	for _, chunk := range []int{1, 7, 1000} {
		scoreChunk = func(int) int { return chunk }
		for _, k := range []int{2, 3} {
			cfg := testConfig(k, true, 1)
			m := randomModel(t, cfg, 7, 0.5)
			rng := rand.New(rand.NewPCG(3, uint64(k)))
			T := 3*cfg.ReceptiveField() + 11
			codes := randomCodes(rng, T, cfg.QuantizationChannels)
			cond := []int{2}
			logits, err := m.Forward(context.Background(), nil, codes, cond)
			if err != nil {
				t.Fatal(err)
			}
			Q := cfg.QuantizationChannels
			for _, from := range []int{0, cfg.ReceptiveField() - 1} {
				var want float64
				for tt := from; tt < T-1; tt++ {
					// Plain softmax in float64: logits are small here.
					var z float64
					for q := 0; q < Q; q++ {
						z += math.Exp(float64(logits[tt*Q+q]))
					}
					want += math.Log(z) - float64(logits[tt*Q+int(codes[tt+1])])
				}
				want /= float64(T - 1 - from)
				got, err := m.Loss(context.Background(), codes, cond, from)
				if err != nil {
					t.Fatal(err)
				}
				// 1e-6 relative: float32 logits, float64 sums.
				if math.Abs(got-want) > 1e-6*want {
					t.Errorf("chunk %d K=%d: Loss(from %d) = %.9g, want %.9g", chunk, k, from, got, want)
				}
			}
		}
	}
}

func TestNLLStable(t *testing.T) {
	// Logits of 1e4 overflow exp in float32 and float64 without the max
	// subtraction; the answer is log(1 + e^-1) for the larger one.
	got := nll([]float32{1e4, 1e4 - 1}, 0)
	want := math.Log1p(math.Exp(-1))
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("nll(1e4, 1e4-1; 0) = %v, want %v", got, want)
	}
}

func BenchmarkForward(b *testing.B) {
	for _, preset := range []string{"small"} {
		const T = 8000 // one second at 8 kHz
		b.Run(fmt.Sprintf("%s/T=%d", preset, T), func(b *testing.B) {
			cfg, _ := Preset(preset)
			m, err := New(cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			codes := randomCodes(rand.New(rand.NewPCG(2, 2)), T, cfg.QuantizationChannels)
			dst := make([]float32, T*cfg.QuantizationChannels)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Forward(context.Background(), dst, codes, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(T*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
