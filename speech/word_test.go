package speech

import (
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/mulaw"
)

func TestQuality(t *testing.T) {
	// testDur's median is 0.4 s: a quarter of it is 800 samples at 8 kHz.
	tests := []struct {
		r    EndReason
		kept int
		want int
	}{
		{Silence, 800, 3}, // end found, long enough
		{Dip, 2000, 3},
		{Silence, 799, 1}, // end found but short
		{Dip, 1, 1},
		{Cap, 10, 2}, // stopped at the cap with something kept
		{Running, 10, 2},
		{Cap, 0, 0},
		{NoOnset, 0, 0},
		{Silence, 0, 0},
	}
	for _, tt := range tests {
		if got := Quality(tt.r, tt.kept, testDur, testRate); got != tt.want {
			t.Errorf("Quality(%v, %d, median 0.4 s, 8 kHz) = %d, want %d", tt.r, tt.kept, got, tt.want)
		}
	}
}

// attemptRes is a finished attempt of the given quality and score whose
// codes name it.
func attemptRes(i, q int, score float64) result {
	return result{quality: q, score: score, codes: []int32{int32(i)}}
}

// drive starts every pending attempt of w and records the results of res
// (by attempt index) in the order given, starting attempts as they
// become pending; it returns the attempts started, in order.
func drive(t *testing.T, w *Word, res map[int]result, order []int) []int {
	t.Helper()
	var started []int
	start := func() {
		for {
			a, ok := w.Next()
			if !ok {
				return
			}
			started = append(started, a.Index)
		}
	}
	start()
	for _, i := range order {
		if !slices.Contains(started, i) {
			t.Fatalf("attempt %d recorded before it was started (started %v)", i, started)
		}
		w.record(i, res[i])
		start()
	}
	return started
}

func TestWordPolicy(t *testing.T) {
	tests := []struct {
		name         string
		cands, tries int
		res          map[int]result
		order        []int
		wantStarted  []int
		wantBest     int32 // index of the kept attempt
	}{
		{
			// Three good candidates: the highest score wins.
			name: "best by score", cands: 3, tries: 3,
			res:   map[int]result{0: attemptRes(0, 3, 1), 1: attemptRes(1, 3, 5), 2: attemptRes(2, 3, 2)},
			order: []int{0, 1, 2}, wantStarted: []int{0, 1, 2}, wantBest: 1,
		},
		{
			// Quality before score: attempt 0 scores highest but is
			// short (1); attempt 2 is the best good one. Attempt 0's poor
			// quality adds a retry (attempt 3, also good but lower score).
			name: "quality then score", cands: 3, tries: 3,
			res:   map[int]result{0: attemptRes(0, 1, 9), 1: attemptRes(1, 3, 1), 2: attemptRes(2, 3, 2), 3: attemptRes(3, 3, 1.5)},
			order: []int{0, 1, 2, 3}, wantStarted: []int{0, 1, 2, 3}, wantBest: 2,
		},
		{
			// One candidate, all poor: retried up to 3 attempts in all;
			// the first of the best quality is kept (no score with one
			// candidate).
			name: "retries up to the limit", cands: 1, tries: 3,
			res:   map[int]result{0: attemptRes(0, 1, 0), 1: attemptRes(1, 0, 0), 2: attemptRes(2, 1, 7)},
			order: []int{0, 1, 2}, wantStarted: []int{0, 1, 2}, wantBest: 0,
		},
		{
			// A good first attempt needs no retry.
			name: "no retry after a good attempt", cands: 1, tries: 3,
			res:   map[int]result{0: attemptRes(0, 3, 0)},
			order: []int{0}, wantStarted: []int{0}, wantBest: 0,
		},
		{
			// Greedy: one attempt, no retry however poor.
			name: "no retries", cands: 1, tries: 1,
			res:   map[int]result{0: attemptRes(0, 0, 0)},
			order: []int{0}, wantStarted: []int{0}, wantBest: 0,
		},
		{
			// Candidates finishing out of order are taken in attempt
			// order: the same choice as in order, and the retry after
			// attempt 0 (poor) comes once 0 is taken.
			name: "out of order", cands: 3, tries: 2,
			res:   map[int]result{0: attemptRes(0, 2, 0), 1: attemptRes(1, 3, 4), 2: attemptRes(2, 3, 4), 3: attemptRes(3, 3, 9)},
			order: []int{2, 1, 0, 3}, wantStarted: []int{0, 1, 2, 3}, wantBest: 3,
		},
	}
	for _, tt := range tests {
		w := NewWord(WordOptions{Q: 256, Rate: testRate, Duration: testDur, Seed: 7, Candidates: tt.cands, Attempts: tt.tries})
		started := drive(t, w, tt.res, tt.order)
		if !w.Done() || !slices.Equal(started, tt.wantStarted) || !slices.Equal(w.Best(), []int32{tt.wantBest}) {
			t.Errorf("%s: done %v, started %v, best %v; want done, started %v, best [%d]",
				tt.name, w.Done(), started, w.Best(), tt.wantStarted, tt.wantBest)
		}
	}
}

func TestWordOutOfOrderWaits(t *testing.T) {
	w := NewWord(WordOptions{Q: 256, Rate: testRate, Duration: testDur, Candidates: 2})
	w.Next()
	w.Next()
	w.record(1, attemptRes(1, 3, 0))
	if w.Done() || w.Best() != nil {
		t.Errorf("after attempt 1 of 2 finished first: done %v, best %v; want not done, nothing taken", w.Done(), w.Best())
	}
	w.record(0, attemptRes(0, 3, 0))
	if !w.Done() || !slices.Equal(w.Best(), []int32{0}) {
		t.Errorf("after attempts 1 then 0: done %v, best %v; want done, best [0] (equal scores keep the first)", w.Done(), w.Best())
	}
}

func TestWordSeedsAndZeroStart(t *testing.T) {
	w := NewWord(WordOptions{Q: 256, Rate: testRate, Duration: testDur, Seed: 10})
	a, _ := w.Next()
	if a.Index != 0 || a.Seed != 10 || a.ZeroStart {
		t.Fatalf("first attempt = %+v, want index 0, seed 10, primed", a)
	}
	// Nothing said (no onset): the retry starts from zero history, seeded
	// 10 + 0x9E3779B97F4A7C15 (the golden-ratio increment).
	w.record(0, result{noOnset: true})
	a, ok := w.Next()
	if !ok || a.Index != 1 || a.Seed != 10+0x9E3779B97F4A7C15 || !a.ZeroStart {
		t.Fatalf("retry after no onset = %+v, %v; want index 1, seed 10+0x9E3779B97F4A7C15, zero start", a, ok)
	}
	// A short attempt's retry is primed.
	w.record(1, result{quality: 1, codes: []int32{5}})
	if a, _ := w.Next(); a.Index != 2 || a.ZeroStart {
		t.Errorf("retry after a short attempt = %+v, want index 2, primed", a)
	}
}

// TestWordEndPaths runs attempts on real codes through the end detector:
// a 0.35 s tone then silence ends by silence and is kept (quality 3); a
// 0.05 s tone then silence is short (quality 1: under a quarter of the
// 0.4 s median) and retried.
func TestWordEndPaths(t *testing.T) {
	push := func(a *Attempt, x []float32) {
		for _, c := range mulaw.Encode(nil, x, 256) {
			if a.Push(c) {
				return
			}
		}
		t.Fatal("attempt did not end")
	}
	w := NewWord(WordOptions{Q: 256, Rate: testRate, Duration: testDur, Candidates: 1, Attempts: 2})
	a, _ := w.Next()
	push(a, concat(tone(sec(0.05), 0.5), tone(sec(2), 0)))
	if r := a.utt.Reason(); r != Silence {
		t.Errorf("short tone ended by %v, want %v", r, Silence)
	}
	w.Finish(a, 0)
	if w.Done() || !w.Pending() {
		t.Fatalf("after a short attempt: done %v, pending %v; want a retry pending", w.Done(), w.Pending())
	}
	a, _ = w.Next()
	push(a, concat(tone(sec(0.35), 0.5), tone(sec(2), 0)))
	w.Finish(a, 0)
	// The trim keeps whole 20 ms frames: 0.35 s to 0.37 s of the tone.
	if n := len(w.Best()); !w.Done() || n < sec(0.35) || n > sec(0.37) {
		t.Errorf("after a good attempt: done %v, kept %d samples; want done, %d to %d", w.Done(), n, sec(0.35), sec(0.37))
	}
	// The cap ends a running attempt: quality 2.
	w = NewWord(WordOptions{Q: 256, Rate: testRate, Duration: testDur, Attempts: 1, Cap: 100})
	a, _ = w.Next()
	push(a, tone(sec(1), 0.5))
	w.Finish(a, 0)
	if n := len(w.Best()); !w.Done() || n != 100 || a.utt.Reason() != Running {
		t.Errorf("capped attempt: done %v, kept %d, reason %v; want done, 100 (the cap), running", w.Done(), n, a.utt.Reason())
	}
}
