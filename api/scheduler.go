package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wavenet-go/wavenet/speech"
)

// stepper is what the scheduler needs from a batched generator
// (cache.Generator, adapted in generator.go; a fake in the tests).
type stepper interface {
	// join starts a stream in a free slot; its history is zero.
	join(o streamOptions) (slot int, err error)
	// leave frees a slot.
	leave(slot int)
	// score is the slot's cache.Generator.GuideScore (0 without a guide).
	score(slot int) float64
	// free is the number of free slots (a guided stream takes two).
	free() int
	// prime fills a freshly joined slot's history with codes (see
	// cache.Generator.Prime), as if they had been generated.
	prime(slot int, codes []int32) error
	// step advances every active stream by one sample and returns the codes
	// indexed by slot (len >= number of slots); dst is reused when big enough.
	step(dst []int32) []int32
}

// streamOptions are one stream's generation settings.
type streamOptions struct {
	Cond        []int
	Temperature float32
	TopK        int
	Seed        uint64
	Greedy      bool
	// Guidance and GuideCond are cache.StreamOptions'; a guided stream
	// takes two generator slots.
	Guidance  float32
	GuideCond []int
}

// segment is a run of generated samples under one conditioning, followed
// by pauseAfter samples of silence; or, when word is set, one word of a
// text request (see word).
type segment struct {
	opts       streamOptions
	n          int
	pauseAfter int
	// word makes the segment a spoken word whose length the model decides:
	// the stream runs until word's end detector says the word is over (or
	// for at most word.capN samples, if set), is retried with another seed
	// when the attempt is poor, and the trimmed codes of the best attempt
	// are sent as one chunk (possibly empty). n is then only an upper
	// bound on the samples of one attempt, and pauseAfter is ignored: the
	// request joins the words (speech.Concat).
	word *wordSpec
}

// wordSpec is how one word of a text request is generated, the way
// speech.Generate does it (see textWord in synth.go).
type wordSpec struct {
	q, rate  int             // quantization levels and sample rate
	dur      speech.Duration // the word's length statistics
	opt      speech.Options  // end detection
	attempts int             // attempts at most (1 when greedy), after the candidates
	cands    int             // attempts made in any case, the best kept (speech.GenOptions.Candidates)
	capN     int             // label_seconds override: samples per attempt at most (0: none)
	// prime is the history each attempt starts from (speech.PrimeCodes:
	// silence), except a retry after an attempt without onset, which
	// starts from zero history, as speech.Generate does.
	prime []int32
}

// attemptRun is one running attempt at a word: its stream and end detector.
type attemptRun struct {
	index int // attempt number (0-based): the seed is retrySeed(seed, index)
	slot  int
	utt   *speech.Utterance
}

// attemptResult is a finished attempt, waiting to be taken in attempt order.
type attemptResult struct {
	q       int     // wordQuality
	score   float64 // the stream's GuideScore
	codes   []int32 // the trimmed codes
	noOnset bool
}

// wordState is the scheduler's state of the word a job is generating.
// Several attempts may run side by side (the candidates, as far as free
// slots allow); finished ones are taken in attempt order, the order
// speech.Generate takes them in, so the kept attempt and the retries do not
// depend on how many ran at once.
type wordState struct {
	runs      []attemptRun
	next      int // the attempt to start next
	launched  int // attempts to make: the candidates, plus retries so far
	done      map[int]attemptResult
	taken     int    // attempts taken
	retryZero []bool // whether retry k starts from zero history
	best      []int32
	bestQ     int
	bestScore float64
}

// maxParallelAttempts bounds the attempts of one word that run at once.
const maxParallelAttempts = 5

// job is one request's generation, owned by the scheduler goroutine once
// submitted. The request reads chunks of codes from out until it is closed,
// then reads err.
type job struct {
	segs    []segment
	silence int32 // the code of pause samples
	out     chan []int32
	err     error // set before out is closed
	stop    atomic.Bool

	// scheduler-owned
	seg   int
	left  int
	slot  int
	chunk []int32
	word  wordState
}

func (j *job) total() int {
	n := 0
	for _, s := range j.segs {
		n += s.n + s.pauseAfter
	}
	return n
}

// scheduler runs one model's continuous batching. Each of its shards is
// one goroutine owning one generator (one shard per core that may be
// used); jobs join a shard's batch and leave it between steps. Admission
// is bounded: at most slots jobs generate (over all shards) and at most
// queue more wait, so memory and latency stay bounded; the rest get
// ErrBusy at once.
type scheduler struct {
	model     string
	chunkSize int
	queueWait time.Duration
	metrics   *metrics
	log       *slog.Logger

	admit   chan struct{} // tokens: generating + waiting requests
	slots   chan struct{} // tokens: generating requests (= generator slots)
	shards  []*shard
	quit    chan struct{}
	waiting atomic.Int64
	active  atomic.Int64
	// mu orders hand-overs against close: submit sends to a shard under
	// the read lock after checking closed, so every job sent is in a
	// shard's joinCh before quit closes, and the shard fails it.
	mu     sync.RWMutex
	closed bool
}

// shard is one generator and the goroutine that steps it.
type shard struct {
	sc      *scheduler
	gen     stepper
	perJob  int // slots one job's stream takes: 2 if it may be guided
	joinCh  chan *job
	stopped chan struct{}
	active  atomic.Int64
}

// newScheduler starts a scheduler with slots generation slots shared by
// len(gens) shards; every generator must have slots slots, at least twice
// as many if streams may be guided (a guided stream takes two): the slots
// beyond two per job run a word's candidate attempts side by side.
func newScheduler(model string, gens []stepper, slots, queue, chunkSize int, queueWait time.Duration, m *metrics, log *slog.Logger) *scheduler {
	sc := &scheduler{
		model: model, chunkSize: chunkSize, queueWait: queueWait, metrics: m, log: log,
		admit: make(chan struct{}, slots+queue),
		slots: make(chan struct{}, slots),
		quit:  make(chan struct{}),
	}
	m.active.WithLabelValues(model).Set(0)
	m.queued.WithLabelValues(model).Set(0)
	for _, g := range gens {
		sh := &shard{sc: sc, gen: g, joinCh: make(chan *job, slots), stopped: make(chan struct{}), perJob: 1}
		if g.free() >= 2*slots {
			sh.perJob = 2
		}
		sc.shards = append(sc.shards, sh)
		go sh.run()
	}
	return sc
}

// pick returns the shard with the fewest active streams.
func (sc *scheduler) pick() *shard {
	best := sc.shards[0]
	for _, sh := range sc.shards[1:] {
		if sh.active.Load() < best.active.Load() {
			best = sh
		}
	}
	return best
}

// submit admits j: it takes an admission token at once or fails with
// ErrBusy, waits for a generator slot (at most queueWait), then hands j to
// the scheduler. On success the caller must call release when it is done
// with the job (after out is closed or after it stopped reading).
func (sc *scheduler) submit(ctx context.Context, j *job) error {
	select {
	case <-sc.quit:
		return ErrShutdown
	default:
	}
	select {
	case sc.admit <- struct{}{}:
	default:
		sc.metrics.rejected.WithLabelValues(sc.model).Inc()
		return ErrBusy
	}
	sc.waiting.Add(1)
	sc.metrics.queued.WithLabelValues(sc.model).Inc()
	t := time.NewTimer(sc.queueWait)
	defer t.Stop()
	var err error
	select {
	case sc.slots <- struct{}{}:
	case <-t.C:
		err = ErrBusy
		sc.metrics.rejected.WithLabelValues(sc.model).Inc()
	case <-ctx.Done():
		err = ctx.Err()
	case <-sc.quit:
		err = ErrShutdown
	}
	sc.waiting.Add(-1)
	sc.metrics.queued.WithLabelValues(sc.model).Dec()
	if err != nil {
		<-sc.admit
		return err
	}
	n := j.total()
	j.out = make(chan []int32, n/sc.chunkSize+len(j.segs)+2) // never blocks the scheduler
	context.AfterFunc(ctx, func() { j.stop.Store(true) })
	sc.mu.RLock()
	defer sc.mu.RUnlock()
	if sc.closed {
		<-sc.slots
		<-sc.admit
		return ErrShutdown
	}
	sh := sc.pick()
	sh.active.Add(1)
	sh.joinCh <- j // never blocks: at most slots jobs hold a slot token
	return nil
}

// release returns the admission token of a job that submit accepted.
func (sc *scheduler) release() { <-sc.admit }

// inFlight is the number of admitted requests (generating or waiting).
func (sc *scheduler) inFlight() int { return len(sc.admit) }

// close stops the scheduler; jobs still running end with ErrShutdown.
func (sc *scheduler) close() {
	sc.mu.Lock()
	if !sc.closed {
		sc.closed = true
		close(sc.quit)
	}
	sc.mu.Unlock()
	for _, sh := range sc.shards {
		<-sh.stopped
	}
}

func (sh *shard) run() {
	sc := sh.sc
	defer close(sh.stopped)
	var active []*job
	var codes []int32
	finish := func(j *job, err error) {
		if j.slot >= 0 {
			sh.gen.leave(j.slot)
			j.slot = -1
		}
		for _, r := range j.word.runs {
			sh.gen.leave(r.slot)
		}
		j.word.runs = nil
		if len(j.chunk) > 0 && err == nil {
			j.out <- j.chunk
		}
		j.chunk = nil
		j.err = err
		// Account before closing out, so that a request that has seen
		// its end also sees its slot free and the gauges updated.
		sh.active.Add(-1)
		sc.active.Add(-1)
		sc.metrics.active.WithLabelValues(sc.model).Dec()
		<-sc.slots
		close(j.out)
	}
	// startSeg joins the generator for j's current segment; it reports
	// false when the job ended.
	startSeg := func(j *job) bool {
		seg := &j.segs[j.seg]
		if w := seg.word; w != nil {
			j.slot = -1
			j.word = wordState{launched: max(1, w.cands)}
			if err := sh.startAttempt(j, w); err != nil {
				finish(j, err)
				return false
			}
			return true
		}
		slot, err := sh.gen.join(seg.opts)
		if err != nil {
			j.slot = -1
			finish(j, err)
			return false
		}
		j.slot, j.left = slot, seg.n
		return true
	}
	start := func(j *job) {
		sc.active.Add(1)
		sc.metrics.active.WithLabelValues(sc.model).Inc()
		j.seg, j.slot = 0, -1
		j.word = wordState{}
		j.chunk = make([]int32, 0, sc.chunkSize)
		if startSeg(j) {
			active = append(active, j)
		}
	}
	samples := sc.metrics.samples.WithLabelValues(sc.model)
	batch := sc.metrics.stepBatch.WithLabelValues(sc.model)
	for {
		if len(active) == 0 {
			select {
			case j := <-sh.joinCh:
				start(j)
			case <-sc.quit:
				sh.failPending(finish)
				return
			}
		}
	drain:
		for {
			select {
			case j := <-sh.joinCh:
				start(j)
			case <-sc.quit:
				for _, j := range active {
					finish(j, ErrShutdown)
				}
				sh.failPending(finish)
				return
			default:
				break drain
			}
		}
		// Leave cancelled jobs between steps.
		kept := active[:0]
		for _, j := range active {
			if j.stop.Load() {
				finish(j, context.Canceled)
				continue
			}
			kept = append(kept, j)
		}
		clear(active[len(kept):])
		active = kept
		if len(active) == 0 {
			continue
		}
		var perr error
		codes, perr = sh.safeStep(codes)
		if perr != nil {
			// A generator bug: fail the batch, keep serving. Every stream
			// leaves, and Join resets a slot's state, so the next batch
			// starts clean.
			for _, j := range active {
				finish(j, perr)
			}
			clear(active)
			active = active[:0]
			continue
		}
		streams := 0
		for _, j := range active {
			streams += max(1, len(j.word.runs))
		}
		batch.Observe(float64(streams))
		samples.Add(float64(streams))
		kept = active[:0]
		for _, j := range active {
			if w := j.segs[j.seg].word; w != nil {
				if alive := sh.stepWord(j, w, codes, finish, startSeg); alive {
					kept = append(kept, j)
				}
				continue
			}
			j.chunk = append(j.chunk, codes[j.slot])
			j.left--
			alive := true
			if j.left == 0 {
				sh.gen.leave(j.slot)
				j.slot = -1
				for range j.segs[j.seg].pauseAfter {
					j.chunk = append(j.chunk, j.silence)
				}
				j.seg++
				if j.seg == len(j.segs) {
					finish(j, nil)
					alive = false
				} else {
					alive = startSeg(j)
				}
			}
			if alive && len(j.chunk) >= sc.chunkSize {
				j.out <- j.chunk
				j.chunk = make([]int32, 0, sc.chunkSize)
			}
			if alive {
				kept = append(kept, j)
			}
		}
		clear(active[len(kept):])
		active = kept
		sh.startExtraAttempts(active, sh.perJob)
	}
}

// stepWord feeds the step's codes to the attempts of the word j is
// generating. An attempt that ended (the detector's end, or the
// label_seconds cap) leaves; finished attempts are taken in attempt order,
// the best so far kept and a retry added after a poor one; once every
// attempt is taken the best is sent and the job moves on to its next
// segment. If no attempt is running but some are to come, the next one
// starts (the slots it needs were just freed). It reports whether j is
// still active.
func (sh *shard) stepWord(j *job, w *wordSpec, codes []int32, finish func(*job, error), startSeg func(*job) bool) bool {
	st := &j.word
	runs := st.runs
	st.runs = st.runs[:0] // filtered in place
	for _, r := range runs {
		done := r.utt.Push(codes[r.slot])
		if !done && !(w.capN > 0 && r.utt.Len() >= w.capN) {
			st.runs = append(st.runs, r)
			continue
		}
		score := sh.gen.score(r.slot)
		sh.gen.leave(r.slot)
		s, e := r.utt.Trimmed()
		if st.done == nil {
			st.done = map[int]attemptResult{}
		}
		st.done[r.index] = attemptResult{q: wordQuality(r.utt.Reason(), e-s, w.dur, w.rate), score: score,
			codes: slices.Clone(r.utt.Codes()[s:e]), noOnset: r.utt.Reason() == speech.NoOnset}
	}
	clear(runs[len(st.runs):])
	cands := max(1, w.cands)
	for {
		res, ok := st.done[st.taken]
		if !ok {
			break
		}
		delete(st.done, st.taken)
		if st.taken == 0 || res.q > st.bestQ || (cands > 1 && res.q == st.bestQ && res.score > st.bestScore) {
			st.best, st.bestQ, st.bestScore = res.codes, res.q, res.score
		}
		st.taken++
		if res.q < 3 && st.launched < cands+w.attempts-1 {
			st.launched++
			st.retryZero = append(st.retryZero, res.noOnset)
		}
	}
	if st.taken == st.launched {
		j.out <- st.best
		j.word = wordState{}
		j.seg++
		if j.seg == len(j.segs) {
			finish(j, nil)
			return false
		}
		return startSeg(j)
	}
	if len(st.runs) == 0 && st.next < st.launched {
		if err := sh.startAttempt(j, w); err != nil {
			finish(j, err)
			return false
		}
	}
	return true
}

// startAttempt joins (and primes) the next attempt at j's current word.
func (sh *shard) startAttempt(j *job, w *wordSpec) error {
	st := &j.word
	k := st.next
	o := j.segs[j.seg].opts
	o.Seed = retrySeed(o.Seed, k)
	slot, err := sh.gen.join(o)
	if err != nil {
		return err
	}
	zero := false
	if r := k - max(1, w.cands); r >= 0 {
		zero = st.retryZero[r]
	}
	if !zero && len(w.prime) > 0 {
		if err := sh.gen.prime(slot, w.prime); err != nil {
			sh.gen.leave(slot)
			return err
		}
	}
	st.runs = append(st.runs, attemptRun{index: k, slot: slot, utt: speech.NewUtterance(w.q, w.rate, w.dur, w.opt)})
	st.next++
	return nil
}

// startExtraAttempts starts more attempts of the words of active jobs, up
// to maxParallelAttempts each, while the generator has free slots beyond
// those kept for the jobs that may still arrive (perJob slots each).
func (sh *shard) startExtraAttempts(active []*job, perJob int) {
	reserve := perJob * (cap(sh.sc.slots) - len(active))
	for _, j := range active {
		w := j.segs[j.seg].word
		if w == nil {
			continue
		}
		st := &j.word
		for len(st.runs) < maxParallelAttempts && st.next < st.launched && sh.gen.free() >= reserve+perJob {
			if sh.startAttempt(j, w) != nil {
				break // tried again when it is the only attempt left to run
			}
		}
	}
}

// retrySeed is the seed of attempt a (0-based) of a word seeded s: the
// same as speech.Generate's, so that the service says what `wavenet say`
// says (TestSynthesizeTextMatchesSay checks it).
func retrySeed(s uint64, a int) uint64 { return s + uint64(a)*0x9E3779B97F4A7C15 }

// wordQuality ranks attempts as speech.Generate does: an end found (silence
// or dip) after at least a quarter of the median length is best (3), then
// one stopped at the cap with something kept (2; the label_seconds cap
// counts as a cap), then any audio (1), then nothing (0).
func wordQuality(r speech.EndReason, kept int, d speech.Duration, rate int) int {
	switch {
	case (r == speech.Silence || r == speech.Dip) && float64(kept) >= 0.25*d.Median*float64(rate):
		return 3
	case (r == speech.Cap || r == speech.Running) && kept > 0:
		return 2
	case kept > 0:
		return 1
	}
	return 0
}

// failPending ends the jobs handed over but not started, once quit is
// closed (no more can arrive: see scheduler.mu).
func (sh *shard) failPending(finish func(*job, error)) {
	for {
		select {
		case j := <-sh.joinCh:
			sh.sc.active.Add(1)
			sh.sc.metrics.active.WithLabelValues(sh.sc.model).Inc()
			j.slot = -1
			finish(j, ErrShutdown)
		default:
			return
		}
	}
}

// errGenerator is the error of jobs whose generator step panicked.
var errGenerator = errors.New("api: generator failed (a bug: see the server log)")

// safeStep runs one generator step, turning a panic into an error (logged
// with its stack) so that one bug does not take the whole service down.
func (sh *shard) safeStep(dst []int32) (out []int32, err error) {
	defer func() {
		if r := recover(); r != nil {
			sh.sc.log.Error("generator step panicked", "model", sh.sc.model, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			out, err = dst, errGenerator
		}
	}()
	return sh.gen.step(dst), nil
}
