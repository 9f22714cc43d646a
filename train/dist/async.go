package dist

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/safetensors"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// StalenessFile is written into the run directory by the parameter
// server: the staleness distribution of the updates of this session.
const StalenessFile = "staleness.json"

// Tags of the parameter server protocol.
const (
	tagToServer = "ps" // a join ('J', see Open), a pull ('P') or a push ('G' + version + gradient)
	tagWeights  = "w"  // the server's answer to a pull: weights, version, batch; or stop
)

// Staleness is the distribution of the staleness of an asynchronous
// run's updates: Counts[s] updates were computed on weights s versions
// older than those they were applied to; Dropped were staler than the
// bound.
type Staleness struct {
	Counts  []int64 `json:"counts"`
	Dropped int64   `json:"dropped"`
}

// Async is one rank of an asynchronous run (Downpour SGD, Dean et al.
// 2012): every rank runs a worker that pulls the weights and a batch of
// Batch/World sequences from the parameter server, computes their
// gradient and pushes it without waiting; rank 0 also runs the server,
// which holds the weights, Adam and the data order, and applies each
// gradient as it comes (one update, one step). A gradient more than
// MaxStaleness updates older than the server's weights is dropped: its
// worker does not wait, it pulls fresh weights and goes on. The server
// goes on without workers that stop answering; it stops, with a
// checkpoint, when no worker has sent anything for Options.Timeout.
type Async struct {
	srv   *run // rank 0: the server's state
	dopts Options
	net   Transport
	opts  train.Options
	share int

	// the worker's replica
	model *wavenet.Model
	par   *train.Parallel
	comp  *Compressor
	vec   []float32

	start []byte // rank 0: the starting checkpoint for workers that join (Open)

	mu        sync.Mutex
	staleness Staleness
}

// NewAsync makes rank net.Rank() of an asynchronous run that writes to
// dir (rank 0) from the checkpoint directory ckpt (package train's; every
// rank reads its config, rank 0 its whole state). Only rank 0 needs the
// corpus (trainUtts, val): the server sends the workers their batches.
// opts are a train.Trainer's Options.
func NewAsync(ctx context.Context, net Transport, dir, ckpt string, trainUtts, val []*corpus.Utterance, opts train.Options, dopts Options) (*Async, error) {
	dopts.defaults()
	a := &Async{dopts: dopts, net: net}
	var err error
	if net.Rank() == 0 {
		if a.srv, err = newRun(ctx, net, dir, ckpt, trainUtts, val, opts); err != nil {
			return nil, err
		}
		a.opts, a.model = a.srv.opts, a.srv.Model.Clone()
	} else {
		c, err := wavenet.LoadCheckpoint(ctx, ckpt)
		if err != nil {
			return nil, err
		}
		var st train.State
		if err := json.Unmarshal(c.Extra[train.StateFile], &st); err != nil {
			return nil, fmt.Errorf("dist: checkpoint %s: %s: %w", ckpt, train.StateFile, err)
		}
		a.opts, a.model = opts, c.Model
		a.opts.Batch, a.opts.Segment = st.Batch, st.Segment
	}
	if a.opts.Batch%net.World() != 0 {
		return nil, fmt.Errorf("dist: batch %d does not split over %d ranks", a.opts.Batch, net.World())
	}
	a.share = a.opts.Batch / net.World()
	length := a.model.Config.ReceptiveField() - 1 + a.opts.Segment
	if a.par, err = train.NewParallel(a.model, fitWorkers(a.opts.Workers, a.share, a.opts.Segment), a.share, length, a.opts.Segment); err != nil {
		return nil, err
	}
	n := 1
	for _, p := range a.par.Params {
		n += len(p.Value)
	}
	a.vec = make([]float32, n)
	a.comp = NewCompressor(dopts.Codec, n)
	return a, nil
}

// Step is the server's number of updates (rank 0).
func (a *Async) Step() int64 {
	if a.srv == nil {
		return 0
	}
	return a.srv.step
}

// Model is the server's model on rank 0, the worker's replica elsewhere.
func (a *Async) Model() *wavenet.Model {
	if a.srv != nil {
		return a.srv.Model
	}
	return a.model
}

// Staleness is the server's staleness distribution so far (rank 0).
func (a *Async) Staleness() Staleness {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Staleness{Counts: append([]int64(nil), a.staleness.Counts...), Dropped: a.staleness.Dropped}
}

// Close releases the worker's replicas.
func (a *Async) Close() error { return a.par.Close() }

// Run runs this rank's worker, and on rank 0 the server, until the server
// has done opts.Steps (or opts.Until) updates. On rank 0 a cancelled ctx
// or the loss of every worker saves a checkpoint of the last update.
func (a *Async) Run(ctx context.Context) error {
	if a.srv == nil {
		return a.work(ctx)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	var werr error
	var wg sync.WaitGroup
	wg.Go(func() { werr = a.work(wctx) })
	err := a.serve(ctx)
	stopWorker()
	wg.Wait()
	if err == nil && werr != nil && !errors.Is(werr, context.Canceled) {
		err = werr
	}
	return err
}

// work is the worker loop: pull, compute, push.
func (a *Async) work(ctx context.Context) error {
	w := a.model.Params()
	local := a.model.Config.Local != nil
	for {
		if err := a.net.Send(ctx, 0, tagToServer, []byte{'P'}); err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, a.dopts.Timeout)
		msg, _, err := a.net.Recv(rctx, 0, tagWeights)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("dist: rank %d: no answer from the parameter server in %v: %w", a.net.Rank(), a.dopts.Timeout, ErrTimeout)
			}
			return err
		}
		version, b, err := decodePull(msg, w, a.share, local)
		if err != nil {
			return err
		}
		if b == nil {
			return nil // the server is done
		}
		loss, err := a.par.StepLocal(ctx, b.segs, b.conds, b.mels, b.offs)
		if err != nil {
			return err
		}
		off := 0
		for _, p := range a.par.Params {
			off += copy(a.vec[off:], p.Grad)
		}
		a.vec[off] = float32(loss)
		push := binary.LittleEndian.AppendUint64([]byte{'G'}, uint64(version))
		if err := a.net.Send(ctx, 0, tagToServer, append(push, a.comp.Encode(a.vec, 0)...)); err != nil {
			return err
		}
	}
}

// serve is the parameter server loop on rank 0.
func (a *Async) serve(ctx context.Context) error {
	s := a.srv
	o := &s.opts
	start, startSamples := time.Now(), s.samples
	saved := s.step
	var lg logger
	b := newBatch(a.share, s.Model.Config.Local != nil)
	vec := make([]float32, len(a.vec))
	var err error
	for s.step < o.End() {
		rctx, cancel := context.WithTimeout(ctx, a.dopts.Timeout)
		var msg []byte
		var from int
		msg, from, err = a.net.Recv(rctx, -1, tagToServer)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("dist: parameter server: no worker sent anything in %v: %w", a.dopts.Timeout, ErrTimeout)
			}
			break
		}
		switch {
		case len(msg) == 1 && msg[0] == 'J' && a.start != nil:
			if err = a.net.Send(ctx, from, tagStart, a.start); err != nil {
				return err
			}
			continue
		case len(msg) == 1 && msg[0] == 'P':
			s.draw(b)
			if err = a.net.Send(ctx, from, tagWeights, encodePull(s.step, s.params, b)); err != nil {
				return err
			}
			continue
		case len(msg) > 9 && msg[0] == 'G':
		default:
			continue // not ours
		}
		version := int64(binary.LittleEndian.Uint64(msg[1:9]))
		stale := s.step - version
		if stale < 0 || a.dopts.MaxStaleness > 0 && stale > int64(a.dopts.MaxStaleness) {
			a.mu.Lock()
			a.staleness.Dropped++
			a.mu.Unlock()
			continue
		}
		if _, err = Decode(vec, msg[9:]); err != nil {
			return err
		}
		off := 0
		for _, p := range s.params {
			off += copy(p.Grad, vec[off:])
		}
		loss := float64(vec[off])
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("dist: update %d: loss is %v (diverged; lower --lr)", s.step+1, loss)
		}
		a.mu.Lock()
		for int64(len(a.staleness.Counts)) <= stale {
			a.staleness.Counts = append(a.staleness.Counts, 0)
		}
		a.staleness.Counts[stale]++
		a.mu.Unlock()
		var norm, lr float64
		if norm, lr, err = s.apply(int64(a.share * o.Segment)); err != nil {
			return err
		}
		rate := float64(s.samples-startSamples) / time.Since(start).Seconds()
		if err = s.after(ctx, &lg, loss, norm, lr, rate); err != nil {
			return err
		}
		if s.step%o.CheckpointEvery == 0 || s.step == o.End() {
			saved = s.step
			a.writeStaleness()
		}
	}
	// Tell every worker to stop (a worker busy now reads it after its push).
	for to := range a.net.World() {
		a.net.Send(context.WithoutCancel(ctx), to, tagWeights, encodeStop())
	}
	if err != nil && saved != s.step {
		if serr := s.save(context.WithoutCancel(ctx), nil); serr != nil {
			err = errors.Join(err, serr)
		}
		a.writeStaleness()
	}
	return err
}

func (a *Async) writeStaleness() {
	b, err := json.Marshal(a.Staleness())
	if err == nil {
		err = os.WriteFile(filepath.Join(a.srv.dir, StalenessFile), append(b, '\n'), 0o644)
	}
	if err != nil && a.opts.Logf != nil {
		a.opts.Logf("dist: %s: %v", StalenessFile, err)
	}
}

// encodePull is the server's answer to a pull: the weights (F32 tensors
// by parameter name), the batch (segs (S, L+1) I32, conds (S, C) I32,
// mels (S, frames*mels) F32 and offs (S) I32 with local conditioning)
// and the version in the metadata.
func encodePull(version int64, params []nn.Param, b *batch) []byte {
	var ts []safetensors.Tensor
	for _, p := range params {
		ts = append(ts, safetensors.FromFloat32("w."+p.Name, []int{len(p.Value)}, p.Value, safetensors.F32))
	}
	S := len(b.segs)
	ts = append(ts, int32Tensor("segs", []int{S, len(b.segs[0])}, flat(b.segs)))
	if nc := len(b.conds[0]); nc > 0 {
		conds := make([][]int32, S)
		for i, c := range b.conds {
			for _, v := range c {
				conds[i] = append(conds[i], int32(v))
			}
		}
		ts = append(ts, int32Tensor("conds", []int{S, nc}, flat(conds)))
	}
	if b.mels != nil {
		var mels []float32
		offs := make([]int32, S)
		for i, m := range b.mels {
			mels = append(mels, m...)
			offs[i] = int32(b.offs[i])
		}
		ts = append(ts, safetensors.FromFloat32("mels", []int{S, len(b.mels[0])}, mels, safetensors.F32), int32Tensor("offs", []int{S}, offs))
	}
	return writeTensors(ts, map[string]string{"version": strconv.FormatInt(version, 10)})
}

func encodeStop() []byte { return writeTensors(nil, map[string]string{"stop": "1"}) }

func flat(v [][]int32) []int32 {
	var out []int32
	for _, r := range v {
		out = append(out, r...)
	}
	return out
}

// decodePull sets the weights w from a pull's answer and returns its
// version and batch of S sequences (nil: stop).
func decodePull(msg []byte, w []wavenet.Param, S int, local bool) (int64, *batch, error) {
	f, err := safetensors.Decode(msg)
	if err != nil {
		return 0, nil, fmt.Errorf("dist: weights: %w", err)
	}
	if f.Metadata["stop"] == "1" {
		return 0, nil, nil
	}
	version, err := strconv.ParseInt(f.Metadata["version"], 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("dist: weights: bad version %q", f.Metadata["version"])
	}
	for _, p := range w {
		t, ok := f.Tensor("w." + p.Name)
		if !ok {
			return 0, nil, fmt.Errorf("dist: weights: no tensor %s", p.Name)
		}
		if err := decodeFloats(p.Data, t); err != nil {
			return 0, nil, err
		}
	}
	b := newBatch(S, local)
	t, ok := f.Tensor("segs")
	if !ok || len(t.Shape) != 2 || t.Shape[0] != S {
		return 0, nil, fmt.Errorf("dist: weights: want segs of %d sequences", S)
	}
	segs, err := int32s(t)
	if err != nil {
		return 0, nil, err
	}
	L := t.Shape[1]
	for i := range b.segs {
		b.segs[i] = segs[i*L : (i+1)*L]
	}
	if t, ok := f.Tensor("conds"); ok {
		conds, err := int32s(t)
		if err != nil || len(t.Shape) != 2 || t.Shape[0] != S {
			return 0, nil, fmt.Errorf("dist: weights: bad conds")
		}
		nc := t.Shape[1]
		for i := range b.conds {
			for _, v := range conds[i*nc : (i+1)*nc] {
				b.conds[i] = append(b.conds[i], int(v))
			}
		}
	}
	if local {
		mt, ok1 := f.Tensor("mels")
		ot, ok2 := f.Tensor("offs")
		if !ok1 || !ok2 || len(mt.Shape) != 2 || mt.Shape[0] != S {
			return 0, nil, fmt.Errorf("dist: weights: want mels and offs of %d sequences", S)
		}
		mels, err := mt.Float32s()
		if err != nil {
			return 0, nil, fmt.Errorf("dist: weights: %w", err)
		}
		offs, err := int32s(ot)
		if err != nil || len(offs) != S {
			return 0, nil, fmt.Errorf("dist: weights: bad offs")
		}
		n := mt.Shape[1]
		for i := range b.mels {
			b.mels[i], b.offs[i] = mels[i*n:(i+1)*n], int(offs[i])
		}
	}
	return version, b, nil
}
