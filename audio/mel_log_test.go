package audio

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// melGolden is testdata/mel/manifest.json, written by testdata/mel/gen.py
// from torchaudio 0.13.1.
type melGolden struct {
	Cases []struct {
		Name, Preset  string
		Params        MelParams
		Input, Output string
		Frames        int
		NMels         int `json:"n_mels"`
		Dtype         string
	}
}

// readF32 reads a little-endian float32 file of testdata/mel.
func readF32(t testing.TB, name string) []float32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mel", name))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// TestLogMelTorchaudio checks LogMel against torchaudio's MelSpectrogram
// followed by log(clamp(m, min=floor)) on the golden cases of gen.py: the
// defaults at 8, 16 and 22.05 kHz, the Tacotron 2 preset and an HTK /
// no-norm / power-2 / log10 / short-window case, each on a chirp, seeded
// noise and a tone followed by silence.
func TestLogMelTorchaudio(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "mel", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g melGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("manifest.json: no cases")
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			// gen.py mirrors DefaultMelParams and TacotronMelParams.
			preset, ok := map[string]MelParams{
				"default":  DefaultMelParams(c.Params.SampleRate),
				"tacotron": TacotronMelParams(),
			}[c.Preset]
			if ok && preset != c.Params {
				t.Errorf("manifest params = %+v, want preset %s = %+v", c.Params, c.Preset, preset)
			}
			x := readF32(t, c.Input)
			want := readF32(t, c.Output)
			s, err := LogMel(nil, x, c.Params)
			if err != nil {
				t.Fatalf("LogMel(%s, %+v): %v", c.Input, c.Params, err)
			}
			if s.Frames != c.Frames || s.Bins != c.NMels || len(want) != c.Frames*c.NMels {
				t.Fatalf("LogMel(%s) = %d x %d, want %d x %d (%d values in %s)", c.Input, s.Frames, s.Bins, c.Frames, c.NMels, len(want), c.Output)
			}
			// 1e-4 absolute on the log values is the bar of issue 16;
			// against torchaudio in float64 LogMel's float64 arithmetic
			// agrees to float32 rounding of the output. Torchaudio's
			// float32 result is itself up to 2.7e-3 from its float64 one
			// (measured by gen.py's author on these cases) in bands more
			// than 8 nats below their frame's loudest, where the float32
			// FFT's rounding (about 1e-7 of the frame) is a visible
			// share of the band; within 8 nats it agrees to 7.1e-5. So a
			// float32 case is held to 1e-4 within 8 nats of the frame's
			// loudest band and to 5e-3 below.
			nats := 1.0
			if c.Params.LogBase == LogBase10 {
				nats = math.Ln10
			}
			var near, far float64 // max |diff| within and below 8 nats of the frame's loudest
			for f := range s.Frames {
				row := s.Row(f)
				top := slices.Max(row)
				for b, v := range row {
					i := f*s.Bins + b
					d := math.Abs(float64(v) - float64(want[i]))
					tol := 1e-4
					if c.Dtype == "float32" && float64(top-v)*nats > 8 {
						tol, far = 5e-3, max(far, d)
					} else {
						near = max(near, d)
					}
					if !(d <= tol) {
						t.Fatalf("LogMel(%s)[frame %d, mel %d] = %g, torchaudio (%s) %g: |diff| %.3g > %g",
							c.Input, f, b, v, c.Dtype, want[i], d, tol)
					}
				}
			}
			t.Logf("torch %s: max |diff| %.2g (bar 1e-4), %.2g more than 8 nats below the frame's loudest (bar 5e-3)", c.Dtype, near, far)
		})
	}
}
