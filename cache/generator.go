package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wavenet-go/wavenet/internal/kernel"
	"github.com/wavenet-go/wavenet/wavenet"
)

// ErrFull is returned by Join when every slot holds an active stream.
var ErrFull = errors.New("cache: all stream slots are in use")

// StreamOptions configures one stream.
type StreamOptions struct {
	// Cond holds one index per Config.Conditions entry (into that
	// condition's Values).
	Cond []int
	// Temperature divides the logits before the softmax; it must be a
	// positive number unless Greedy is set.
	Temperature float32
	// TopK, when positive, restricts sampling to the TopK most likely
	// codes (ties with the k-th broken towards lower codes). 0 means all.
	TopK int
	// Seed seeds the stream's PCG random number generator.
	Seed uint64
	// Greedy picks the most likely code (the lowest on a tie) and ignores
	// Temperature, TopK and Seed.
	Greedy bool
	// GuideCond, if set, gives the stream a guide: a hidden second stream
	// in another slot that computes the logits z0 of the same history
	// under GuideCond, beside the stream's own logits z. So a guided
	// stream takes two slots and twice the work per step. GuideCond is
	// typically Cond with the label replaced by its null row
	// (wavenet.Condition.NullIndex), for a model trained with
	// conditioning dropout. The guide scores the drawn codes (GuideScore)
	// and, with Guidance, steers them.
	GuideCond []int
	// Guidance, when positive, draws each code from the guided logits
	// z + Guidance*(z - z0) (classifier-free guidance); it needs GuideCond.
	Guidance float32
	// Local, for a model with local conditioning (Config.Local), holds
	// the first mel frames, (F, C) row-major: all of them, or the start of
	// a stream whose later frames come through PushLocal.
	Local []float32
}

// seedStream is the second PCG seed word, fixed so that one uint64 Seed
// gives one sequence.
const seedStream = 0x9e3779b97f4a7c15

// stream is the state of one slot. Its queues and conditioning bias live
// in the generator's row-interleaved blocks, at row `row`.
type stream struct {
	active bool
	opts   StreamOptions
	rng    rand.PCG
	row    int // batch row while active
	// hist holds the K-1 codes before the pending one, oldest first; -1
	// stands for "before time 0" (a zero one-hot input).
	hist    []int32
	pending int32   // the code the next step feeds
	t       int     // codes fed so far
	guide   int     // slot of the stream's guide stream, -1 if unguided
	hidden  bool    // a guide stream: stepped with its stream, not the caller's
	score   float64 // see GuideScore
	// Local conditioning: up upsamples the pushed frames into loc, the
	// per-sample rows (C each) of times locT on (rows before the stream's
	// time are dropped as frames arrive).
	up   *wavenet.Upsampler
	loc  []float32
	locT int
	// proj holds rows of loc projected for every layer (L*2D each), of
	// times projT on: up to projChunk rows at a time, made by one product
	// when the stream reaches the end of the previous ones.
	proj  []float32
	projT int
}

// projChunk is the number of conditioning rows a stream projects at
// once. One (rows, C) x (C, L*2D) product reads the projection weights
// once for all its rows, where a product per step would read them for
// every sample (the weights of a vocoder, L*2D*C floats, do not stay in
// L1): 1.8x the samples per second of one stream of the small preset
// with 80 mels at 8 kHz (BenchmarkLocal, GOMAXPROCS=1, medians of 3:
// 64,900 against 35,600).
const projChunk = 64

// Generator steps up to maxStreams streams of one model together. It is not
// safe for concurrent use: one goroutine (a scheduler) owns it. It keeps
// some of the model's weights rearranged (copies made by New) and reads
// the others in place, so the model must not change while it is in use.
//
// Per step, with B active streams, the work is one (B, 2D) x (K*R) product
// per layer for the dilated convolutions, one (B, R) x D product per layer
// for the residual outputs, one (B, S) x (L*D) product for all skip outputs
// at once (the layers' skip weights are concatenated), and the two
// post-processing products (B, S) x S and (B, Q) x S.
type Generator struct {
	m                   *wavenet.Model
	k, q, r, d, s, nl   int
	inT                 []float32 // (K*Q, R): Input.W transposed, row k*Q+c is tap k, code c
	inB                 []float32 // (R) input bias, or zeros
	skipW               []float32 // (S, L*D): the layers' Skip.W side by side
	gateW, resW         []linear  // per layer
	skipL, post1, post2 linear
	skipB               []float32 // (S): the sum of the layers' skip biases
	// The residual biases are folded away: the queues hold
	// x'_l = x_l - c_l with c_l the sum of the residual biases of the
	// layers below l, so a step adds no bias to the residual stream.
	// Gate.W applied to c_l moves into the gate bias (foldTap[l][k] is tap
	// k's part, (2D)), and a fresh queue holds -c_l (x_l = 0 before time 0).
	negC           [][]float32 // (L, R): -c_l
	foldTap        [][]float32 // (L, K*2D)
	post1B, post2B []float32
	streams        []stream
	act            []int // active slots; row b of the batch is act[b]
	// ring[l] is ((K-1)*d_l, maxStreams, R): layer l's recent inputs, all
	// streams side by side. Streams step in lockstep, so position
	// p mod (K-1)*d_l holds every stream's input of generator step p; a
	// step reads one contiguous (B, R) block per tap and writes one.
	ring [][]float32
	// bias is (L, maxStreams, 2D): each stream's gate bias plus its
	// conditioning rows, per layer, copied into the pre-activations with
	// one block copy.
	bias            []float32
	step            int   // generator steps taken
	row             []int // row of each slot's logits in the last Step, -1 if none
	x               []float32
	xr, pre, z      []float32
	skip, h, logits []float32
	smp             sampler
	zs              []float32 // (Q) a guided stream's own logits, kept before guidance mixes them
	primeWS         primeWorkspace
	// Local conditioning (c > 0): locW is every layer's Local.W stacked,
	// (L*2D, C); each stream projects its rows through it (stream.proj)
	// and per step lpRow[b] is active row b's projected row, added to the
	// gate pre-activations.
	c     int
	locW  linear
	lpRow [][]float32
	up0   *wavenet.Upsampler // the packed upsampling weights, shared by the streams' upsamplers
	// rowMajor runs the products on kernel.MatMulAddBatch instead of
	// MatMulAddPacked: only for benchmarks, as the baseline.
	rowMajor bool
}

// New returns a generator for m with maxStreams slots. It panics if m's
// weights do not have the shapes its config implies or maxStreams < 1
// (check a loaded model with m.CheckShapes). The packed copy of the
// step's weights takes 0.9 MB for the small preset, 5.9 MB for ibab. The
// queues take
// maxStreams*(K-1)*sum(dilations)*R float32s, allocated here: 262 KB per
// slot for the small preset, 655 KB for ibab.
func New(m *wavenet.Model, maxStreams int) *Generator {
	if err := m.CheckShapes(); err != nil {
		panic("cache: New: " + err.Error())
	}
	if maxStreams < 1 {
		panic(fmt.Sprintf("cache: New: maxStreams is %d, want at least 1", maxStreams))
	}
	return newGenerator(m, maxStreams, false)
}

// NewF16 returns a generator for m with maxStreams slots whose step
// products read their weights in IEEE 754 binary16 (half the bytes of
// float32; products accumulate in float32), which pays when the weights
// do not fit in the L2 cache, as with the ibab preset's 5.9 MB. It panics
// as New does.
//
// The generator keeps its own copy of m with the weight matrices of the
// step (dilated convolutions, residual, skip and output layers) rounded to
// binary16 (Model returns it); biases, conditioning and the input
// embedding stay float32. Its logits are those of that rounded model:
// teacher-forced, they equal the rounded model's Forward within 1e-4, as
// New's do, and differ from m's Forward by the weight rounding (relative
// 2^-11 per weight; the tests see about 1e-3 on a small random model and
// allow 1e-2). A stream's codes do not depend on the other streams of the
// step (tested on AVX-512 and pure Go), but the binary16 products sum in
// an order that depends on the kernel implementation, so unlike New's,
// this generator's codes may differ between the AVX-512, AVX2 and purego
// builds (in rare samples, after which the streams diverge).
//
// Measured with GOMAXPROCS=1 on AVX-512 (cpu-samples/s of BenchmarkStep):
// ibab, 1 stream, about 9,800 samples/s (9,600 to 10,200 over five runs)
// against 4,500 for New: the 2.9 MB of binary16 weights per sample come
// from L3 at about 27 GB/s, and every other step walks the big products
// backwards to reuse what is left in L2. With 16 streams it is slower than
// New (19,000 against 33,000 in total), as it is for the small preset,
// whose float32 weights fit in L2. Use it for few streams of a large
// model.
func NewF16(m *wavenet.Model, maxStreams int) *Generator {
	if err := m.CheckShapes(); err != nil {
		panic("cache: NewF16: " + err.Error())
	}
	if maxStreams < 1 {
		panic(fmt.Sprintf("cache: NewF16: maxStreams is %d, want at least 1", maxStreams))
	}
	r := m.Clone()
	for l := range r.Layers {
		ly := &r.Layers[l]
		kernel.RoundF16(ly.Gate.W)
		kernel.RoundF16(ly.Res.W)
		kernel.RoundF16(ly.Skip.W)
	}
	kernel.RoundF16(r.Post1.W)
	kernel.RoundF16(r.Post2.W)
	return newGenerator(r, maxStreams, true)
}

// newGenerator builds a generator for a checked model; half stores the
// step's weights in binary16 instead of packed float32.
func newGenerator(m *wavenet.Model, maxStreams int, half bool) *Generator {
	cfg := m.Config
	g := &Generator{
		m: m, k: cfg.FilterWidth, q: cfg.QuantizationChannels,
		r: cfg.ResidualChannels, d: cfg.DilationChannels, s: cfg.SkipChannels,
		nl: len(cfg.Dilations),
	}
	K, Q, R, D, S, L := g.k, g.q, g.r, g.d, g.s, g.nl
	g.inT = make([]float32, K*Q*R)
	for r := 0; r < R; r++ {
		for c := 0; c < K*Q; c++ {
			g.inT[c*R+r] = m.Input.W[r*K*Q+c]
		}
	}
	g.inB = make([]float32, R)
	copy(g.inB, m.Input.B)
	g.skipW = make([]float32, S*L*D)
	g.skipB = make([]float32, S)
	g.negC = make([][]float32, L)
	g.foldTap = make([][]float32, L)
	cum := make([]float64, R)
	for l, ly := range m.Layers {
		for s := 0; s < S; s++ {
			copy(g.skipW[s*L*D+l*D:s*L*D+l*D+D], ly.Skip.W[s*D:s*D+D])
		}
		for s, b := range ly.Skip.B {
			g.skipB[s] += b
		}
		g.negC[l] = make([]float32, R)
		g.foldTap[l] = make([]float32, K*2*D)
		for i, c := range cum {
			g.negC[l][i] = float32(-c)
		}
		for k := 0; k < K; k++ {
			for o := 0; o < 2*D; o++ {
				var sum float64
				for i, c := range cum {
					// The conversion keeps the compiler from fusing
					// the multiply-add (arm64, GOAMD64=v3), so the
					// folded biases have the same bits everywhere.
					sum += float64(float64(ly.Gate.W[o*K*R+k*R+i]) * c)
				}
				g.foldTap[l][k*2*D+o] = float32(sum)
			}
		}
		for i, b := range ly.Res.B {
			cum[i] += float64(b)
		}
	}
	for _, ly := range m.Layers {
		g.gateW = append(g.gateW, newLinear(ly.Gate.W, 2*D, K*R, half))
		g.resW = append(g.resW, newLinear(ly.Res.W, R, D, half))
	}
	g.skipL = newLinear(g.skipW, S, L*D, half)
	g.post1 = newLinear(m.Post1.W, S, S, half)
	g.post2 = newLinear(m.Post2.W, Q, S, half)
	g.post1B = make([]float32, S)
	copy(g.post1B, m.Post1.B)
	g.post2B = make([]float32, Q)
	copy(g.post2B, m.Post2.B)
	B := maxStreams
	g.streams = make([]stream, B)
	g.act = make([]int, 0, B)
	g.row = make([]int, B)
	for i := range g.row {
		g.row[i] = -1
	}
	g.ring = make([][]float32, L)
	for l, ly := range m.Layers {
		g.ring[l] = make([]float32, (K-1)*ly.Dilation*B*R)
	}
	g.bias = make([]float32, L*B*2*D)
	g.x = make([]float32, B*K*R)
	g.xr = make([]float32, B*R)
	g.pre = make([]float32, B*2*D)
	g.z = make([]float32, B*L*D)
	g.skip = make([]float32, B*S)
	g.h = make([]float32, B*S)
	g.logits = make([]float32, B*Q)
	g.smp = newSampler(Q)
	if lc := cfg.Local; lc != nil {
		C := lc.Channels
		g.c = C
		w := make([]float32, 0, L*2*D*C)
		for _, ly := range m.Layers {
			w = append(w, ly.Local.W...)
		}
		// The projection stays float32 (packed) in every generator.
		g.locW = newLinear(w, L*2*D, C, false)
		g.lpRow = make([][]float32, B)
		g.up0, _ = m.NewUpsampler() // m has local conditioning and was checked
	}
	return g
}

// Model returns the generator's model.
func (g *Generator) Model() *wavenet.Model { return g.m }

// MaxStreams returns the number of slots.
func (g *Generator) MaxStreams() int { return len(g.streams) }

// Active returns the number of active streams.
func (g *Generator) Active() int { return len(g.act) }

// Len returns the number of codes slot has been fed (its time index).
func (g *Generator) Len(slot int) int { return g.streams[slot].t }

// Join starts a stream in a free slot and returns the slot. The stream
// starts with every queue zero (nothing before time 0) and the silence code
// (the code of 0.0, Q/2) pending as its first input; Prime or Feed change
// that. A guided stream (opts.GuideCond set) also takes a second free slot
// for its guide stream, which the stream's Feed, Prime and Leave carry
// along. Join returns ErrFull when too few slots are free, and an error
// wrapping a *wavenet.InputError for bad conditioning.
func (g *Generator) Join(opts StreamOptions) (int, error) {
	if err := g.m.CheckInput(nil, opts.Cond); err != nil {
		return -1, fmt.Errorf("cache: join: %w", err)
	}
	w := opts.Guidance
	if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) || w < 0 {
		return -1, fmt.Errorf("cache: join: guidance is %v, want 0 (none) or a positive finite number", w)
	}
	guided := opts.GuideCond != nil
	if w > 0 && !guided {
		return -1, fmt.Errorf("cache: join: guidance %v needs GuideCond", w)
	}
	if guided {
		if err := g.m.CheckInput(nil, opts.GuideCond); err != nil {
			return -1, fmt.Errorf("cache: join: guide: %w", err)
		}
	}
	if !opts.Greedy {
		t := opts.Temperature
		if math.IsNaN(float64(t)) || math.IsInf(float64(t), 0) || t <= 0 || math.IsInf(float64(1/t), 0) {
			return -1, fmt.Errorf("cache: join: temperature is %v, want a positive finite number (or greedy)", t)
		}
	}
	if opts.TopK < 0 {
		return -1, fmt.Errorf("cache: join: top-k is %d, want 0 (all codes) or more", opts.TopK)
	}
	if err := g.checkFrames(opts.Local); err != nil {
		return -1, fmt.Errorf("cache: join: %w", err)
	}
	var free []int
	for i := range g.streams {
		if !g.streams[i].active && len(free) < 2 {
			free = append(free, i)
		}
	}
	if len(free) == 0 || (guided && len(free) < 2) {
		return -1, ErrFull
	}
	slot := free[0]
	g.start(slot, opts)
	if guided {
		gs := free[1]
		g.start(gs, StreamOptions{Cond: opts.GuideCond, Temperature: 1, Local: opts.Local})
		g.streams[gs].hidden = true
		g.streams[slot].guide = gs
	}
	return slot, nil
}

// start makes slot's stream active in the next batch row, with fresh
// queues and its gate bias and conditioning rows in place.
func (g *Generator) start(slot int, opts StreamOptions) {
	st := &g.streams[slot]
	B, D := len(g.streams), g.d
	row := len(g.act)
	if st.hist == nil {
		st.hist = make([]int32, g.k-1)
	}
	st.row = row
	g.reset(st)
	for l, ly := range g.m.Layers {
		b := g.bias[(l*B+row)*2*D : (l*B+row+1)*2*D]
		if ly.Gate.B != nil {
			copy(b, ly.Gate.B)
		} else {
			clear(b)
		}
		for c, h := range opts.Cond {
			for j, v := range ly.Cond[c][h*2*D : (h+1)*2*D] {
				b[j] += v
			}
		}
		for k := 0; k < g.k; k++ {
			for j, v := range g.foldTap[l][k*2*D : (k+1)*2*D] {
				b[j] += v
			}
		}
	}
	opts.Cond = append([]int(nil), opts.Cond...)
	opts.GuideCond = append([]int(nil), opts.GuideCond...)
	if g.c > 0 {
		if st.up == nil {
			st.up = g.up0.Fresh()
		}
		st.up.Reset()
		st.loc, st.locT = st.loc[:0], 0
		st.proj, st.projT = st.proj[:0], 0
		st.loc, _ = st.up.Push(st.loc, opts.Local) // checked by Join
	}
	opts.Local = nil
	st.opts = opts
	st.rng.Seed(opts.Seed, seedStream)
	st.active = true
	st.guide, st.hidden, st.score = -1, false, 0
	g.act = append(g.act, slot)
}

// Leave ends the stream in slot, and its guide stream, freeing their slots
// for Join. Leaving a slot that is not active or holds a guide stream does
// nothing. The last batch row moves into the leaving stream's row (a copy
// of its queues, (K-1)*sum(dilations)*R floats), so the active streams stay
// rows 0..Active()-1.
func (g *Generator) Leave(slot int) {
	st := &g.streams[slot]
	if !st.active || st.hidden {
		return
	}
	if st.guide >= 0 {
		g.leave(st.guide)
	}
	g.leave(slot)
}

// clearQueues resets batch row's queues of the first n layers to "nothing
// before time 0": x_l = 0, so the queue rows hold -c_l.
func (g *Generator) clearQueues(row, n int) {
	B, R := len(g.streams), g.r
	for l, ring := range g.ring[:n] {
		for p := 0; p < len(ring); p += B * R {
			copy(ring[p+row*R:p+(row+1)*R], g.negC[l])
		}
	}
}

// reset makes st's stream fresh: nothing fed (the queues of its row hold
// "before time 0"), the silence code pending.
func (g *Generator) reset(st *stream) {
	for i := range st.hist {
		st.hist[i] = -1
	}
	g.clearQueues(st.row, g.nl)
	st.pending, st.t = int32(g.q/2), 0
}

func (g *Generator) leave(slot int) {
	st := &g.streams[slot]
	st.active = false
	B, R, D := len(g.streams), g.r, g.d
	row, last := st.row, len(g.act)-1
	if row != last {
		for _, ring := range g.ring {
			for p := 0; p < len(ring); p += B * R {
				copy(ring[p+row*R:p+(row+1)*R], ring[p+last*R:p+(last+1)*R])
			}
		}
		for l := 0; l < g.nl; l++ {
			copy(g.bias[(l*B+row)*2*D:(l*B+row+1)*2*D], g.bias[(l*B+last)*2*D:(l*B+last+1)*2*D])
		}
		moved := g.act[last]
		g.act[row] = moved
		g.streams[moved].row = row
	}
	g.act = g.act[:last]
}

// Feed sets the code the next Step feeds to slot's stream, replacing the
// code the previous step drew (teacher forcing).
func (g *Generator) Feed(slot int, code int32) error {
	st := &g.streams[slot]
	if !st.active || st.hidden {
		return fmt.Errorf("cache: feed: slot %d has no stream", slot)
	}
	if code < 0 || int(code) >= g.q {
		return fmt.Errorf("cache: feed: %w", &wavenet.InputError{What: "code", Value: int(code), Limit: g.q})
	}
	st.pending = code
	if st.guide >= 0 {
		g.streams[st.guide].pending = code
	}
	return nil
}

// checkFrames reports whether frames are whole frames of local
// conditioning for the model (nil is always fine).
func (g *Generator) checkFrames(frames []float32) error {
	switch {
	case frames == nil:
		return nil
	case g.c == 0:
		return &wavenet.LocalError{Msg: "given to a model that has none"}
	case len(frames)%g.c != 0:
		return &wavenet.LocalError{Msg: fmt.Sprintf("%d values are not whole frames of %d channels", len(frames), g.c)}
	}
	return nil
}

// PushLocal appends mel frames ((F, C) row-major) to the local
// conditioning of slot's stream (and its guide's), for a model with
// Config.Local: they are upsampled at once into F*Hop per-sample rows.
// Streams need no lookahead: the frame covering a sample is all its step
// needs (see wavenet.LocalConfig), so audio can be generated while frames
// still arrive. Rows the stream has already stepped past are dropped here.
func (g *Generator) PushLocal(slot int, frames []float32) error {
	st := &g.streams[slot]
	if !st.active || st.hidden {
		return fmt.Errorf("cache: push local: slot %d has no stream", slot)
	}
	if g.c == 0 {
		return fmt.Errorf("cache: push local: %w", &wavenet.LocalError{Msg: "the model has none"})
	}
	if err := g.checkFrames(frames); err != nil {
		return fmt.Errorf("cache: push local: %w", err)
	}
	g.pushLocal(st, frames)
	if st.guide >= 0 {
		g.pushLocal(&g.streams[st.guide], frames)
	}
	return nil
}

func (g *Generator) pushLocal(st *stream, frames []float32) {
	if used := st.t - st.locT; used > 0 {
		n := copy(st.loc, st.loc[used*g.c:])
		st.loc, st.locT = st.loc[:n], st.t
	}
	st.loc, _ = st.up.Push(st.loc, frames) // frames checked by the caller
}

// Buffered returns the number of Steps slot's stream can take with the
// local conditioning pushed so far (0 for a model without it). Step
// panics if an active stream of a model with local conditioning has none
// left: push frames, or Leave, first.
func (g *Generator) Buffered(slot int) int {
	st := &g.streams[slot]
	if g.c == 0 {
		return 0
	}
	return len(st.loc)/g.c - (st.t - st.locT)
}

// localStep points lpRow[b] at active stream b's conditioning row of
// this step, projected for all layers, projecting the stream's next rows
// when it has used the last ones. It runs before the streams' times
// advance.
func (g *Generator) localStep() {
	if g.c == 0 {
		return
	}
	C, LD2 := g.c, g.nl*2*g.d
	for b, slot := range g.act {
		st := &g.streams[slot]
		i := st.t - st.projT
		if (i+1)*LD2 > len(st.proj) {
			j := st.t - st.locT
			n := min(projChunk, len(st.loc)/C-j)
			if n < 1 {
				panic(fmt.Sprintf("cache: step: slot %d has no local conditioning for sample %d (PushLocal first; see Buffered)", slot, st.t))
			}
			st.proj = grow(st.proj, n*LD2)
			clear(st.proj)
			g.mul(n, &g.locW, st.loc[j*C:], C, st.proj, LD2)
			st.projT, i = st.t, 0
		}
		g.lpRow[b] = st.proj[i*LD2 : (i+1)*LD2]
	}
}

// addLocal adds layer l's projection of the local conditioning (rows of
// lp, stride L*2D) to n rows of pre (2D each).
func (g *Generator) addLocal(pre, lp []float32, l, n int) {
	D2, LD2 := 2*g.d, g.nl*2*g.d
	for b := 0; b < n; b++ {
		p := pre[b*D2 : (b+1)*D2]
		kernel.Add(p, p, lp[b*LD2+l*D2:][:D2])
	}
}

// addStepLocal adds layer l's projection of this step's conditioning
// rows (lpRow) to the B rows of g.pre.
func (g *Generator) addStepLocal(l, B int) {
	if g.c == 0 {
		return
	}
	D2 := 2 * g.d
	for b := 0; b < B; b++ {
		p := g.pre[b*D2 : (b+1)*D2]
		kernel.Add(p, p, g.lpRow[b][l*D2:][:D2])
	}
}

// GuideScore returns, for a stream with a guide (StreamOptions.GuideCond),
// the sum over the codes Step drew of log p(code | Cond) - log p(code |
// GuideCond), each under the model's own distribution at that step
// (temperature 1, no guidance): how much better the stream's conditions
// explain what it said than the guide's do, in nats. With the label's null
// row as the guide it measures how much the audio says about the label.
// It is 0 for a stream without a guide.
func (g *Generator) GuideScore(slot int) float64 { return g.streams[slot].score }

// Pending returns the code the next Step feeds to slot's stream.
func (g *Generator) Pending(slot int) int32 { return g.streams[slot].pending }

// Logits returns the logits (Q) of the next code that the last Step
// computed for slot, before temperature (the guided logits of a guided
// stream), as a view valid until the next Step; nil if slot was not active
// in the last Step.
func (g *Generator) Logits(slot int) []float32 {
	b := g.row[slot]
	if b < 0 {
		return nil
	}
	return g.logits[b*g.q : (b+1)*g.q]
}

// Step advances every active stream by one sample: it feeds each stream its
// pending code, computes the logits of the next code and draws it. dst[slot]
// receives the drawn code of each active slot (inactive slots are left as
// they are); dst is grown to MaxStreams if shorter (nil allocates). The
// drawn code becomes the stream's pending code. Step does not allocate.
func (g *Generator) Step(dst []int32) []int32 {
	if len(dst) < len(g.streams) {
		dst = append(dst, make([]int32, len(g.streams)-len(dst))...)
	}
	for i := range g.row {
		g.row[i] = -1
	}
	B := len(g.act)
	if B == 0 {
		return dst
	}
	g.forwardStep(B)
	g.step++
	g.draw(dst)
	return dst
}

// draw draws the next code of every active stream from the logits of the
// step, guided streams from their guided logits (written over their rows),
// and makes it the stream's (and its guide stream's) pending code. A
// guided stream's score adds the drawn code's log-probability under its
// own logits less that under its guide's.
func (g *Generator) draw(dst []int32) {
	Q := g.q
	for b, slot := range g.act {
		g.row[slot] = b
	}
	for b, slot := range g.act {
		st := &g.streams[slot]
		if st.hidden {
			continue
		}
		o := &st.opts
		z := g.logits[b*Q : (b+1)*Q]
		var gd *stream
		own, z0 := z, []float32(nil) // own: the stream's logits before guidance
		var lz, lz0 float32
		if st.guide >= 0 {
			gd = &g.streams[st.guide]
			z0 = g.logits[gd.row*Q : (gd.row+1)*Q]
			lz, lz0 = logSumExp(z), logSumExp(z0)
			if w := o.Guidance; w != 0 {
				g.zs = append(g.zs[:0], z...)
				own = g.zs
				for i, v := range z {
					z[i] = v + w*(v-z0[i])
				}
			}
		}
		c := g.smp.sample(z, o.Temperature, o.TopK, o.Greedy, &st.rng)
		st.pending = c
		if gd != nil {
			gd.pending = c
			st.score += float64((own[c] - lz) - (z0[c] - lz0))
		}
		dst[slot] = c
	}
}

// forwardStep feeds every active stream its pending code and leaves the
// logits of the next code in g.logits, row b for stream g.act[b].
func (g *Generator) forwardStep(B int) {
	K, Q, R, D, S, L := g.k, g.q, g.r, g.d, g.s, g.nl
	KR, LD := K*R, L*D
	g.localStep()

	// Initial causal convolution: sum of K columns of Input.W.
	for b, slot := range g.act {
		st := &g.streams[slot]
		xr := g.xr[b*R : (b+1)*R]
		copy(xr, g.inB)
		for k := 0; k < K; k++ {
			c := st.pending
			if k < K-1 {
				c = st.hist[k]
			}
			if c < 0 {
				continue
			}
			col := g.inT[(k*Q+int(c))*R:]
			col = col[:R]
			for i := range xr {
				xr[i] += col[i]
			}
		}
		copy(st.hist, st.hist[1:])
		if K > 1 {
			st.hist[K-2] = st.pending
		}
		st.t++
	}

	MS := len(g.streams)
	for l := range g.m.Layers {
		d := g.m.Layers[l].Dilation
		lq := (K - 1) * d
		ring := g.ring[l]
		pos := g.step % lq
		// Tap k reads the inputs of step-(K-1-k)*d: one (B, R) block each.
		for k := 0; k < K-1; k++ {
			i := pos - (K-1-k)*d
			if i < 0 {
				i += lq
			}
			blk := ring[i*MS*R:]
			for b := 0; b < B; b++ {
				copy(g.x[b*KR+k*R:b*KR+(k+1)*R], blk[b*R:(b+1)*R])
			}
		}
		for b := 0; b < B; b++ {
			copy(g.x[b*KR+(K-1)*R:(b+1)*KR], g.xr[b*R:(b+1)*R])
		}
		// This step's inputs replace those of step-(K-1)*d, read above.
		copy(ring[pos*MS*R:pos*MS*R+B*R], g.xr[:B*R])
		copy(g.pre[:B*2*D], g.bias[l*MS*2*D:l*MS*2*D+B*2*D])
		g.addStepLocal(l, B)
		g.mul(B, &g.gateW[l], g.x, KR, g.pre, 2*D)
		for b := 0; b < B; b++ {
			kernel.GateTanhSigmoid(g.z[b*LD+l*D:b*LD+l*D+D], g.pre[b*2*D:(b+1)*2*D])
		}
		if l < L-1 {
			g.mul(B, &g.resW[l], g.z[l*D:], LD, g.xr, R)
		}
	}

	// Skip sum, ReLU, Post1, ReLU, Post2.
	for b := 0; b < B; b++ {
		copy(g.skip[b*S:(b+1)*S], g.skipB)
		copy(g.h[b*S:(b+1)*S], g.post1B)
		copy(g.logits[b*Q:(b+1)*Q], g.post2B)
	}
	g.mul(B, &g.skipL, g.z, LD, g.skip, S)
	kernel.ReLU(g.skip[:B*S], g.skip[:B*S])
	g.mul(B, &g.post1, g.skip, S, g.h, S)
	kernel.ReLU(g.h[:B*S], g.h[:B*S])
	g.mul(B, &g.post2, g.h, S, g.logits, Q)
}

// linear is one weight matrix of the step: W (out, in) row-major, its
// packed form (the product every step runs) and, with half-precision
// weights, its binary16 copy.
type linear struct {
	w       []float32
	out, in int
	p       *kernel.Packed
	h       []uint16 // binary16 W, nil unless half precision is on
}

func newLinear(w []float32, out, in int, half bool) linear {
	l := linear{w: w, out: out, in: in}
	if half {
		l.h = kernel.ToF16(nil, w)
	} else {
		l.p = kernel.NewPacked(w, out, in)
	}
	return l
}

// mul computes y (B, out) += x (B, in) W^T, x with row stride ldx and y
// with row stride ldy, reading W once for all B rows.
//
// kernel.MatMulAddPacked computes every output as one fixed fma chain, so
// a stream's result does not depend on B, on its row, or on the
// implementation (AVX-512, AVX2, pure Go); it is also the fastest product
// at every batch size from 1 stream on. (kernel.Gemm packs W on every
// call, which costs 2.5 to 7 times more at these sizes: 1 to 16 rows.)
func (g *Generator) mul(B int, l *linear, x []float32, ldx int, y []float32, ldy int) {
	switch {
	case l.h != nil:
		if g.step%2 == 1 && l.out >= 4*halfChunk {
			// Every other step walks the rows backwards, so that it
			// starts on the rows the previous step read last, still in
			// L2 when the weights do not all fit (ibab with NewF16: about
			// 8% more samples per second). Each row's result is the same
			// in either direction (blocks of 32 rows stay aligned).
			for r0 := (l.out - 1) / halfChunk * halfChunk; r0 >= 0; r0 -= halfChunk {
				kernel.MatMulAddBatchF16(y[r0:], ldy, l.h[r0*l.in:], x, ldx, B, min(halfChunk, l.out-r0), l.in)
			}
			return
		}
		kernel.MatMulAddBatchF16(y, ldy, l.h, x, ldx, B, l.out, l.in)
	case g.rowMajor:
		kernel.MatMulAddBatch(y, ldy, l.w, x, ldx, B, l.out, l.in)
	default:
		kernel.MatMulAddPacked(y, ldy, l.p, x, ldx, B)
	}
}

// halfChunk is the number of rows per call when a binary16 product walks
// its rows backwards (a multiple of the kernels' 16-row blocks).
const halfChunk = 32

// primeWorkspace holds the channels-last buffers of Prime.
type primeWorkspace struct {
	x, taps, pre, z, lp []float32
	lo                  []int
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Prime gives slot's fresh stream (joined, not yet stepped) the history
// codes: afterwards the stream is in the state it would reach by feeding
// codes[0..n-2] one step at a time, with codes[n-1] pending, so that the
// next Step draws the code that follows codes. The queues are filled by one
// batched pass over the last ReceptiveField codes, not sample by sample:
// per layer, the step's two products with the window's rows as streams
// (channels-last), so the queues hold exactly the bits that feeding the
// codes one step at a time would give; the skip and output layers are not
// computed. Prime returns ctx.Err() if ctx ends between layers,
// leaving the stream fresh.
//
// A guided stream's guide stream is primed with the same codes.
func (g *Generator) Prime(ctx context.Context, slot int, codes []int32) error {
	st := &g.streams[slot]
	if !st.active || st.hidden {
		return fmt.Errorf("cache: prime: slot %d has no stream", slot)
	}
	if st.guide < 0 {
		return g.prime(ctx, slot, codes)
	}
	if err := g.prime(ctx, st.guide, codes); err != nil {
		return err
	}
	if err := g.prime(ctx, slot, codes); err != nil {
		g.reset(&g.streams[st.guide])
		return err
	}
	return nil
}

func (g *Generator) prime(ctx context.Context, slot int, codes []int32) error {
	st := &g.streams[slot]
	if st.t != 0 {
		return fmt.Errorf("cache: prime: slot %d has already been stepped %d times, want a fresh stream", slot, st.t)
	}
	if err := g.m.CheckInput(codes, st.opts.Cond); err != nil {
		return fmt.Errorf("cache: prime: %w", err)
	}
	n := len(codes)
	if n == 0 {
		return nil
	}
	if g.c > 0 && len(st.loc)/g.c < n-1 {
		return fmt.Errorf("cache: prime: %w", &wavenet.LocalError{
			Msg: fmt.Sprintf("%d codes need %d rows of conditioning, %d pushed", n, n-1, len(st.loc)/g.c)})
	}
	K, Q, R, D, L := g.k, g.q, g.r, g.d, g.nl
	// Only codes from n-RF on influence the queue contents at time n-1
	// (every queued input's dependency cone starts there or later), so
	// the pass runs over codes[s : n-1].
	rf := g.m.Config.ReceptiveField()
	s := max(0, n-rf)
	w := n - 1 - s
	ws := &g.primeWS
	ws.x = grow(ws.x, w*R)
	ws.pre = grow(ws.pre, w*2*D)
	ws.z = grow(ws.z, w*D)
	x, pre, z := ws.x, ws.pre, ws.z
	win := codes[s : n-1]
	if g.c > 0 && w > 0 {
		// Window row t is time s+t: its conditioning row, projected for
		// every layer by the step's product.
		ws.lp = grow(ws.lp, w*L*2*D)
		clear(ws.lp)
		g.mul(w, &g.locW, st.loc[s*g.c:], g.c, ws.lp, L*2*D)
	}
	for t := 0; t < w; t++ {
		row := x[t*R : (t+1)*R]
		copy(row, g.inB)
		for k := 0; k < K; k++ {
			src := t - (K - 1 - k)
			if src < 0 {
				continue
			}
			col := g.inT[(k*Q+int(win[src]))*R:]
			for i := range row {
				row[i] += col[i]
			}
		}
	}
	// lo[l] is the first window row of x_l that is needed: by layer l's
	// queue (rows w-(K-1)d_l on) or, through layer l, by the rows lo[l+1]
	// on of x_{l+1}. Layer l computes only rows lo[l+1] on.
	lo := g.primeWS.lo[:0]
	for range L {
		lo = append(lo, 0)
	}
	g.primeWS.lo = lo
	for l := L - 1; l >= 0; l-- {
		v := w - (K-1)*g.m.Layers[l].Dilation
		if l < L-1 {
			v = min(v, lo[l+1]-(K-1)*g.m.Layers[l].Dilation)
		}
		lo[l] = max(0, v)
	}
	MS := len(g.streams)
	for l := range g.m.Layers {
		if err := ctx.Err(); err != nil {
			g.clearQueues(st.row, l)
			return err
		}
		ly := &g.m.Layers[l]
		d := ly.Dilation
		lq := (K - 1) * d
		// The queue holds the inputs x'_l at times n-1-lq .. n-2 (window
		// rows w-lq .. w-1); times before 0 keep -c_l. The stream's time n-1
		// will be fed at generator step g.step, so its time tau sits at
		// position (g.step - (n-1) + tau) mod lq.
		ring := g.ring[l]
		for t := max(0, w-lq); t < w; t++ {
			i := ((g.step-(n-1)+s+t)%lq + lq) % lq
			copy(ring[(i*MS+st.row)*R:(i*MS+st.row+1)*R], x[t*R:(t+1)*R])
		}
		if l == L-1 || w == 0 {
			continue
		}
		a := lo[l+1] // rows a..w-1 of x_{l+1} are computed
		// taps row t (K*R) holds layer l's K inputs at row t, as a step
		// gathers them; rows before the window hold -c_l, as a fresh
		// queue does (they stand for times before 0 when s == 0, and are
		// never stored otherwise). The products are the step's, with the
		// rows as streams, so the queues get the bits feeding would give.
		ws.taps = grow(ws.taps, (w-a)*K*R)
		taps := ws.taps
		for t := a; t < w; t++ {
			row := taps[(t-a)*K*R : (t-a+1)*K*R]
			for k := 0; k < K; k++ {
				if src := t - (K-1-k)*d; src >= 0 {
					copy(row[k*R:(k+1)*R], x[src*R:(src+1)*R])
				} else {
					copy(row[k*R:(k+1)*R], g.negC[l])
				}
			}
		}
		bias := g.bias[(l*MS+st.row)*2*D : (l*MS+st.row+1)*2*D]
		for t := a; t < w; t++ {
			copy(pre[t*2*D:(t+1)*2*D], bias)
		}
		if g.c > 0 {
			g.addLocal(pre[a*2*D:], ws.lp[a*L*2*D:], l, w-a)
		}
		g.mul(w-a, &g.gateW[l], taps, K*R, pre[a*2*D:], 2*D)
		for t := a; t < w; t++ {
			kernel.GateTanhSigmoid(z[t*D:(t+1)*D], pre[t*2*D:(t+1)*2*D])
		}
		g.mul(w-a, &g.resW[l], z[a*D:], D, x[a*R:], R)
	}
	for k := 0; k < K-1; k++ {
		i := n - 1 - (K - 1 - k)
		if i >= 0 {
			st.hist[k] = codes[i]
		}
	}
	st.pending = codes[n-1]
	st.t = n - 1
	return nil
}
