package speech

import (
	"errors"
	"io/fs"
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		in   []float64
		want Duration
	}{
		{nil, Duration{}},
		{[]float64{2}, Duration{N: 1, Median: 2, P90: 2, Max: 2}},
		// 1..10: the median interpolates between 5 and 6; p90 sits at
		// position 0.9 * 9 = 8.1, between 9 and 10.
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Duration{N: 10, Median: 5.5, P90: 9.1, Max: 10}},
	}
	for _, tt := range tests {
		got := Summarize(tt.in)
		if got.N != tt.want.N || math.Abs(got.Median-tt.want.Median) > 1e-12 ||
			math.Abs(got.P90-tt.want.P90) > 1e-12 || got.Max != tt.want.Max {
			t.Errorf("Summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// toneSeconds is the length of the tone in the synthetic recording of
// (speaker s, digit d, index i): 0.2 s, plus 50 ms per digit, plus 100 ms
// for the second speaker, plus 10 ms per index.
func TestLookupFallbacks(t *testing.T) {
	cfg := testConfig(16)
	st := &Stats{Conditions: []string{"speaker", "digit"},
		Groups: []Group{{Values: []string{"alice", "3"}, Duration: Duration{N: 5, Median: 0.5, P90: 0.6, Max: 0.7}}},
		All:    Duration{N: 9, Median: 0.3, P90: 0.4, Max: 0.5}}
	tests := []struct {
		s    *Stats
		cond []int
		want Duration
		from string
	}{
		{st, []int{0, 3}, st.Groups[0].Duration, "group"},
		{st, []int{1, 3}, st.All, "all"},
		{&Stats{Conditions: st.Conditions}, []int{0, 3}, DefaultDuration, "default"},
		{nil, []int{0, 3}, DefaultDuration, "default"},
		// Statistics keyed by a condition the model lacks: not a group.
		{&Stats{Conditions: []string{"accent"}, Groups: []Group{{Values: []string{"x"}, Duration: st.All}}}, []int{0, 3}, DefaultDuration, "default"},
	}
	for _, tt := range tests {
		d, from := tt.s.Lookup(cfg, tt.cond)
		if d != tt.want || from != tt.from {
			t.Errorf("Lookup(%v) = %+v from %s, want %+v from %s", tt.cond, d, from, tt.want, tt.from)
		}
	}
}

func TestReadStatsMissing(t *testing.T) {
	_, err := LoadStats(t.TempDir())
	if !errors.Is(err, ErrNoStats) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadStats(empty dir) = %v, want ErrNoStats and fs.ErrNotExist", err)
	}
	if _, err := ParseStats([]byte(`{"conditions":["a","b"],"groups":[{"values":["x"]}]}`)); err == nil {
		t.Error("ParseStats with a group of 1 value for 2 conditions = nil error, want an error")
	}
}
