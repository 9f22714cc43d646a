package dist

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wavenet-go/wavenet/internal/safetensors"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Pipeline computes the gradient of a batch with the model split over
// stages, GPipe-style (Huang et al. 2019, "GPipe: efficient training of
// giant neural networks using pipeline parallelism"): the residual layers
// are cut into contiguous stages, one goroutine each (stage 0 also runs
// the input convolution, the last the output head and the loss), and the
// batch into micro-batches. Stage s runs the forward pass of micro-batch
// m while stage s+1 runs m-1; after its last forward a stage runs the
// backward passes, last micro-batch first. Between stages travel the
// residual stream x (Seqs*Len, R) and the running sum of the skip outputs
// (Seqs*LossRows, S) forward, and their gradients backward; each stage
// keeps its micro-batches' activations until their backward pass and
// accumulates the gradients of its own weights.
//
// The passes are plain Go on package nn's kernels (every layer computes
// all Len time steps; models with local conditioning are not supported),
// and the gradient equals train.Graph's for the whole batch up to float
// rounding.
type Pipeline struct {
	model  *wavenet.Model
	stages []*stage
	micro  int // micro-batches
	seqs   int // sequences per micro-batch
	length int // input codes per sequence
	rows   int // loss rows per sequence
	// Params are the model's tensors in model.Params() order: Value
	// aliases the model, Grad holds the gradient after Step.
	Params []nn.Param

	// With a transport, this process runs only stage net.Rank().
	net     Transport
	timeout time.Duration
	steps   int64 // Steps run, tagging the messages
}

// stage holds layers lo..hi-1 and the gradients of its weights.
type stage struct {
	lo, hi      int
	first, last bool
	grads       map[string][]float32 // by parameter name, aliases Pipeline.Params' Grad
	acts        []*acts              // by micro-batch
	tmp         []float32
}

// acts are a stage's activations of one micro-batch.
type acts struct {
	codes, targets []int32
	cond           [][]int32 // [condition][sequence]
	x, h, z        [][]float32
	skip           []float32 // the skip sum leaving the stage
	a0, a1, logits []float32 // last stage: the head
}

// flow is what goes between stages for one micro-batch: x and the skip
// sum forward, their gradients backward.
type flow struct {
	m       int
	x, skip []float32
	loss    float64
	err     error
}

// NewPipeline splits m into stages of contiguous layers (as even as the
// layers allow) for batches of batch sequences of length input codes with
// the loss on the last lossRows, cut into micro micro-batches (batch must
// be a multiple of micro).
func NewPipeline(m *wavenet.Model, stages, micro, batch, length, lossRows int) (*Pipeline, error) {
	L := len(m.Layers)
	switch {
	case m.Config.Local != nil:
		return nil, fmt.Errorf("dist: pipeline: models with local conditioning are not supported")
	case stages < 1 || stages > L:
		return nil, fmt.Errorf("dist: pipeline: %d stages for %d layers", stages, L)
	case micro < 1 || batch%micro != 0:
		return nil, fmt.Errorf("dist: pipeline: batch %d does not split into %d micro-batches", batch, micro)
	case lossRows < 1 || lossRows > length:
		return nil, fmt.Errorf("dist: pipeline: loss on %d of %d rows", lossRows, length)
	}
	if err := m.CheckShapes(); err != nil {
		return nil, err
	}
	p := &Pipeline{model: m, micro: micro, seqs: batch / micro, length: length, rows: lossRows}
	byName := map[string][]float32{}
	for _, mp := range m.Params() {
		g := make([]float32, len(mp.Data))
		p.Params = append(p.Params, nn.Param{Name: mp.Name, Value: mp.Data, Grad: g})
		byName[mp.Name] = g
	}
	for s := range stages {
		st := &stage{lo: s * L / stages, hi: (s + 1) * L / stages, first: s == 0, last: s == stages-1, grads: map[string][]float32{}}
		for _, pr := range p.Params {
			if st.owns(pr.Name) {
				st.grads[pr.Name] = byName[pr.Name]
			}
		}
		p.stages = append(p.stages, st)
	}
	return p, nil
}

// owns says whether the parameter named name belongs to the stage.
func (st *stage) owns(name string) bool {
	var i int
	var rest string
	if _, err := fmt.Sscanf(name, "layers.%d.%s", &i, &rest); err == nil {
		return i >= st.lo && i < st.hi
	}
	switch name {
	case "input.weight", "input.bias":
		return st.first
	}
	return st.last // post1, post2
}

// Step runs forward and backward on a batch (segs[s] holds Len+1 codes,
// cond[s] the condition indices, nil for an unconditioned model), leaves
// the gradient of the mean loss in p.Params[i].Grad and returns the mean
// loss in nats.
func (p *Pipeline) Step(ctx context.Context, segs [][]int32, cond [][]int) (float64, error) {
	if len(segs) != p.micro*p.seqs {
		return 0, fmt.Errorf("dist: pipeline: batch of %d sequences, want %d", len(segs), p.micro*p.seqs)
	}
	for i, seg := range segs {
		var c []int
		if cond != nil {
			c = cond[i]
		}
		if len(seg) != p.length+1 {
			return 0, fmt.Errorf("dist: pipeline: sequence %d has %d codes, want %d", i, len(seg), p.length+1)
		}
		if err := p.model.CheckInput(seg, c); err != nil {
			return 0, fmt.Errorf("dist: pipeline: sequence %d: %w", i, err)
		}
	}
	for _, pr := range p.Params {
		clear(pr.Grad)
	}
	if p.net != nil {
		return p.stepRank(ctx, segs, cond)
	}
	S, M := len(p.stages), p.micro
	fwd := make([]chan flow, S+1) // fwd[s] feeds stage s; fwd[S] collects the losses
	bwd := make([]chan flow, S+1) // bwd[s+1] feeds stage s its gradients
	for i := range fwd {
		fwd[i], bwd[i] = make(chan flow, M), make(chan flow, M)
	}
	for m := range M {
		fwd[0] <- flow{m: m}
	}
	var wg sync.WaitGroup
	for s, st := range p.stages {
		wg.Go(func() { p.run(ctx, st, segs, cond, fwd[s], fwd[s+1], bwd[s+1], bwd[s]) })
	}
	wg.Wait()
	var loss float64
	for range M {
		f := <-fwd[S]
		if f.err != nil {
			return 0, f.err
		}
		loss += f.loss
	}
	for range M {
		if f := <-bwd[0]; f.err != nil {
			return 0, f.err
		}
	}
	return loss / float64(M), nil
}

// run is stage st's goroutine: M forward passes, then M backward passes.
// An error travels on in place of the activations.
func (p *Pipeline) run(ctx context.Context, st *stage, segs [][]int32, cond [][]int, in, out, gin, gout chan flow) {
	M := p.micro
	st.acts = make([]*acts, M)
	for range M {
		f := <-in
		if f.err == nil {
			f.err = ctx.Err()
		}
		if f.err == nil {
			a := p.batchActs(f.m, segs, cond)
			st.acts[f.m] = a
			f.x, f.skip, f.loss = p.forward(st, a, f.x, f.skip)
		}
		out <- f
	}
	if st.last {
		for m := M - 1; m >= 0; m-- {
			gin <- flow{m: m}
		}
	}
	for range M {
		f := <-gin
		if f.err == nil && st.acts[f.m] == nil {
			f.err = fmt.Errorf("dist: pipeline: stage %d had no forward pass of micro-batch %d", st.lo, f.m)
		}
		if f.err == nil {
			f.x, f.skip = p.backward(st, st.acts[f.m], f.x, f.skip)
			st.acts[f.m] = nil
		}
		gout <- f
	}
}

// batchActs cuts micro-batch m's codes, targets and conditions.
func (p *Pipeline) batchActs(m int, segs [][]int32, cond [][]int) *acts {
	T, L := p.length, p.rows
	a := &acts{codes: make([]int32, p.seqs*T), targets: make([]int32, p.seqs*L)}
	for c := range p.model.Config.Conditions {
		a.cond = append(a.cond, make([]int32, p.seqs))
		for s := range p.seqs {
			a.cond[c][s] = int32(cond[m*p.seqs+s][c])
		}
	}
	for s := range p.seqs {
		seg := segs[m*p.seqs+s]
		copy(a.codes[s*T:], seg[:T])
		copy(a.targets[s*L:], seg[T+1-L:])
	}
	return a
}

// forward runs the stage on micro-batch a from the residual stream x and
// skip sum (nil at stage 0) and returns the ones it passes on and, at the
// last stage, the loss.
func (p *Pipeline) forward(st *stage, a *acts, x, skip []float32) ([]float32, []float32, float64) {
	m, cfg := p.model, p.model.Config
	n, T, L := p.seqs, p.length, p.rows
	R, D, Sk := cfg.ResidualChannels, cfg.DilationChannels, cfg.SkipChannels
	if st.first {
		x = make([]float32, n*T*R)
		nn.CodeConvForward(x, m.Input.W, m.Input.B, a.codes, n, cfg.FilterWidth, cfg.QuantizationChannels, R)
		skip = make([]float32, n*L*Sk)
	}
	skip = append([]float32(nil), skip...)
	skipSpec := nn.ConvSpec{K: 1, Dilation: 1, Seqs: n, From: T - L, Len: T}
	one := nn.ConvSpec{K: 1, Dilation: 1, Seqs: n, Len: T}
	st.tmp = grow(st.tmp, n*T*max(R, Sk))
	for i := st.lo; i < st.hi; i++ {
		l := m.Layers[i]
		h := make([]float32, n*T*2*D)
		nn.ConvForward(h, x, l.Gate.W, l.Gate.B, nn.ConvSpec{K: cfg.FilterWidth, Dilation: l.Dilation, Seqs: n, Len: T}, R, 2*D)
		for c := range cfg.Conditions {
			nn.CondBiasForward(h, h, l.Cond[c], a.cond[c], 2*D)
		}
		z := make([]float32, n*T*D)
		nn.GatedForward(z, h, D)
		a.x, a.h, a.z = append(a.x, x), append(a.h, h), append(a.z, z)
		sk := st.tmp[:n*L*Sk]
		nn.ConvForward(sk, z, l.Skip.W, l.Skip.B, skipSpec, D, Sk)
		add(skip, sk)
		if i < len(m.Layers)-1 { // the last residual output feeds nothing
			next := make([]float32, n*T*R)
			nn.ConvForward(next, z, l.Res.W, l.Res.B, one, D, R)
			add(next, x)
			x = next
		}
	}
	a.skip = skip
	if !st.last {
		return x, skip, 0
	}
	head := nn.ConvSpec{K: 1, Dilation: 1, Seqs: n, Len: L}
	a.a0 = relu(skip)
	p1 := make([]float32, n*L*m.Post1.Out)
	nn.ConvForward(p1, a.a0, m.Post1.W, m.Post1.B, head, Sk, m.Post1.Out)
	a.a1 = relu(p1)
	a.logits = make([]float32, n*L*cfg.QuantizationChannels)
	nn.ConvForward(a.logits, a.a1, m.Post2.W, m.Post2.B, head, m.Post1.Out, cfg.QuantizationChannels)
	loss, err := nn.SoftmaxCEForward(a.logits, a.targets, cfg.QuantizationChannels, n, 0)
	if err != nil {
		panic(err) // targets were checked by Step
	}
	return nil, nil, loss
}

// backward runs the stage's backward pass of micro-batch a from the
// gradients of the x and skip sum it passed on (nil at the last stage)
// and returns those of the ones it received.
func (p *Pipeline) backward(st *stage, a *acts, dx, dskip []float32) ([]float32, []float32) {
	m, cfg := p.model, p.model.Config
	n, T, L, M := p.seqs, p.length, p.rows, p.micro
	R, D, Sk, Q := cfg.ResidualChannels, cfg.DilationChannels, cfg.SkipChannels, cfg.QuantizationChannels
	if st.last {
		// The mean over the batch is the mean of the micro-batches' means.
		head := nn.ConvSpec{K: 1, Dilation: 1, Seqs: n, Len: L}
		dl := make([]float32, n*L*Q)
		nn.SoftmaxCEBackward(dl, a.logits, a.targets, Q, n, 0, 1/float32(M))
		da1 := st.denseBackward("post2", a.a1, dl, m.Post2.W, head, m.Post1.Out, Q)
		reluBackward(da1, a.a1)
		dskip = st.denseBackward("post1", a.a0, da1, m.Post1.W, head, Sk, m.Post1.Out)
		reluBackward(dskip, a.a0)
		dx = make([]float32, n*T*R)
	}
	skipSpec := nn.ConvSpec{K: 1, Dilation: 1, Seqs: n, From: T - L, Len: T}
	one := nn.ConvSpec{K: 1, Dilation: 1, Seqs: n, Len: T}
	for i := st.hi - 1; i >= st.lo; i-- {
		l, j := m.Layers[i], i-st.lo
		pre := fmt.Sprintf("layers.%d.", i)
		dz := st.denseBackward(pre+"skip", a.z[j], dskip, l.Skip.W, skipSpec, D, Sk)
		if i < len(m.Layers)-1 {
			add(dz, st.denseBackward(pre+"res", a.z[j], dx, l.Res.W, one, D, R))
		}
		dh := make([]float32, n*T*2*D)
		nn.GatedBackward(dh, a.h[j], dz, D)
		for c, cond := range cfg.Conditions {
			st.tmp = grow(st.tmp, len(l.Cond[c]))
			g := st.tmp
			nn.CondBiasBackward(g, dh, a.cond[c], 2*D)
			add(st.grads[pre+"cond."+cond.Name], g)
		}
		dxi := st.denseBackward(pre+"gate", a.x[j], dh, l.Gate.W, nn.ConvSpec{K: cfg.FilterWidth, Dilation: l.Dilation, Seqs: n, Len: T}, R, 2*D)
		add(dxi, dx) // the residual connection
		dx = dxi
	}
	if st.first {
		st.tmp = grow(st.tmp, len(m.Input.W))
		g := st.tmp
		nn.CodeConvBackward(g, dx, a.codes, n, cfg.FilterWidth, Q, R)
		add(st.grads["input.weight"], g)
		if b := st.grads["input.bias"]; b != nil {
			colSums(b, dx)
		}
	}
	return dx, dskip
}

// denseBackward adds the gradients of the convolution y = conv(x, w) + b
// named name for dy to the stage's and returns dx.
func (st *stage) denseBackward(name string, x, dy, w []float32, spec nn.ConvSpec, cin, cout int) []float32 {
	st.tmp = grow(st.tmp, len(w))
	nn.ConvBackwardWeight(st.tmp[:len(w)], x, dy, spec, cin, cout)
	add(st.grads[name+".weight"], st.tmp[:len(w)])
	if b := st.grads[name+".bias"]; b != nil {
		colSums(b, dy)
	}
	dx := make([]float32, len(x))
	nn.ConvBackwardInput(dx, dy, w, spec, cin, cout)
	return dx
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// add sets dst += src.
func add(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// colSums adds the column sums of the (len(dy)/len(db), len(db)) matrix dy
// to db.
func colSums(db, dy []float32) {
	c := len(db)
	for i := 0; i+c <= len(dy); i += c {
		add(db, dy[i:i+c])
	}
}

func relu(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = max(v, 0)
	}
	return y
}

// reluBackward zeroes dy where the ReLU's output y is 0.
func reluBackward(dy, y []float32) {
	for i, v := range y {
		if v <= 0 {
			dy[i] = 0
		}
	}
}

// NewPipelineRank is NewPipeline for stage net.Rank() of a pipeline whose
// stages are the ranks of net, one each: every rank is given the whole
// batch, runs its stage's passes and sends the activations of each
// micro-batch to the next rank and their gradients to the previous one
// (waiting at most timeout for each). After Step, only the gradients of
// the rank's own parameters are set (the others are zero), and the loss is
// known on the last rank only (0 elsewhere).
func NewPipelineRank(m *wavenet.Model, net Transport, micro, batch, length, lossRows int, timeout time.Duration) (*Pipeline, error) {
	p, err := NewPipeline(m, net.World(), micro, batch, length, lossRows)
	if err != nil {
		return nil, err
	}
	p.net, p.timeout = net, timeout
	return p, nil
}

// Owns says whether the parameter named name belongs to stage s.
func (p *Pipeline) Owns(s int, name string) bool { return p.stages[s].owns(name) }

// stepRank is Step for the one stage of this rank: the channels of run
// are bridged to the neighbouring ranks.
func (p *Pipeline) stepRank(ctx context.Context, segs [][]int32, cond [][]int) (float64, error) {
	r, S, M := p.net.Rank(), p.net.World(), p.micro
	st := p.stages[r]
	step := p.steps
	p.steps++
	fwdTag, bwdTag := "pf"+strconv.FormatInt(step, 10), "pb"+strconv.FormatInt(step, 10)
	in, out, gin, gout := make(chan flow, M), make(chan flow, M), make(chan flow, M), make(chan flow, M)
	var wg sync.WaitGroup
	// recvInto feeds M flows from rank from into c; sendFrom sends the M
	// flows of c to rank to, or keeps them in keep.
	recvInto := func(c chan flow, from int, tag string) {
		for range M {
			c <- p.recvFlow(ctx, from, tag)
		}
	}
	var losses, firsts []flow
	var mu sync.Mutex
	var sendErr error
	sendFrom := func(c chan flow, to int, tag string, keep *[]flow) {
		for range M {
			f := <-c
			switch {
			case keep != nil:
				*keep = append(*keep, f)
			case f.err != nil: // the neighbour times out
				mu.Lock()
				sendErr = cmp.Or(sendErr, f.err)
				mu.Unlock()
			default:
				if err := p.net.Send(ctx, to, tag, encodeFlow(f)); err != nil {
					mu.Lock()
					sendErr = cmp.Or(sendErr, err)
					mu.Unlock()
				}
			}
		}
	}
	if r == 0 {
		for m := range M {
			in <- flow{m: m}
		}
	} else {
		wg.Go(func() { recvInto(in, r-1, fwdTag) })
	}
	if r == S-1 {
		wg.Go(func() { sendFrom(out, 0, "", &losses) })
	} else {
		wg.Go(func() { sendFrom(out, r+1, fwdTag, nil) })
		wg.Go(func() { recvInto(gin, r+1, bwdTag) })
	}
	if r == 0 {
		wg.Go(func() { sendFrom(gout, 0, "", &firsts) })
	} else {
		wg.Go(func() { sendFrom(gout, r-1, bwdTag, nil) })
	}
	p.run(ctx, st, segs, cond, in, out, gin, gout)
	wg.Wait()
	if sendErr != nil {
		return 0, sendErr
	}
	var loss float64
	for _, f := range slices.Concat(losses, firsts) {
		if f.err != nil {
			return 0, f.err
		}
		loss += f.loss
	}
	return loss / float64(M), nil
}

// recvFlow waits at most p.timeout for the next flow from rank from.
func (p *Pipeline) recvFlow(ctx context.Context, from int, tag string) flow {
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	msg, _, err := p.net.Recv(rctx, from, tag)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("dist: pipeline stage %d: nothing from stage %d in %v: %w", p.net.Rank(), from, p.timeout, ErrTimeout)
		}
		return flow{err: err}
	}
	f, err := decodeFlow(msg)
	if err != nil {
		return flow{err: err}
	}
	cfg := p.model.Config
	if nx, ns := p.seqs*p.length*cfg.ResidualChannels, p.seqs*p.rows*cfg.SkipChannels; f.m < 0 || f.m >= p.micro || len(f.x) != nx || len(f.skip) != ns {
		return flow{err: fmt.Errorf("dist: pipeline: micro-batch %d of %d with %d and %d values, want %d and %d", f.m, p.micro, len(f.x), len(f.skip), nx, ns)}
	}
	return f
}

// encodeFlow is a micro-batch's x and skip (or their gradients) as
// safetensors.
func encodeFlow(f flow) []byte {
	return writeTensors([]safetensors.Tensor{
		safetensors.FromFloat32("x", []int{len(f.x)}, f.x, safetensors.F32),
		safetensors.FromFloat32("skip", []int{len(f.skip)}, f.skip, safetensors.F32),
	}, map[string]string{"micro": strconv.Itoa(f.m)})
}

func decodeFlow(msg []byte) (flow, error) {
	file, err := safetensors.Decode(msg)
	if err != nil {
		return flow{}, fmt.Errorf("dist: pipeline: %w", err)
	}
	var f flow
	if f.m, err = strconv.Atoi(file.Metadata["micro"]); err != nil {
		return flow{}, fmt.Errorf("dist: pipeline: bad micro-batch %q", file.Metadata["micro"])
	}
	for _, name := range []string{"x", "skip"} {
		t, ok := file.Tensor(name)
		if !ok {
			return flow{}, fmt.Errorf("dist: pipeline: no tensor %s", name)
		}
		v := make([]float32, t.NumElements())
		if err := decodeFloats(v, t); err != nil {
			return flow{}, err
		}
		if name == "x" {
			f.x = v
		} else {
			f.skip = v
		}
	}
	return f, nil
}
