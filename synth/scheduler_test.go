package synth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/speech"
)

// fakeStepper emits, for the stream in slot s, the codes 1000*seed + t
// (t = 0, 1, ... since its join), so tests can tell streams and positions
// apart. It checks the scheduler's use of slots.
type fakeStepper struct {
	t      *testing.T
	mu     sync.Mutex
	active []bool
	seed   []uint64
	pos    []int32
	joins  []streamOptions
}

func newFake(t *testing.T, slots int) *fakeStepper {
	return &fakeStepper{t: t, active: make([]bool, slots), seed: make([]uint64, slots), pos: make([]int32, slots)}
}

func (f *fakeStepper) join(o streamOptions) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o.Temperature < 0 {
		return -1, errors.New("fake: bad temperature")
	}
	f.joins = append(f.joins, o)
	for i, a := range f.active {
		if !a {
			f.active[i], f.seed[i], f.pos[i] = true, o.Seed, 0
			return i, nil
		}
	}
	f.t.Error("fake: join with every slot taken: the scheduler admitted too many")
	return -1, errors.New("fake: full")
}

func (f *fakeStepper) score(int) float64 { return 0 }

// The fake's streams need no local conditioning.
func (f *fakeStepper) pushLocal(int, []float32) error { return nil }

func (f *fakeStepper) buffered(int) int { return 0 }

func (f *fakeStepper) free() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.active {
		if !a {
			n++
		}
	}
	return n
}

func (f *fakeStepper) leave(slot int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.active[slot] {
		f.t.Errorf("fake: leave of free slot %d", slot)
	}
	f.active[slot] = false
}

// prime is a no-op: the fake's streams do not depend on their history.
func (f *fakeStepper) prime(slot int, codes []int32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.active[slot] {
		f.t.Errorf("fake: prime of free slot %d", slot)
	}
	return nil
}

func (f *fakeStepper) step(dst []int32) []int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(dst) < len(f.active) {
		dst = make([]int32, len(f.active))
	}
	for i, a := range f.active {
		if a {
			dst[i] = int32(f.seed[i])*1000 + f.pos[i]
			f.pos[i]++
		}
	}
	return dst
}

func collect(j *job) []int32 {
	var out []int32
	for c := range j.out {
		out = append(out, c...)
	}
	return out
}

func TestSchedulerSegmentsAndPauses(t *testing.T) {
	f := newFake(t, 2)
	sc := newScheduler("m", []stepper{f}, 2, 0, 4, time.Second, nopMetrics{}, quietLogger())
	defer sc.close()
	j := &job{silence: -1, segs: []segment{
		{opts: streamOptions{Seed: 1, Cond: []int{1}}, n: 3, pauseAfter: 2},
		{opts: streamOptions{Seed: 2, Cond: []int{2}}, n: 5},
	}}
	if err := sc.submit(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	got := collect(j)
	sc.release(j)
	want := []int32{1000, 1001, 1002, -1, -1, 2000, 2001, 2002, 2003, 2004}
	if fmt.Sprint(got) != fmt.Sprint(want) || j.err != nil {
		t.Errorf("segments = %v (err %v), want %v", got, j.err, want)
	}
	if len(f.joins) != 2 || f.joins[1].Cond[0] != 2 {
		t.Errorf("joins = %+v, want two, the second with cond [2]", f.joins)
	}
}

func TestSchedulerJoinErrorEndsTheJob(t *testing.T) {
	f := newFake(t, 1)
	sc := newScheduler("m", []stepper{f}, 1, 0, 4, time.Second, nopMetrics{}, quietLogger())
	defer sc.close()
	j := &job{segs: []segment{{opts: streamOptions{Temperature: -1}, n: 3}}}
	if err := sc.submit(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if got := collect(j); len(got) != 0 || j.err == nil {
		t.Errorf("job whose join fails: %v, err %v; want nothing and an error", got, j.err)
	}
	sc.release(j)
	// The slot is free again.
	j = &job{segs: []segment{{opts: streamOptions{Seed: 3}, n: 2}}}
	if err := sc.submit(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if got := collect(j); len(got) != 2 {
		t.Errorf("next job = %v, want 2 codes", got)
	}
	sc.release(j)
}

// TestSchedulerCloseUnderLoad submits many jobs from many goroutines while
// closing: every job must end (its channel closed) with nil, ErrBusy or
// ErrShutdown, and never hang.
func TestSchedulerCloseUnderLoad(t *testing.T) {
	for round := range 20 {
		gens := []stepper{newFake(t, 4), newFake(t, 4)}
		sc := newScheduler("m", gens, 4, 4, 16, 50*time.Millisecond, nopMetrics{}, quietLogger())
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j := &job{segs: []segment{{opts: streamOptions{Seed: uint64(i)}, n: 100000}}}
				err := sc.submit(context.Background(), j)
				if err != nil {
					if !errors.Is(err, ErrBusy) && !errors.Is(err, ErrShutdown) {
						t.Errorf("submit = %v", err)
					}
					return
				}
				defer sc.release(j)
				collect(j)
				if j.err != nil && !errors.Is(j.err, ErrShutdown) {
					t.Errorf("job err = %v", j.err)
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		done := make(chan struct{})
		go func() { sc.close(); wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: close with jobs in flight did not finish in 10 s", round)
		}
		if n := sc.inFlight(); n != 0 {
			t.Errorf("round %d: %d admission tokens left after close", round, n)
		}
		if n := sc.active.Load(); n != 0 {
			t.Errorf("round %d: active = %d after close, want 0", round, n)
		}
	}
}

func TestSchedulerSpreadsOverShards(t *testing.T) {
	a, b := newFake(t, 4), newFake(t, 4)
	sc := newScheduler("m", []stepper{a, b}, 4, 0, 8, time.Second, nopMetrics{}, quietLogger())
	defer sc.close()
	var jobs []*job
	for i := range 4 {
		j := &job{segs: []segment{{opts: streamOptions{Seed: uint64(i)}, n: 1 << 20}}}
		if err := sc.submit(context.Background(), j); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	joins := func(f *fakeStepper) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.joins)
	}
	// Wait until both shards have started their jobs.
	for deadline := time.Now().Add(10 * time.Second); joins(a)+joins(b) < 4 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	na, nb := joins(a), joins(b)
	if na != 2 || nb != 2 {
		t.Errorf("4 jobs over 2 shards went %d and %d, want 2 and 2", na, nb)
	}
	for _, j := range jobs {
		j.stop.Store(true)
		collect(j)
		sc.release(j)
	}
}

// panicky panics on its first step.
type panicky struct {
	*fakeStepper
	once sync.Once
}

func (p *panicky) step(dst []int32) []int32 {
	p.once.Do(func() { panic("bug in the generator") })
	return p.fakeStepper.step(dst)
}

func TestSchedulerSurvivesGeneratorPanic(t *testing.T) {
	f := &panicky{fakeStepper: newFake(t, 2)}
	sc := newScheduler("m", []stepper{f}, 2, 0, 4, time.Second, nopMetrics{}, quietLogger())
	defer sc.close()
	j := &job{segs: []segment{{opts: streamOptions{Seed: 1}, n: 5}}}
	if err := sc.submit(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if collect(j); !errors.Is(j.err, errGenerator) {
		t.Errorf("job in a panicking step: err %v, want errGenerator", j.err)
	}
	sc.release(j)
	j = &job{segs: []segment{{opts: streamOptions{Seed: 2}, n: 5}}}
	if err := sc.submit(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if got := collect(j); len(got) != 5 || j.err != nil {
		t.Errorf("job after the panic = %v, %v; want 5 codes", got, j.err)
	}
	sc.release(j)
}

// scriptStepper is a fakeStepper whose streams play script(seed, t).
type scriptStepper struct {
	*fakeStepper
	script func(seed uint64, t int32) int32
}

func (s *scriptStepper) step(dst []int32) []int32 {
	dst = s.fakeStepper.step(dst)
	for i, a := range s.active { // step and join run on the shard's goroutine only
		if a {
			dst[i] = s.script(s.seed[i], s.pos[i]-1)
		}
	}
	return dst
}

// TestSchedulerWordEndsAndRetries runs text words through the scheduler
// on scripted streams and checks them against speech.Utterance fed the
// same codes: a word stops at its detected end and is trimmed, and an
// attempt with nothing said is retried with the next seed (speech.RetrySeed).
func TestSchedulerWordEndsAndRetries(t *testing.T) {
	const q, rate = 256, 8000
	silence := mulaw.Silence(q)
	// A word: 0.1 s (800 samples) of silence, 0.3 s of full-scale square
	// wave (codes 0 and q-1), then silence for ever. It ends by silence
	// (150 ms after the word, which is past 60% of the default 0.4 s
	// median) and trims to exactly the square wave, which starts and ends
	// on 20 ms trimming frames (800 and 3200 are multiples of 160).
	word := func(t int32) int32 {
		switch {
		case t < 800 || t >= 3200:
			return silence
		case t%2 == 0:
			return 0
		}
		return q - 1
	}
	// Seed 1 says nothing (silence for ever); its retry says the word.
	script := func(seed uint64, t int32) int32 {
		if seed == 1 {
			return silence
		}
		return word(t)
	}
	f := &scriptStepper{fakeStepper: newFake(t, 2), script: script}
	sc := newScheduler("m", []stepper{f}, 2, 0, 4, time.Second, nopMetrics{}, quietLogger())
	defer sc.close()
	spec := func(seed uint64) *speech.WordOptions {
		return &speech.WordOptions{Q: q, Rate: rate, Duration: speech.DefaultDuration, Seed: seed, Attempts: 3}
	}
	lim := speech.Options{}.Limits(speech.DefaultDuration, rate)
	j := &job{segs: []segment{
		{opts: streamOptions{Seed: 1}, n: lim.Lead + lim.Cap, word: spec(1)},
		{opts: streamOptions{Seed: 7}, n: lim.Lead + lim.Cap, word: spec(7)},
	}}
	if err := sc.submit(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	var words [][]int32
	for c := range j.out {
		words = append(words, c)
	}
	sc.release(j)
	if j.err != nil || len(words) != 2 {
		t.Fatalf("text job: %d chunks, err %v; want one chunk per word and no error", len(words), j.err)
	}
	// Reference: an Utterance fed the word's script until it is done.
	u := speech.NewUtterance(q, rate, speech.DefaultDuration, speech.Options{})
	for i := int32(0); !u.Push(word(i)); i++ {
	}
	s, e := u.Trimmed()
	if u.Reason() != speech.Silence || s != 800 || e != 3200 {
		t.Fatalf("reference utterance: end %s, kept [%d, %d); want silence, [800, 3200)", u.Reason(), s, e)
	}
	for i, w := range words {
		if fmt.Sprint(w) != fmt.Sprint(u.Codes()[s:e]) {
			t.Errorf("word %d: %d codes, want the %d of the square wave", i, len(w), e-s)
		}
	}
	var seeds []uint64
	for _, o := range f.joins {
		seeds = append(seeds, o.Seed)
	}
	if want := []uint64{1, speech.RetrySeed(1, 1), 7}; fmt.Sprint(seeds) != fmt.Sprint(want) {
		t.Errorf("join seeds = %v, want %v (word 0 retried once, word 1 right the first time)", seeds, want)
	}
}

// TestAdmissionWeighsUnits: a job of 2 units takes 2 of a 2-slot
// scheduler's generation slots, so a 1-unit job waits its queueWait and
// gets ErrBusy rather than running beside it; once the big job is
// released the small one runs. A job of more units than slots is refused
// at once, and a job admitted with a free slot but too few admission
// tokens gets ErrBusy at once.
func TestAdmissionWeighsUnits(t *testing.T) {
	f := newFake(t, 4)
	sc := newScheduler("m", []stepper{f}, 2, 1, 4, 50*time.Millisecond, nopMetrics{}, quietLogger())
	defer sc.close()
	// 1e6 samples: still running while the others are tried.
	big := &job{segs: []segment{{opts: streamOptions{Seed: 1}, n: 1e6}}, units: 2}
	if err := sc.submit(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	small := &job{segs: []segment{{opts: streamOptions{Seed: 2}, n: 5}}, units: 1}
	if err := sc.submit(context.Background(), small); !errors.Is(err, ErrBusy) {
		t.Errorf("1-unit job beside a 2-unit job on 2 slots: submit = %v, want ErrBusy after the queue wait", err)
	}
	if err := sc.submit(context.Background(), &job{segs: small.segs, units: 2}); !errors.Is(err, ErrBusy) {
		t.Errorf("2-unit job with 1 admission token left: submit = %v, want ErrBusy", err)
	}
	if err := sc.submit(context.Background(), &job{segs: small.segs, units: 3}); !errors.Is(err, ErrBusy) {
		t.Errorf("3-unit job on 2 slots: submit = %v, want ErrBusy", err)
	}
	big.stop.Store(true)
	collect(big)
	sc.release(big)
	if err := sc.submit(context.Background(), small); err != nil {
		t.Fatalf("1-unit job after the big one left: %v", err)
	}
	if got := collect(small); len(got) != 5 {
		t.Errorf("1-unit job: %d codes, want 5", len(got))
	}
	sc.release(small)
	if n := sc.inFlight(); n != 0 {
		t.Errorf("inFlight after every release = %d, want 0", n)
	}
}
