package speech

import (
	"math"
	"testing"

	"github.com/wavenet-go/wavenet/mulaw"
)

const testRate = 8000

// tone returns n samples of a 300 Hz sine at amplitude a (0 gives silence).
func tone(n int, a float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(a * math.Sin(2*math.Pi*300*float64(i)/testRate))
	}
	return x
}

func concat(parts ...[]float32) []float32 {
	var x []float32
	for _, p := range parts {
		x = append(x, p...)
	}
	return x
}

// sec converts seconds to samples at testRate.
func sec(s float64) int { return int(math.Round(s * testRate)) }

// feed pushes the codes of x until the utterance is done and returns the
// number of codes pushed.
func feed(u *Utterance, x []float32) int {
	for i, c := range mulaw.Encode(nil, x, 256) {
		if u.Push(c) {
			return i + 1
		}
	}
	return len(x)
}

// testDur is a digit with a median of 0.4 s and a p90 of 0.5 s: with the
// default options the earliest end is 0.24 s after the onset (0.6 x
// median) and the cap 0.7 s (median + 0.3 s > 1.3 x p90 = 0.65 s).
var testDur = Duration{N: 10, Median: 0.4, P90: 0.5, Max: 0.6}

func TestLimits(t *testing.T) {
	l := Options{}.Limits(testDur, testRate)
	// 10 ms frames are 80 samples; 150 ms of hold is 15 frames, a 50 ms
	// dip 5.
	want := Limits{Frame: 80, Hold: 15, MinEnd: sec(0.24), Cap: sec(0.7), Lead: sec(0.5), Median: sec(0.4), Dip: 5}
	if l != want {
		t.Errorf("Limits(%+v) = %+v, want %+v", testDur, l, want)
	}
	// A long p90 makes 1.3 x p90 the cap.
	l = Options{}.Limits(Duration{Median: 0.4, P90: 1, Max: 1}, testRate)
	if l.Cap != sec(1.3) {
		t.Errorf("cap for p90 1 s = %d, want %d", l.Cap, sec(1.3))
	}
	// No statistics: the defaults.
	if got, want := (Options{}).Limits(Duration{}, testRate), (Options{}).Limits(DefaultDuration, testRate); got != want {
		t.Errorf("Limits(zero Duration) = %+v, want the default duration's %+v", got, want)
	}
}

func TestEndDetection(t *testing.T) {
	l := Options{}.Limits(testDur, testRate)
	hold := l.Hold * l.Frame
	tests := []struct {
		name       string
		x          []float32
		reason     EndReason
		pushed     [2]int // range of codes pushed before done
		start, end [2]int // ranges of the trimmed start and end
	}{
		{
			// The end is found one hold after the tone stops (within a
			// frame, as the tone's end is not frame-aligned).
			name: "tone then silence", x: concat(tone(sec(0.35), 0.5), tone(sec(1), 0)),
			reason: Silence, pushed: [2]int{sec(0.35) + hold, sec(0.35) + hold + l.Frame},
			start: [2]int{0, 0}, end: [2]int{sec(0.35), sec(0.35) + sec(0.02)},
		},
		{
			// A 100 ms closure inside the word (shorter than the hold)
			// does not end it: the end is after the second part.
			name: "closure inside the word", x: concat(tone(sec(0.2), 0.5), tone(sec(0.1), 0), tone(sec(0.2), 0.5), tone(sec(1), 0)),
			reason: Silence, pushed: [2]int{sec(0.5) + hold, sec(0.5) + hold + l.Frame},
			start: [2]int{0, 0}, end: [2]int{sec(0.5), sec(0.52)},
		},
		{
			// Leading silence is waited for and trimmed; the cap and the
			// minimum count from the onset.
			name: "leading silence", x: concat(tone(sec(0.2), 0), tone(sec(0.3), 0.5), tone(sec(1), 0)),
			reason: Silence, pushed: [2]int{sec(0.5) + hold, sec(0.5) + hold + l.Frame},
			start: [2]int{sec(0.18), sec(0.2)}, end: [2]int{sec(0.5), sec(0.52)},
		},
		{
			// A tone that lasts past the cap is kept whole up to the cap:
			// nothing is cut before it.
			name: "tone to the cap", x: tone(sec(2), 0.5),
			reason: Cap, pushed: [2]int{l.Cap, l.Cap},
			start: [2]int{0, 0}, end: [2]int{l.Cap, l.Cap},
		},
		{
			// A model that does not fall silent: the word, a 60 ms dip
			// 28 dB down (amplitude 0.02 against 0.5: quieter than a
			// closure is loud, not silent for the detector), then more
			// sound to the cap. The word ends in the middle of the
			// quietest 50 ms after the median (0.4 s): frames 45-49,
			// so at 3800 samples.
			name: "dip after the median", x: concat(tone(sec(0.45), 0.5), tone(sec(0.06), 0.02), tone(sec(1), 0.5)),
			reason: Dip, pushed: [2]int{l.Cap, l.Cap},
			start: [2]int{0, 0}, end: [2]int{sec(0.45), 3800},
		},
		{
			// A dip before the median length is part of the word:
			// everything is kept up to the cap.
			name: "dip before the median", x: concat(tone(sec(0.2), 0.5), tone(sec(0.06), 0.02), tone(sec(1), 0.5)),
			reason: Cap, pushed: [2]int{l.Cap, l.Cap},
			start: [2]int{0, 0}, end: [2]int{l.Cap, l.Cap},
		},
		{
			// A quiet tone (-40 dBFS peak, above the -55 dBFS floor) is
			// speech too: it is not mistaken for silence.
			name: "quiet tone to the cap", x: tone(sec(2), 0.01),
			reason: Cap, pushed: [2]int{l.Cap, l.Cap},
			start: [2]int{0, 0}, end: [2]int{l.Cap, l.Cap},
		},
		{
			// A short word (0.1 s, before the earliest end) followed by
			// silence ends once the silence has lasted two holds and
			// passed the minimum length.
			name: "short word", x: concat(tone(sec(0.1), 0.5), tone(sec(1), 0)),
			reason: Silence, pushed: [2]int{max(sec(0.1)+2*hold, l.MinEnd), max(sec(0.1)+2*hold, l.MinEnd) + l.Frame},
			start: [2]int{0, 0}, end: [2]int{sec(0.1), sec(0.12)},
		},
		{
			// Nothing above the floor within the lead time.
			name: "silence", x: tone(sec(2), 0),
			reason: NoOnset, pushed: [2]int{l.Lead, l.Lead},
			start: [2]int{0, 0}, end: [2]int{0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewUtterance(256, testRate, testDur, Options{})
			n := feed(u, tt.x)
			if u.Reason() != tt.reason {
				t.Errorf("Reason() = %v, want %v", u.Reason(), tt.reason)
			}
			if n < tt.pushed[0] || n > tt.pushed[1] {
				t.Errorf("done after %d codes, want %d to %d", n, tt.pushed[0], tt.pushed[1])
			}
			s, e := u.Trimmed()
			if s < tt.start[0] || s > tt.start[1] || e < tt.end[0] || e > tt.end[1] {
				t.Errorf("Trimmed() = %d, %d, want start in %v, end in %v", s, e, tt.start, tt.end)
			}
			if got := len(u.Samples(nil)); got != e-s {
				t.Errorf("len(Samples) = %d, want %d", got, e-s)
			}
			if !u.Push(mulaw.Silence(256)) || u.Len() != n {
				t.Errorf("Push after done: Len() = %d, want %d and done", u.Len(), n)
			}
		})
	}
}

func TestUtteranceRunningTrim(t *testing.T) {
	// Before the end, Trimmed covers what was pushed so far.
	u := NewUtterance(256, testRate, testDur, Options{})
	n := feed(u, concat(tone(sec(0.05), 0), tone(sec(0.1), 0.5)))
	if u.Done() || n != sec(0.15) {
		t.Fatalf("after 0.15 s: Done() = %v, pushed %d, want running", u.Done(), n)
	}
	s, e := u.Trimmed()
	// Trim frames are 20 ms (160 samples): the tone starts at 0.05 s, half
	// way through the third frame, which is kept from its start at 0.04 s.
	if s < sec(0.04) || s > sec(0.05) || e != sec(0.15) {
		t.Errorf("Trimmed() = %d, %d, want start in [%d, %d], end %d", s, e, sec(0.04), sec(0.05), sec(0.15))
	}
}

func TestOnsetIgnoresClicks(t *testing.T) {
	// A 5 ms click, 0.3 s of silence, then the word: the onset is the
	// word's (three 10 ms frames in a row above the floor), so the
	// silence after the click does not end the utterance.
	x := concat(tone(sec(0.005), 0.9), tone(sec(0.3), 0), tone(sec(0.4), 0.5), tone(sec(1), 0))
	u := NewUtterance(256, testRate, testDur, Options{})
	feed(u, x)
	if u.Reason() != Silence || u.Onset() < sec(0.3) || u.Onset() > sec(0.31) {
		t.Errorf("click, silence, word: Reason() = %v, Onset() = %d, want silence and the onset at %d", u.Reason(), u.Onset(), sec(0.305))
	}
	// The click is not kept either (trim frames are 20 ms: the word's
	// start lies in the frame from 0.3 s).
	if s, e := u.Trimmed(); s < sec(0.3) || s > sec(0.305) || e < sec(0.705) || e > sec(0.725) {
		t.Errorf("Trimmed() = %d, %d, want the word only, from %d to %d", s, e, sec(0.305), sec(0.705))
	}
}

// BenchmarkUtterancePush measures the detector's cost per generated
// sample, to set against the generator's step (tens of microseconds for
// the small preset): a word of 0.5 s, then silence until the end.
func BenchmarkUtterancePush(b *testing.B) {
	codes := mulaw.Encode(nil, concat(tone(sec(0.5), 0.5), tone(sec(1), 0)), 256)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		u := NewUtterance(256, testRate, testDur, Options{})
		for _, c := range codes {
			n++
			if u.Push(c) {
				break
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
}
