package speech

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/wavenet"
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
func toneSeconds(s, d, i int) float64 {
	return 0.2 + 0.05*float64(d) + 0.1*float64(s) + 0.01*float64(i)
}

// writeCorpus writes a small FSDD-like corpus: for two speakers, digits
// 0-2 and indices 0-14, a tone of toneSeconds between 0.1 s of silence
// before and 0.2 s after.
func writeCorpus(t *testing.T, dir string) {
	t.Helper()
	for s, sp := range []string{"ann", "bob"} {
		for d := 0; d < 3; d++ {
			for i := 0; i < 15; i++ {
				x := concat(tone(sec(0.1), 0), tone(sec(toneSeconds(s, d, i)), 0.3), tone(sec(0.2), 0))
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d_%s_%d.wav", d, sp, i)))
				if err != nil {
					t.Fatal(err)
				}
				if err := audio.Encode(f, x, testRate, audio.PCM16); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestCalibrate(t *testing.T) {
	dir := t.TempDir()
	writeCorpus(t, dir)
	cfg := testConfig(16)
	cfg.Conditions = []wavenet.Condition{
		{Name: "speaker", Values: []string{"ann", "bob"}},
		{Name: "digit", Values: []string{"0", "1", "2"}},
	}
	st, err := Calibrate(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	// Indices 5-9 are validation: 10 training utterances per group.
	if len(st.Groups) != 6 || st.All.N != 60 {
		t.Fatalf("Calibrate: %d groups, %d utterances, want 6 groups of 10 (indices 0-4, 10-14)", len(st.Groups), st.All.N)
	}
	for _, g := range st.Groups {
		s := map[string]int{"ann": 0, "bob": 1}[g.Values[0]]
		d := int(g.Values[1][0] - '0')
		var want []float64
		for _, i := range []int{0, 1, 2, 3, 4, 10, 11, 12, 13, 14} {
			want = append(want, toneSeconds(s, d, i))
		}
		w := Summarize(want)
		// Trimming keeps whole 20 ms frames: a length is within one
		// frame of the tone's.
		const tol = 0.02
		if g.N != 10 || math.Abs(g.Median-w.Median) > tol || math.Abs(g.P90-w.P90) > tol || math.Abs(g.Max-w.Max) > tol {
			t.Errorf("group %v = %+v, want %+v within %v s", g.Values, g.Duration, w, tol)
		}
	}
	// Lookup finds the group of the conditioning indices.
	d, from := st.Lookup(cfg, []int{1, 2})
	if from != "group" || math.Abs(d.Median-toneSeconds(1, 2, 7)) > 0.02 {
		t.Errorf("Lookup(bob, 2) = %+v from %s, want the group's median near %v", d, from, toneSeconds(1, 2, 7))
	}

	// Round trip through the model directory.
	mdir := t.TempDir()
	if err := WriteStats(mdir, st); err != nil {
		t.Fatal(err)
	}
	back, err := LoadStats(mdir)
	if err != nil {
		t.Fatal(err)
	}
	if back.All != st.All || len(back.Groups) != len(st.Groups) || back.Source != st.Source {
		t.Errorf("LoadStats after WriteStats = %+v, want %+v", back, st)
	}
	entries, _ := os.ReadDir(mdir)
	if len(entries) != 1 {
		t.Errorf("model directory holds %d files after WriteStats, want only %s", len(entries), StatsFile)
	}
}

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
