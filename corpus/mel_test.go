package corpus

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
)

func TestLoadMel(t *testing.T) {
	// A 1 kHz tone at 16 kHz: Utterance.Mel is LogMel of the processed
	// samples (here resampled 8 -> 16 kHz and normalised), 1 + n/hop
	// centred frames, its loudest band the one around 1 kHz.
	dir := t.TempDir()
	x := make([]float32, 4000)
	for i := range x {
		x[i] = 0.3 * float32(math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	writeWAV(t, filepath.Join(dir, "1_amy_0.wav"), x, 8000)
	p := audio.DefaultMelParams(16000)
	c, err := Load(context.Background(), dir, Options{SampleRate: 16000, Normalize: true, Mel: &p})
	if err != nil {
		t.Fatal(err)
	}
	u := c.Train[0]
	frames := 1 + len(u.Codes)/p.HopLength
	if len(u.Mel) != frames*p.NMels {
		t.Fatalf("Utterance.Mel has %d values, want %d frames of %d", len(u.Mel), frames, p.NMels)
	}
	// The band that weighs the 1 kHz FFT bin most (bin 1000/(rate/n_fft)).
	fb, err := audio.MelFilterbank(p)
	if err != nil {
		t.Fatal(err)
	}
	bin := 1000 * p.NFFT / p.SampleRate
	want := 0
	for b := range fb {
		if fb[b][bin] > fb[want][bin] {
			want = b
		}
	}
	mid := u.Mel[(frames/2)*p.NMels : (frames/2+1)*p.NMels]
	best := 0
	for b, v := range mid {
		if v > mid[best] {
			best = b
		}
	}
	// A neighbouring band may win: the tone sits between two filters.
	if best < want-1 || best > want+1 {
		t.Errorf("loudest mel band of a 1 kHz tone = %d, want %d +- 1", best, want)
	}
	// Without the option, no frames.
	c, err = Load(context.Background(), dir, Options{SampleRate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	if c.Train[0].Mel != nil {
		t.Errorf("Load without Mel: Utterance.Mel has %d values, want nil", len(c.Train[0].Mel))
	}
	// Mel at another rate than the corpus: an error.
	p8 := audio.DefaultMelParams(8000)
	if _, err := Load(context.Background(), dir, Options{SampleRate: 16000, Mel: &p8}); err == nil {
		t.Errorf("Load(16 kHz, mel at 8 kHz) = nil error, want one")
	}
}

func TestSamplerNextAt(t *testing.T) {
	// NextAt's position: the segment is the utterance's codes from it on
	// (silence before 0), and the same draws as Next.
	utts := testUtts()
	const length, pad = 20, 16
	a, b := NewSampler(utts, 7), NewSampler(utts, 7)
	for range 500 {
		seg, u, from := a.NextAt(nil, length, pad)
		seg2, u2 := b.Next(nil, length, pad)
		if u != u2 || len(seg) != len(seg2) {
			t.Fatalf("NextAt and Next differ: %s vs %s", u.Name, u2.Name)
		}
		for j, c := range seg {
			want := int32(128)
			if k := from + j; k >= 0 && k < len(u.Codes) {
				want = u.Codes[k]
			}
			if c != want || seg2[j] != c {
				t.Fatalf("NextAt from %s at %d: code %d at %d, want %d", u.Name, from, c, j, want)
			}
		}
	}
}
