package classify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
)

// writeSet writes synthetic utterances as {digit}_{speaker}_{index}.wav.
func writeSet(t *testing.T, dir string, rate int, indices int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(4, 4))
	for d := 0; d < 3; d++ {
		for s, name := range []string{"ann", "bob"} {
			for i := 0; i < indices; i++ {
				x := synth(rng, d, s)
				if rate != 8000 {
					var err error
					if x, err = audio.Resample(nil, x, 8000, rate); err != nil {
						t.Fatal(err)
					}
				}
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d_%s_%d.wav", d, name, i)))
				if err != nil {
					t.Fatal(err)
				}
				if err := audio.Encode(f, x, rate, audio.PCM16); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
		}
	}
}

func TestLoadDirAndEvaluate(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, 8000, 8)
	os.WriteFile(filepath.Join(dir, "notes.wav"), []byte("not named like a digit"), 0o644)
	train, _, skipped, err := LoadDir(context.Background(), dir, IndexIn(0, 1, false))
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 3*2*6 || len(skipped) != 1 {
		t.Fatalf("LoadDir(outside 0-1): %d examples, %d skipped; want 36, 1", len(train), len(skipped))
	}
	c, err := Train(context.Background(), train)
	if err != nil {
		t.Fatal(err)
	}
	// Held-out files at another rate are resampled to the classifier's.
	other := t.TempDir()
	writeSet(t, other, 16000, 2)
	ex, names, _, err := LoadDir(context.Background(), other, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Evaluate(ex, names)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 12 || rep.DigitAccuracy() != 1 || rep.SpeakerAccuracy() != 1 {
		t.Errorf("Evaluate: %d files, digit %.2f, speaker %.2f; want 12 files all recognised",
			rep.Files, rep.DigitAccuracy(), rep.SpeakerAccuracy())
	}
	if rep.Results[0].ResampledFrom != 16000 {
		t.Errorf("Results[0].ResampledFrom = %d, want 16000", rep.Results[0].ResampledFrom)
	}
	if _, _, _, err := LoadDir(context.Background(), t.TempDir(), nil); err == nil {
		t.Error("LoadDir on an empty dir: want an error")
	}
}

// LoadDir reads FSDD-named .flac files (extension in any case) beside
// .wav, with the same samples: the FLAC encoder is 16-bit like the WAVs,
// so the examples agree to the PCM16 step 2^-15.
func TestLoadDirFLAC(t *testing.T) {
	wavs, flacs := t.TempDir(), t.TempDir()
	writeSet(t, wavs, 8000, 1)
	want, wantNames, _, err := LoadDir(context.Background(), wavs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range wantNames {
		ext := ".flac"
		if i%2 == 1 {
			ext = ".FLAC"
		}
		f, err := os.Create(filepath.Join(flacs, n[:len(n)-len(".wav")]+ext))
		if err != nil {
			t.Fatal(err)
		}
		enc, err := audio.NewEncoder(f, audio.EncodingFLAC, 8000, len(want[i].Samples))
		if err == nil {
			err = enc.Write(want[i].Samples)
		}
		if err == nil {
			err = enc.Close()
		}
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	got, names, skipped, err := LoadDir(context.Background(), flacs, nil)
	if err != nil {
		t.Fatalf("LoadDir of FSDD-named .flac files: %v", err)
	}
	if len(got) != len(want) || len(skipped) != 0 {
		t.Fatalf("LoadDir of %d .flac files: %d examples, %d skipped; want %d, 0", len(want), len(got), len(skipped), len(want))
	}
	for i := range got {
		if got[i].Digit != want[i].Digit || got[i].Speaker != want[i].Speaker || got[i].Rate != 8000 || len(got[i].Samples) != len(want[i].Samples) {
			t.Fatalf("LoadDir %s = digit %s, speaker %s, %d Hz, %d samples; want %s, %s, 8000 Hz, %d samples",
				names[i], got[i].Digit, got[i].Speaker, got[i].Rate, len(got[i].Samples), want[i].Digit, want[i].Speaker, len(want[i].Samples))
		}
		for j, v := range got[i].Samples {
			if d := v - want[i].Samples[j]; d > 1.0/32768 || d < -1.0/32768 {
				t.Fatalf("LoadDir %s sample %d = %v, want %v (the WAV's) within 2^-15", names[i], j, v, want[i].Samples[j])
			}
		}
	}
}
