package speech

import (
	"time"

	"slices"

	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/wavenet"
)

// DefaultAttempts is how often a word is generated at most after its
// candidates: retries replace attempts that said nothing plausible.
const DefaultAttempts = 3

// Word is the policy by which one word of a text is said: the one copy of
// it, driven by the synthesis scheduler (package synth). Each attempt is
// a stream seeded RetrySeed(seed, index), started with Next, fed codes
// until its end detector (Utterance) says the word is over or the
// per-attempt cap is reached, and handed back with Finish. The first
// Candidates attempts are made in any case; finished attempts are taken
// in attempt order (whatever order they finish in), the best kept (by
// Quality, then, with several candidates, by the stream's GuideScore),
// and each poor one (quality below 3) adds a retry, up to Candidates +
// Attempts - 1 attempts in all. A retry after an attempt with no onset
// starts from zero history instead of the primed silence.
type Word struct {
	q, rate    int
	dur        Duration
	opt        Options
	seed       uint64
	candidates int
	attempts   int
	capN       int

	next      int // the attempt to start next
	launched  int // attempts to make: the candidates, plus retries so far
	taken     int // attempts taken, in order
	done      map[int]result
	retryZero []bool // whether retry k starts from zero history
	best      result
}

// WordOptions configure a Word.
type WordOptions struct {
	Q, Rate  int      // quantization levels and sample rate of the model
	Duration Duration // the word's length statistics (Stats.Lookup)
	Options  Options  // end detection
	Seed     uint64   // seed of attempt 0
	// Candidates is the number of attempts made in any case (0: 1).
	Candidates int
	// Attempts bounds the attempts after the candidates, retries
	// included (0: DefaultAttempts; 1: no retry, as for greedy sampling).
	Attempts int
	// Cap, if positive, ends an attempt after that many samples (leading
	// silence included), a word still running then cut there.
	Cap int
}

// result is a finished attempt.
type result struct {
	quality int
	score   float64
	codes   []int32 // the trimmed codes
	noOnset bool
	reason  EndReason
	n       int // samples generated
	index   int // attempt number
}

// Attempt is one running attempt at a word.
type Attempt struct {
	Index     int    // attempt number, 0-based
	Seed      uint64 // RetrySeed(word's seed, Index)
	ZeroStart bool   // start from zero history rather than the primed silence
	utt       *Utterance
	capN      int
}

// NewWord returns the policy state of one word.
func NewWord(o WordOptions) *Word {
	w := &Word{q: o.Q, rate: o.Rate, dur: o.Duration, opt: o.Options, seed: o.Seed,
		candidates: max(1, o.Candidates), attempts: o.Attempts, capN: o.Cap}
	if w.attempts <= 0 {
		w.attempts = DefaultAttempts
	}
	w.launched = w.candidates
	return w
}

// Pending reports whether an attempt is waiting to be started.
func (w *Word) Pending() bool { return w.next < w.launched }

// Next returns the next attempt to start; ok is false when none is
// pending (more may come once running attempts finish).
func (w *Word) Next() (a *Attempt, ok bool) {
	if !w.Pending() {
		return nil, false
	}
	k := w.next
	w.next++
	a = &Attempt{Index: k, Seed: RetrySeed(w.seed, k), capN: w.capN, utt: NewUtterance(w.q, w.rate, w.dur, w.opt)}
	if r := k - w.candidates; r >= 0 {
		a.ZeroStart = w.retryZero[r]
	}
	return a, true
}

// Push feeds the attempt's next code; it reports whether the attempt is
// over (its end found, or the cap reached).
func (a *Attempt) Push(code int32) bool {
	done := a.utt.Push(code)
	return done || (a.capN > 0 && a.utt.Len() >= a.capN)
}

// Finish records a finished attempt with its stream's GuideScore (0
// without a guide) and takes the finished attempts that are next in
// attempt order.
func (w *Word) Finish(a *Attempt, score float64) {
	s, e := a.utt.Trimmed()
	r := a.utt.Reason()
	w.record(a.Index, result{quality: Quality(r, e-s, w.dur, w.rate), score: score,
		codes: slices.Clone(a.utt.Codes()[s:e]), noOnset: r == NoOnset, reason: r, n: a.utt.Len()})
}

// record stores the result of attempt i and takes results in order.
func (w *Word) record(i int, res result) {
	if w.done == nil {
		w.done = map[int]result{}
	}
	res.index = i
	w.done[i] = res
	for {
		res, ok := w.done[w.taken]
		if !ok {
			return
		}
		delete(w.done, w.taken)
		b := w.best
		if w.taken == 0 || res.quality > b.quality || (w.candidates > 1 && res.quality == b.quality && res.score > b.score) {
			w.best = res
		}
		w.taken++
		if res.quality < 3 && w.launched < w.candidates+w.attempts-1 {
			w.launched++
			w.retryZero = append(w.retryZero, res.noOnset)
		}
	}
}

// Done reports whether every attempt to make has been taken.
func (w *Word) Done() bool { return w.taken == w.launched }

// Best returns the trimmed codes of the kept attempt (possibly empty).
func (w *Word) Best() []int32 { return w.best.codes }

// Kept returns the number of the kept attempt (0-based).
func (w *Word) Kept() int { return w.best.index }

// WordResult describes the kept attempt at a word.
type WordResult struct {
	Kept      int       // attempt number (0-based)
	Attempts  int       // attempts made
	Reason    EndReason // how the kept attempt ended
	Generated int       // samples the kept attempt generated
	Score     float64   // its GuideScore (0 without a guide)
}

// Result describes the kept attempt, once Done.
func (w *Word) Result() WordResult {
	b := w.best
	return WordResult{Kept: b.index, Attempts: w.launched, Reason: b.reason, Generated: b.n, Score: b.score}
}

// Attempts returns the number of attempts made so far (and to make).
func (w *Word) Attempts() int { return w.launched }

// RetrySeed is the seed of attempt a (0-based) of a word seeded s.
func RetrySeed(s uint64, a int) uint64 { return s + uint64(a)*0x9E3779B97F4A7C15 }

// Quality ranks an attempt that ended for reason r with kept samples after
// trimming, for a word of length statistics d at rate Hz: an end found
// (silence or dip) after at least a quarter of the median length is best
// (3), then one stopped at the cap (or still running at a caller's cap)
// with something kept (2), then any audio (1), then nothing (0).
func Quality(r EndReason, kept int, d Duration, rate int) int {
	switch {
	case (r == Silence || r == Dip) && float64(kept) >= 0.25*d.Median*float64(rate):
		return 3
	case (r == Cap || r == Running) && kept > 0:
		return 2
	case kept > 0:
		return 1
	}
	return 0
}

// MaxCandidates bounds WordOptions.Candidates.
const MaxCandidates = 32

// DefaultPause is the silence between the labels of a sentence.
const DefaultPause = 150 * time.Millisecond

// fadeMS is the length of the fade at each end of a part, which keeps the
// cut of the trim from clicking.
const fadeMS = 5

// Concat joins parts with pause samples of silence between them, fading
// each part in and out over 5 ms.
func Concat(parts [][]float32, pause, rate int) []float32 {
	n := 0
	for _, p := range parts {
		n += len(p) + pause
	}
	out := make([]float32, 0, n)
	fade := rate * fadeMS / 1000
	for i, p := range parts {
		if i > 0 {
			out = append(out, make([]float32, pause)...)
		}
		start := len(out)
		out = append(out, p...)
		seg := out[start:]
		f := min(fade, len(seg)/2)
		for k := 0; k < f; k++ {
			w := float32(k) / float32(f)
			seg[k] *= w
			seg[len(seg)-1-k] *= w
		}
	}
	return out
}

// PrimeCodes returns the history each attempt at a word is primed with
// unless Attempt.ZeroStart is set (see cache.Generator.Prime): a receptive
// field of silence codes, the left context the trainer pads an
// utterance's first window with. On the FSDD model at step 14200 (600
// digits, 10 per speaker and digit), priming lifted digit recognition from
// 45% to 57%; early in training (step 3800) it left 40% of the streams
// silent, which the zero-history retry catches.
func PrimeCodes(cfg wavenet.Config) []int32 {
	p := make([]int32, cfg.ReceptiveField())
	for i := range p {
		p[i] = mulaw.Silence(cfg.QuantizationChannels)
	}
	return p
}
