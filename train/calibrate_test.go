package train

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// calRate is the rate of the calibration corpus.
const calRate = 8000

func calSec(s float64) int { return int(math.Round(s * calRate)) }

// calTone is n samples of a 440 Hz sine of amplitude a.
func calTone(n int, a float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(a * math.Sin(2*math.Pi*440*float64(i)/calRate))
	}
	return x
}

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
				x := append(append(calTone(calSec(0.1), 0), calTone(calSec(toneSeconds(s, d, i)), 0.3)...), calTone(calSec(0.2), 0)...)
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d_%s_%d.wav", d, sp, i)))
				if err != nil {
					t.Fatal(err)
				}
				if err := audio.Encode(f, x, calRate, audio.PCM16); err != nil {
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
	cfg := wavenet.Config{SampleRate: calRate, QuantizationChannels: 256}
	cfg.Conditions = []wavenet.Condition{
		{Name: "speaker", Values: []string{"ann", "bob"}},
		{Name: "digit", Values: []string{"0", "1", "2"}},
	}
	st, err := Calibrate(context.Background(), cfg, dir, corpus.Options{})
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
		w := speech.Summarize(want)
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
	if err := speech.WriteStats(mdir, st); err != nil {
		t.Fatal(err)
	}
	back, err := speech.LoadStats(mdir)
	if err != nil {
		t.Fatal(err)
	}
	if back.All != st.All || len(back.Groups) != len(st.Groups) || back.Source != st.Source {
		t.Errorf("LoadStats after WriteStats = %+v, want %+v", back, st)
	}
	entries, _ := os.ReadDir(mdir)
	if len(entries) != 1 {
		t.Errorf("model directory holds %d files after WriteStats, want only %s", len(entries), speech.StatsFile)
	}
}
