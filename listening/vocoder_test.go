package listening

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/listening/listeningtest"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// testVocoder is wavenettest's untrained 8 kHz vocoder (hop 16).
func testVocoder(t *testing.T) *synth.Bundle {
	return &synth.Bundle{Model: wavenettest.Vocoder(t, 7)}
}

// writeRecordings writes FSDD-named 8 kHz recordings of n samples to dir:
// a tone with noise, its frequency set by the digit.
func writeRecordings(t *testing.T, dir string, n int, names ...string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range names {
		d, _ := strconv.Atoi(name[:1])
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(0.3*math.Sin(2*math.Pi*float64(300+100*d)*float64(i)/8000) + 0.02*rng.NormFloat64())
		}
		var b bytes.Buffer
		if err := audio.Encode(&b, x, 8000, audio.PCM16); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMakeVocoder(t *testing.T) {
	data, fsdd := t.TempDir(), t.TempDir()
	// Three validation recordings (index 5-9) of 0.2 s, and two outside
	// the range that must be left out.
	writeRecordings(t, data, 1600, "3_alice_5.wav", "4_bob_7.wav", "3_bob_9.wav", "3_alice_0.wav", "5_bob_12.wav")
	listeningtest.WriteDigitCorpus(t, fsdd)
	out := filepath.Join(t.TempDir(), "pairs")
	var report bytes.Buffer
	var calls []int
	o := VocoderOptions{Out: out, Data: data, ValLo: 5, ValHi: 9, ValIndex: "5-9", Seed: 3, FSDD: fsdd,
		Report: &report, Progress: func(done, total int) { calls = append(calls, done, total) }}
	r, err := MakeVocoder(context.Background(), testVocoder(t), o)
	if err != nil {
		t.Fatal(err)
	}
	// The order spreads speakers over digits: speaker s takes digit
	// (j+s) mod 2 of the digits {3, 4}, so j=0 gives (alice, 3), (bob, 4)
	// and j=1 (alice, 4: none), (bob, 3).
	var got []string
	for _, c := range r.Copies {
		got = append(got, c.Name)
	}
	if want := "3_alice_5 4_bob_7 3_bob_9"; strings.Join(got, " ") != want {
		t.Errorf("copies %q, want %q", got, want)
	}
	if want := "0 3 1 3 2 3 3 3"; fmt.Sprint(calls) != "["+want+"]" {
		t.Errorf("progress calls %v, want %v", calls, want)
	}
	index, err := os.ReadFile(filepath.Join(out, "index.md"))
	if err != nil {
		t.Fatal(err)
	}
	const hop = 16 // the test vocoder's
	for _, c := range r.Copies {
		for v := range numVersions {
			clip := readWAV(t, filepath.Join(out, c.File(v)))
			// Copy synthesis gives 1 + 1600/16 = 101 centred frames of
			// 16 samples: the 1600 samples of the original within a hop.
			if n := clip.Frames(); clip.Format.SampleRate != 8000 || n < 1600-hop || n > 1600+hop {
				t.Errorf("%s: %d samples at %d Hz, want 1600±%d at 8000 Hz", c.File(v), n, clip.Format.SampleRate, hop)
			}
			if !strings.Contains(string(index), "("+c.File(v)+")") {
				t.Errorf("index.md does not link %s", c.File(v))
			}
		}
		for _, v := range []Version{WaveNet, GriffinLim} {
			if m := c.MCD[v]; math.IsNaN(m) || math.IsInf(m, 0) || m <= 0 {
				t.Errorf("%s: MCD %v, want a finite positive number of dB", c.File(v), m)
			}
		}
		f, err := os.Open(filepath.Join(out, c.PNG()))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		// Three panels of 5 x 2.5 in at 96 dpi (gonum's vgimg default):
		// 480 x 720 pixels.
		if err != nil || img.Bounds().Dx() != 480 || img.Bounds().Dy() != 720 {
			t.Errorf("%s: decode error %v, want a 480 x 720 image (three panels)", c.PNG(), err)
		}
		if !strings.Contains(string(index), "| "+c.Name+" | ") || !strings.Contains(string(index), "("+c.PNG()+")") {
			t.Errorf("index.md has no row for %s with its PNG", c.Name)
		}
		if c.HeardErr[Original] != nil || c.Heard[Original].Digit == "" {
			t.Errorf("%s: no verdict on the original (err %v)", c.Name, c.HeardErr[Original])
		}
	}
	for _, want := range []string{"| WaveNet | ", "| Griffin-Lim | ", "mean MCD", "median MCD", "digit recognised"} {
		if !strings.Contains(string(index), want) {
			t.Errorf("index.md lacks %q:\n%s", want, index)
		}
	}
	for _, want := range []string{"WaveNet     MCD against the originals: mean", "Griffin-Lim MCD", "wrote 3 copy-synthesis triples"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, report.String())
		}
	}

	// Max 2 takes the first two of the order; the same seed gives the
	// same audio.
	o2 := o
	o2.Out, o2.Max, o2.FSDD, o2.Report, o2.Progress = filepath.Join(t.TempDir(), "two"), 2, "", nil, nil
	r2, err := MakeVocoder(context.Background(), testVocoder(t), o2)
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Copies) != 2 || r2.Copies[1].Name != "4_bob_7" {
		t.Fatalf("Max 2 gave %d copies, want 3_alice_5 and 4_bob_7", len(r2.Copies))
	}
	for v := range numVersions {
		a, errA := os.ReadFile(filepath.Join(out, r2.Copies[0].File(v)))
		b, errB := os.ReadFile(filepath.Join(o2.Out, r2.Copies[0].File(v)))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs with seed 3", r2.Copies[0].File(v))
		}
	}
}

func TestMakeVocoderErrors(t *testing.T) {
	data, empty, bad := t.TempDir(), t.TempDir(), t.TempDir()
	writeRecordings(t, data, 800, "1_alice_5.wav")
	if err := os.WriteFile(filepath.Join(bad, "2_bob_6.wav"), []byte("RIFF not a wav"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := func(dir string) VocoderOptions {
		return VocoderOptions{Out: filepath.Join(t.TempDir(), "out"), Data: dir, ValLo: 5, ValHi: 9, ValIndex: "5-9"}
	}
	for _, c := range []struct {
		name string
		b    *synth.Bundle
		o    VocoderOptions
		want string
	}{
		{"not a vocoder", testBundle(t), o(data), "needs a vocoder: a model trained with --local mel"},
		{"no recordings", testVocoder(t), o(empty), empty},
		{"missing directory", testVocoder(t), o(filepath.Join(empty, "nope")), "nope"},
		{"unreadable file", testVocoder(t), o(bad), "2_bob_6.wav"},
	} {
		_, err := MakeVocoder(context.Background(), c.b, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: MakeVocoder = %v, want an error containing %q", c.name, err, c.want)
		}
		if c.name == "not a vocoder" && !errors.Is(err, ErrNotVocoder) {
			t.Errorf("%s: error %v is not ErrNotVocoder", c.name, err)
		}
	}
}
