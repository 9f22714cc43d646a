package audio

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
			// (measured on these cases; this test logs it) in bands more
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

func TestDefaultMelParams(t *testing.T) {
	// The hop is the power of two nearest rate/86 (Tacotron 2's 256 at
	// 22.05 kHz), n_fft four hops.
	for _, tc := range []struct{ rate, hop int }{
		{8000, 128}, {11025, 128}, {16000, 256}, {22050, 256}, {24000, 256}, {44100, 512}, {48000, 512},
	} {
		p := DefaultMelParams(tc.rate)
		if p.HopLength != tc.hop || p.NFFT != 4*tc.hop || p.WinLength != 4*tc.hop || p.FMax != float64(tc.rate)/2 {
			t.Errorf("DefaultMelParams(%d) = hop %d, n_fft %d, win %d, f_max %g; want hop %d, n_fft = win = %d, f_max %g",
				tc.rate, p.HopLength, p.NFFT, p.WinLength, p.FMax, tc.hop, 4*tc.hop, float64(tc.rate)/2)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("DefaultMelParams(%d).Validate() = %v", tc.rate, err)
		}
	}
}

// TestMelParamsJSON pins the JSON of MelParams: it is stored in model
// configs, and its names are torchaudio's.
func TestMelParamsJSON(t *testing.T) {
	b, err := json.Marshal(TacotronMelParams())
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"sample_rate":22050,"n_fft":1024,"win_length":1024,"hop_length":256,"window":"hann","center":true,"power":1,"n_mels":80,"f_min":0,"f_max":8000,"mel_scale":"slaney","norm":"slaney","log_base":"e","floor":0.00001}`
	if string(b) != want {
		t.Errorf("json.Marshal(TacotronMelParams()) = %s, want %s", b, want)
	}
	var p MelParams
	if err := json.Unmarshal(b, &p); err != nil || p != TacotronMelParams() {
		t.Errorf("json.Unmarshal(%s) = %+v, %v; want TacotronMelParams()", b, p, err)
	}
}

func TestMelParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*MelParams)
		want string // in the error
	}{
		{"rate", func(p *MelParams) { p.SampleRate = 0 }, "sample_rate 0"},
		{"n_fft", func(p *MelParams) { p.NFFT = 1 }, "n_fft 1"},
		{"win", func(p *MelParams) { p.WinLength = 2000 }, "win_length 2000"},
		{"hop", func(p *MelParams) { p.HopLength = 0 }, "hop_length 0"},
		{"window", func(p *MelParams) { p.Window = "hamming" }, `window "hamming"`},
		{"power", func(p *MelParams) { p.Power = 3 }, "power 3"},
		{"n_mels", func(p *MelParams) { p.NMels = 600 }, "n_mels 600"},
		{"f_min", func(p *MelParams) { p.FMin = -1 }, "f_min -1"},
		{"f_max", func(p *MelParams) { p.FMax = 12000 }, "f_max 12000"},
		{"f_nan", func(p *MelParams) { p.FMin = math.NaN() }, "f_min NaN"},
		{"empty band", func(p *MelParams) { p.FMin = 8000 }, "f_min 8000"},
		{"scale", func(p *MelParams) { p.MelScale = "" }, `mel_scale ""`},
		{"norm", func(p *MelParams) { p.Norm = "" }, `norm ""`},
		{"log", func(p *MelParams) { p.LogBase = "2" }, `log_base "2"`},
		{"floor", func(p *MelParams) { p.Floor = 0 }, "floor 0"},
	} {
		p := TacotronMelParams()
		tc.edit(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "audio: mel: ") {
			t.Errorf("%s: Validate(%+v) = %v, want an error naming %q", tc.name, p, err, tc.want)
		}
		if _, err := NewMel(p); err == nil {
			t.Errorf("%s: NewMel(%+v) succeeded, want the Validate error", tc.name, p)
		}
	}
}

func TestMelShortInput(t *testing.T) {
	p := DefaultMelParams(8000) // n_fft 512
	if _, err := LogMel(nil, make([]float32, 256), p); err == nil {
		t.Errorf("LogMel(256 samples, centred n_fft 512) succeeded, want an error (reflect padding needs more than 256)")
	}
	s, err := LogMel(nil, make([]float32, 257), p)
	if err != nil || s.Frames != 3 || len(s.Data) != 3*80 {
		t.Errorf("LogMel(257 samples, centred n_fft 512, hop 128) = %v, %v; want 1 + 257/128 = 3 frames", s, err)
	}
	p.Center = false
	s, err = LogMel(nil, make([]float32, 511), p)
	if err != nil || s.Frames != 0 || len(s.Data) != 0 {
		t.Errorf("LogMel(511 samples, n_fft 512, not centred) = %v, %v; want 0 frames", s, err)
	}
}

// naiveLogMel is the plain reference of Mel.Compute: the signal padded
// explicitly, the Hann window and the DFT summed directly.
func naiveLogMel(x []float32, p MelParams) [][]float64 {
	n := len(x)
	var pad []float64
	off := 0
	if p.Center {
		off = p.NFFT / 2
	}
	for j := -off; j < n+off; j++ {
		k := j
		if k < 0 {
			k = -k
		}
		if k >= n {
			k = 2*(n-1) - k
		}
		pad = append(pad, float64(x[k]))
	}
	fb, err := MelFilterbank(p)
	if err != nil {
		panic(err)
	}
	var out [][]float64
	for start := 0; start+p.NFFT <= len(pad); start += p.HopLength {
		spec := make([]float64, p.NFFT/2+1)
		for k := range spec {
			var re, im float64
			for i := range p.WinLength {
				w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(p.WinLength))
				j := (p.NFFT-p.WinLength)/2 + i
				v := pad[start+j] * w
				re += v * math.Cos(2*math.Pi*float64(k*j)/float64(p.NFFT))
				im -= v * math.Sin(2*math.Pi*float64(k*j)/float64(p.NFFT))
			}
			spec[k] = math.Pow(math.Hypot(re, im), p.Power)
		}
		row := make([]float64, p.NMels)
		for m := range row {
			e := 0.0
			for k, w := range fb[m] {
				e += w * spec[k]
			}
			row[m] = math.Log(max(e, p.Floor))
			if p.LogBase == LogBase10 {
				row[m] = math.Log10(max(e, p.Floor))
			}
		}
		out = append(out, row)
	}
	return out
}

// TestMelNaive checks Compute against naiveLogMel where the goldens do not
// reach: odd n_fft, odd window lengths, inputs just long enough for the
// reflect padding, a reused dst.
func TestMelNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var dst []float32
	for _, tc := range []struct {
		nfft, win, hop, mels, samples int
		center                        bool
		power                         float64
	}{
		{63, 50, 7, 10, 32, true, 2},
		{63, 63, 16, 12, 200, true, 1},
		{64, 33, 10, 8, 33, true, 1},
		{65, 40, 9, 8, 100, false, 2},
		{32, 32, 32, 16, 32, false, 1},
	} {
		p := DefaultMelParams(8000)
		p.NFFT, p.WinLength, p.HopLength, p.NMels, p.Center, p.Power = tc.nfft, tc.win, tc.hop, tc.mels, tc.center, tc.power
		p.MelScale, p.Norm = MelScaleHTK, MelNormNone
		x := make([]float32, tc.samples)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.3)
		}
		m, err := NewMel(p)
		if err != nil {
			t.Fatal(err)
		}
		dst, err = m.Compute(dst, x)
		if err != nil {
			t.Fatalf("Compute(%d samples, %+v): %v", tc.samples, p, err)
		}
		want := naiveLogMel(x, p)
		if len(dst) != len(want)*p.NMels || len(want) != p.Frames(len(x)) {
			t.Fatalf("Compute(%d samples, %+v) = %d values, want %d frames x %d (Frames says %d)", tc.samples, p, len(dst), len(want), p.NMels, p.Frames(len(x)))
		}
		for f, row := range want {
			for b, v := range row {
				// The output is float32: 1e-5 is a few ulps of a log
				// up to 12 in magnitude.
				if got := dst[f*p.NMels+b]; math.Abs(float64(got)-v) > 1e-5 {
					t.Fatalf("Compute(%d samples, %+v)[frame %d, mel %d] = %g, naive %g", tc.samples, p, f, b, got, v)
				}
			}
		}
	}
}

func TestMelComputeAllocs(t *testing.T) {
	p := DefaultMelParams(8000)
	m, err := NewMel(p)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 8000)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	dst := make([]float32, p.Frames(len(x))*p.NMels)
	if n := testing.AllocsPerRun(10, func() { dst, _ = m.Compute(dst, x) }); n != 0 {
		t.Errorf("Compute(dst of the right size) allocates %g times, want 0", n)
	}
}

// BenchmarkLogMel computes the default mels of 10 s of noise per
// iteration with one Mel; "x-realtime" is seconds of audio per second.
func BenchmarkLogMel(b *testing.B) {
	for _, rate := range []int{8000, 16000, 22050} {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			p := DefaultMelParams(rate)
			m, err := NewMel(p)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, 10*rate)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 0.1)
			}
			var dst []float32
			b.ReportAllocs()
			for b.Loop() {
				if dst, err = m.Compute(dst, x); err != nil {
					b.Fatal(err)
				}
			}
			sps := float64(b.N*len(x)) / b.Elapsed().Seconds()
			b.ReportMetric(sps, "samples/s")
			b.ReportMetric(sps/float64(rate), "x-realtime")
		})
	}
}
