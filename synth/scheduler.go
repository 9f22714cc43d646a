package synth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

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
	// pushLocal appends mel frames ((F, C) row-major) to a vocoding
	// stream's conditioning (cache.Generator.PushLocal).
	pushLocal(slot int, frames []float32) error
	// buffered is the number of steps slot's conditioning allows
	// (cache.Generator.Buffered; 0 without local conditioning).
	buffered(slot int) int
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
	// Local holds a vocoding stream's first mel frames, (F, C) row-major
	// (cache.StreamOptions.Local).
	Local []float32
}

// segment is a run of generated samples under one conditioning, followed
// by pauseAfter samples of silence; or, when word is set, one word of a
// text request (see wordSpec).
type segment struct {
	opts       streamOptions
	n          int
	pauseAfter int
	// prime, if set, is the history the stream starts from (generate
	// --prime), as if it had been generated.
	prime []int32
	// word makes the segment a spoken word whose length the model decides
	// (speech.Word's policy): the trimmed codes of the best attempt are
	// sent as one chunk (possibly empty). n is then only an upper bound on
	// the samples of one attempt, and pauseAfter is ignored: the request
	// joins the words (speech.Concat).
	word *speech.WordOptions
	// wordPrime is the history each attempt at the word starts from
	// (speech.PrimeCodes), unless the policy says zero history.
	wordPrime []int32
	// vocode marks a segment of a model with local conditioning: its
	// stream is stepped only while its conditioning lasts (see
	// shard.feedFrames). Its frames come in opts.Local, then, if feed is
	// set, from feed until it is closed (at most maxFrames in all, each
	// of channels values); n is then only an upper bound.
	vocode      bool
	feed        <-chan [][]float32
	maxFrames   int
	channels    int
	firstFrames int // frames in opts.Local
}

// attemptRun is one running attempt at a word: its stream.
type attemptRun struct {
	a    *speech.Attempt
	slot int
}

// wordState is the scheduler's state of the word a job is generating.
// Several attempts may run side by side (the candidates, as far as free
// slots allow); speech.Word takes finished ones in attempt order, so the
// kept attempt and the retries do not depend on how many ran at once.
type wordState struct {
	w    *speech.Word
	runs []attemptRun
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
	err     error               // set before out is closed
	words   []speech.WordResult // text: the kept attempt of each word said, set before out is closed
	stop    atomic.Bool
	// units is the request's cost in admissions (Engine.plan: at least
	// 1): it takes as many admission tokens and generation slots.
	units int

	// scheduler-owned
	seg   int
	left  int
	slot  int
	chunk []int32
	word  wordState
	// vocoding with frames from a feed
	frames   int       // frames taken
	feedDone bool      // the feed was closed: left is exact
	feedErr  error     // bad frames: the job ends with it
	starved  time.Time // when the stream ran out of frames (zero: it has some)
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
// is bounded and weighted by cost: a job of k units (job.units) takes k of
// the slots+queue admission tokens at once or gets ErrBusy, then k of the
// slots generation tokens within queueWait or gets ErrBusy, so that
// memory and latency stay bounded whatever the requests ask for.
type scheduler struct {
	model     string
	chunkSize int
	queueWait time.Duration
	metrics   Metrics
	log       *slog.Logger

	admit  *semaphore.Weighted // tokens: generating + waiting requests' units
	slots  *semaphore.Weighted // tokens: generating requests' units (= generator slots)
	nslots int                 // the slots tokens
	// admitted counts the requests holding admission tokens.
	admitted atomic.Int64
	shards   []*shard
	// newGen, when set, makes the generator of a private shard: a job
	// whose mel frames stream in runs on one of its own, so that waiting
	// for its frames never holds up the streams of the shared shards.
	newGen  func() stepper
	private sync.WaitGroup // running private shards
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
	private bool // serves one job, then stops
}

// newScheduler starts a scheduler with slots generation slots shared by
// len(gens) shards; every generator must have slots slots, at least twice
// as many if streams may be guided (a guided stream takes two): the slots
// beyond two per job run a word's candidate attempts side by side.
func newScheduler(model string, gens []stepper, slots, queue, chunkSize int, queueWait time.Duration, m Metrics, log *slog.Logger) *scheduler {
	sc := &scheduler{
		model: model, chunkSize: chunkSize, queueWait: queueWait, metrics: m, log: log,
		admit: semaphore.NewWeighted(int64(slots + queue)),
		slots: semaphore.NewWeighted(int64(slots)), nslots: slots,
		quit: make(chan struct{}),
	}
	m.Active(model, 0)
	m.Queued(model, 0)
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

// submit admits j: it takes j.units admission tokens at once or fails
// with ErrBusy, waits for as many generation slots (at most queueWait),
// then hands j to the scheduler. On success the caller must call release
// when it is done with the job (after out is closed or after it stopped
// reading).
func (sc *scheduler) submit(ctx context.Context, j *job) error {
	select {
	case <-sc.quit:
		return ErrShutdown
	default:
	}
	j.units = max(1, j.units)
	if j.units > sc.nslots || !sc.admit.TryAcquire(int64(j.units)) {
		sc.metrics.Rejected(sc.model)
		return ErrBusy
	}
	sc.admitted.Add(1)
	sc.waiting.Add(1)
	sc.metrics.Queued(sc.model, 1)
	var err error
	if !sc.slots.TryAcquire(int64(j.units)) {
		err = sc.waitSlots(ctx, j.units)
	}
	sc.waiting.Add(-1)
	sc.metrics.Queued(sc.model, -1)
	if err != nil {
		sc.unadmit(j)
		return err
	}
	n := j.total()
	j.out = make(chan []int32, n/sc.chunkSize+len(j.segs)+2) // never blocks the scheduler
	context.AfterFunc(ctx, func() { j.stop.Store(true) })
	sc.mu.RLock()
	defer sc.mu.RUnlock()
	if sc.closed {
		sc.slots.Release(int64(j.units))
		sc.unadmit(j)
		return ErrShutdown
	}
	sh := sc.pick()
	if sc.newGen != nil && j.segs[0].feed != nil {
		sh = sc.privateShard()
	}
	sh.active.Add(1)
	sh.joinCh <- j // never blocks: at most slots jobs hold a slot token
	return nil
}

// waitSlots waits at most queueWait for n generation slots: ErrBusy
// after that, ErrShutdown when the scheduler closes, ctx's error when
// the request ends first.
func (sc *scheduler) waitSlots(ctx context.Context, n int) error {
	wctx, cancel := context.WithTimeout(ctx, sc.queueWait)
	defer cancel()
	go func() { // a shutdown ends the wait
		select {
		case <-sc.quit:
			cancel()
		case <-wctx.Done():
		}
	}()
	if sc.slots.Acquire(wctx, int64(n)) == nil {
		return nil
	}
	select {
	case <-sc.quit:
		return ErrShutdown
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sc.metrics.Rejected(sc.model)
	return ErrBusy
}

// privateShard starts a shard of its own for one job whose frames stream
// in (the caller holds sc.mu's read lock, so close waits for it): the
// generator steps all its streams together, and a stream that has caught
// up with its frames must wait for the next ones, which would hold up
// every stream batched with it.
func (sc *scheduler) privateShard() *shard {
	g := sc.newGen()
	sh := &shard{sc: sc, gen: g, joinCh: make(chan *job, 1), stopped: make(chan struct{}), perJob: 1, private: true}
	if g.free() >= 2 {
		sh.perJob = 2
	}
	sc.private.Add(1)
	go func() {
		defer sc.private.Done()
		sh.run()
	}()
	return sh
}

// release returns the admission tokens of a job that submit accepted.
func (sc *scheduler) release(j *job) { sc.unadmit(j) }

func (sc *scheduler) unadmit(j *job) {
	sc.admitted.Add(-1)
	sc.admit.Release(int64(j.units))
}

// inFlight is the number of admitted requests (generating or waiting).
func (sc *scheduler) inFlight() int { return int(sc.admitted.Load()) }

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
	sc.private.Wait()
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
		sc.metrics.Active(sc.model, -1)
		sc.slots.Release(int64(j.units))
		close(j.out)
	}
	// startSeg joins the generator for j's current segment; it reports
	// false when the job ended.
	startSeg := func(j *job) bool {
		seg := &j.segs[j.seg]
		if w := seg.word; w != nil {
			j.slot = -1
			j.word = wordState{w: speech.NewWord(*w)}
			if err := sh.startAttempt(j); err != nil {
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
		if len(seg.prime) > 0 {
			if err := sh.gen.prime(slot, seg.prime); err != nil {
				sh.gen.leave(slot)
				j.slot = -1
				finish(j, err)
				return false
			}
		}
		j.slot, j.left = slot, seg.n
		return true
	}
	start := func(j *job) {
		sc.active.Add(1)
		sc.metrics.Active(sc.model, 1)
		j.seg, j.slot = 0, -1
		j.word = wordState{}
		j.frames, j.feedDone, j.feedErr, j.starved = j.segs[0].firstFrames, false, nil, time.Time{}
		j.chunk = make([]int32, 0, sc.chunkSize)
		if startSeg(j) {
			active = append(active, j)
		}
	}
	served := false
	for {
		if len(active) == 0 {
			if sh.private && served {
				return // its one job is done
			}
			served = true
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
		// Vocoding streams get the frames that arrived; a stream whose
		// conditioning is used up while more frames are to come is never
		// stepped (cache.Generator.Step would panic): the shard waits for
		// its frames (or another job, or quit), then looks again, at
		// most maxStarved per stream.
		var starved *job
		active, starved = sh.feedFrames(active, finish)
		if len(active) == 0 {
			continue
		}
		if starved != nil {
			select {
			case j := <-sh.joinCh:
				start(j)
			case fr, ok := <-starved.segs[starved.seg].feed:
				sh.takeFrames(starved, fr, ok)
			case <-sc.quit: // handled above
			case <-time.After(starvedPoll): // cancellations are seen above
			}
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
		sc.metrics.Step(sc.model, streams)
		kept = active[:0]
		for _, j := range active {
			var alive bool
			if j.word.w != nil {
				alive = sh.stepWord(j, codes, finish, startSeg)
			} else {
				alive = sh.stepSegment(j, codes, finish, startSeg)
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

// maxStarved is how long a vocoding stream may wait for its next frames
// once its audio has caught up with them: the streams batched with it
// wait too (cache.Generator steps every active stream), so a stream
// that starves longer ends with a request error. A variable for tests.
var maxStarved = 2 * time.Second

// starvedPoll is how often a shard waiting for a starved vocoding
// stream's frames looks at cancellations.
const starvedPoll = 20 * time.Millisecond

// errStarved ends a vocoding job whose stream ran out of conditioning
// before its end (a bug: planning gives whole segments their frames).
var errStarved = errors.New("synth: vocoding stream has no mel frames left (a bug: see the server log)")

// feedFrames pushes the frames that arrived for the vocoding jobs of
// active and returns the jobs still active (those with bad frames end with
// a *RequestError; a stream whose frames ended is done) and the first
// starved job: one whose stream has no conditioning left but whose feed is
// still open.
func (sh *shard) feedFrames(active []*job, finish func(*job, error)) (kept []*job, starved *job) {
	kept = active[:0]
	for _, j := range active {
		seg := &j.segs[j.seg]
		if !seg.vocode {
			kept = append(kept, j)
			continue
		}
		if seg.feed != nil && !j.feedDone {
		drain:
			for j.feedErr == nil && !j.feedDone {
				select {
				case fr, ok := <-seg.feed:
					sh.takeFrames(j, fr, ok)
				default:
					break drain
				}
			}
		}
		if j.feedErr != nil {
			finish(j, j.feedErr)
			continue
		}
		if sh.gen.buffered(j.slot) == 0 {
			switch {
			case seg.feed != nil && !j.feedDone && j.starved.IsZero():
				j.starved = time.Now()
				fallthrough
			case seg.feed != nil && !j.feedDone:
				if time.Since(j.starved) > maxStarved {
					finish(j, badRequest("mels", "no mel frame came for %v while the audio had caught up (%d frames so far): streamed frames hold up the other streams batched with them, so send them at least as fast as real time (or whole)", maxStarved, j.frames))
					continue
				}
				if starved == nil {
					starved = j
				}
			case j.left == 0: // every frame vocoded
				finish(j, nil)
				continue
			default:
				sh.sc.log.Error("vocoding stream starved", "model", sh.sc.model, "left", j.left)
				finish(j, errStarved)
				continue
			}
		}
		kept = append(kept, j)
	}
	clear(active[len(kept):])
	return kept, starved
}

// takeFrames takes one receive from j's feed: frames to push (checked),
// or the feed's end (ok false), after which j.left is exact.
func (sh *shard) takeFrames(j *job, frames [][]float32, ok bool) {
	seg := &j.segs[j.seg]
	if !ok {
		j.feedDone = true
		j.left = sh.gen.buffered(j.slot)
		return
	}
	flat, err := checkMels(nil, frames, seg.channels, seg.maxFrames, j.frames)
	if err == nil {
		err = sh.gen.pushLocal(j.slot, flat)
	}
	if err != nil {
		j.feedErr = err
		return
	}
	j.frames += len(frames)
	if len(frames) > 0 {
		j.starved = time.Time{}
	}
}

// stepSegment appends the step's code of j's stream to its chunk; at the
// end of the segment the stream leaves, the pause follows, and the next
// segment starts. A full chunk is sent. It reports whether j is still
// active.
func (sh *shard) stepSegment(j *job, codes []int32, finish func(*job, error), startSeg func(*job) bool) bool {
	sc := sh.sc
	j.chunk = append(j.chunk, codes[j.slot])
	j.left--
	if j.left == 0 {
		sh.gen.leave(j.slot)
		j.slot = -1
		for range j.segs[j.seg].pauseAfter {
			j.chunk = append(j.chunk, j.silence)
		}
		j.seg++
		if j.seg == len(j.segs) {
			finish(j, nil)
			return false
		}
		if !startSeg(j) {
			return false
		}
	}
	if len(j.chunk) >= sc.chunkSize {
		j.out <- j.chunk
		j.chunk = make([]int32, 0, sc.chunkSize)
	}
	return true
}

// stepWord feeds the step's codes to the attempts of the word j is
// generating. An attempt that ended (the detector's end, or the
// label_seconds cap) leaves and is handed to the word's policy; once the
// policy is done the best attempt is sent and the job moves on to its
// next segment. If no attempt is running but some are to come, the next
// one starts (the slots it needs were just freed). It reports whether j
// is still active.
func (sh *shard) stepWord(j *job, codes []int32, finish func(*job, error), startSeg func(*job) bool) bool {
	st := &j.word
	runs := st.runs
	st.runs = st.runs[:0] // filtered in place
	for _, r := range runs {
		if !r.a.Push(codes[r.slot]) {
			st.runs = append(st.runs, r)
			continue
		}
		score := sh.gen.score(r.slot)
		sh.gen.leave(r.slot)
		st.w.Finish(r.a, score)
	}
	clear(runs[len(st.runs):])
	if st.w.Done() {
		j.words = append(j.words, st.w.Result()) // read after out is closed
		j.out <- st.w.Best()
		j.word = wordState{}
		j.seg++
		if j.seg == len(j.segs) {
			finish(j, nil)
			return false
		}
		return startSeg(j)
	}
	if len(st.runs) == 0 && st.w.Pending() {
		if err := sh.startAttempt(j); err != nil {
			finish(j, err)
			return false
		}
	}
	return true
}

// startAttempt joins (and primes) the next attempt at j's current word.
func (sh *shard) startAttempt(j *job) error {
	st := &j.word
	a, ok := st.w.Next()
	if !ok {
		return nil
	}
	seg := &j.segs[j.seg]
	o := seg.opts
	o.Seed = a.Seed
	slot, err := sh.gen.join(o)
	if err != nil {
		return err
	}
	if !a.ZeroStart && len(seg.wordPrime) > 0 {
		if err := sh.gen.prime(slot, seg.wordPrime); err != nil {
			sh.gen.leave(slot)
			return err
		}
	}
	st.runs = append(st.runs, attemptRun{a: a, slot: slot})
	return nil
}

// startExtraAttempts starts more attempts of the words of active jobs, up
// to maxParallelAttempts each, while the generator has free slots beyond
// those kept for the jobs that may still arrive (perJob slots each).
func (sh *shard) startExtraAttempts(active []*job, perJob int) {
	reserve := perJob * (sh.sc.nslots - len(active))
	for _, j := range active {
		st := &j.word
		if st.w == nil {
			continue
		}
		for len(st.runs) < maxParallelAttempts && st.w.Pending() && sh.gen.free() >= reserve+perJob {
			if sh.startAttempt(j) != nil {
				break // tried again when it is the only attempt left to run
			}
		}
	}
}

// failPending ends the jobs handed over but not started, once quit is
// closed (no more can arrive: see scheduler.mu).
func (sh *shard) failPending(finish func(*job, error)) {
	for {
		select {
		case j := <-sh.joinCh:
			sh.sc.active.Add(1)
			sh.sc.metrics.Active(sh.sc.model, 1)
			j.slot = -1
			finish(j, ErrShutdown)
		default:
			return
		}
	}
}

// errGenerator is the error of jobs whose generator step panicked.
var errGenerator = errors.New("synth: generator failed (a bug: see the server log)")

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
