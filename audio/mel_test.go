package audio

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func TestMelSpectrogramTone(t *testing.T) {
	const rate = 16000
	cfg := MelConfig{SampleRate: rate, FFTSize: 512, Hop: 128, Mels: 40}
	s, err := MelSpectrogram(tone(rate, rate, 1000, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 1 + ceil((16000-512)/128) = 122 frames.
	if s.Frames != 122 || s.Bins != 40 || s.FrameRate != 125 {
		t.Fatalf("MelSpectrogram(1 s at 16 kHz) = %d frames x %d bins at %g/s, want 122 x 40 at 125/s", s.Frames, s.Bins, s.FrameRate)
	}
	// The band whose centre is nearest 1 kHz is the loudest in every full
	// frame.
	target, best := 0, math.Inf(1)
	lo, hi := HzToMel(0), HzToMel(rate/2)
	for m := range 40 {
		c := MelToHz(lo + (hi-lo)*float64(m+1)/41)
		if d := math.Abs(c - 1000); d < best {
			target, best = m, d
		}
	}
	for f := 0; f < s.Frames-4; f++ { // the last frames are zero-padded
		row := s.Row(f)
		arg := 0
		for m, v := range row {
			if v > row[arg] {
				arg = m
			}
		}
		if arg != target {
			t.Fatalf("frame %d: loudest band %d, want %d (centre nearest 1 kHz)", f, arg, target)
		}
	}
	// A full-scale sine has power 1/2 (-3 dB); the triangular filters share
	// it between the two bands around 1 kHz, so their sum is -3 dB within
	// 1 dB (the Hann window leaks energy into neighbouring FFT bins, and the
	// bin weights of two triangles sum to 1 only at bin centres).
	row := s.Row(10)
	sum := 0.0
	for _, v := range row {
		sum += math.Pow(10, float64(v)/10)
	}
	if db := 10 * math.Log10(sum); math.Abs(db+3.01) > 1 {
		t.Errorf("total mel power of a full-scale sine = %.2f dB, want -3.01 +- 1", db)
	}
}

func TestMelSpectrogramEdges(t *testing.T) {
	s, err := MelSpectrogram(make([]float32, 100), MelConfig{SampleRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	if s.Frames != 1 {
		t.Errorf("MelSpectrogram(100 samples, FFT 512) = %d frames, want 1", s.Frames)
	}
	for _, v := range s.Data {
		if v != MelFloorDB {
			t.Fatalf("MelSpectrogram(silence) has %g, want %d", v, MelFloorDB)
		}
	}
	if s, _ := MelSpectrogram(nil, MelConfig{SampleRate: 8000}); s.Frames != 0 {
		t.Errorf("MelSpectrogram(nil) = %d frames, want 0", s.Frames)
	}
	for _, c := range []MelConfig{{}, {SampleRate: 8000, FFTSize: 1}, {SampleRate: 8000, Mels: 1000}, {SampleRate: 8000, FMax: 5000}, {SampleRate: 8000, FMin: 3000, FMax: 2000}, {SampleRate: 8000, Hop: -1}} {
		if _, err := MelSpectrogram([]float32{0}, c); err == nil {
			t.Errorf("MelSpectrogram(config %+v) = nil error, want one", c)
		}
	}
}

// TestMFCCAgainstNaiveDFT recomputes one frame's MFCCs from the
// definition (see MFCC) with a plain DFT and an inline DCT.
func TestMFCCAgainstNaiveDFT(t *testing.T) {
	const rate = 8000
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 1000)
	for i := range x {
		x[i] = float32(0.3*math.Sin(2*math.Pi*440*float64(i)/rate) + 0.05*rng.NormFloat64())
	}
	m, err := NewMFCC(MFCCConfig{SampleRate: rate, Coeffs: 13, Filters: 26})
	if err != nil {
		t.Fatal(err)
	}
	frames := m.Frames(x)
	// (1000 - 200) / 80 + 1 = 11 frames of 200 samples (25 ms) every 80 (10 ms).
	if len(frames) != 11 || m.FrameLen() != 200 || m.Hop() != 80 {
		t.Fatalf("Frames: %d frames of %d every %d, want 11 of 200 every 80", len(frames), m.FrameLen(), m.Hop())
	}
	start := 3 * m.hop
	buf := make([]complex128, m.nfft)
	for i := 0; i < m.frame; i++ {
		v := float64(x[start+i]) - 0.97*float64(x[start+i-1])
		buf[i] = complex(v*m.window[i], 0)
	}
	power := make([]float64, m.nfft/2+1)
	for k := range power {
		var s complex128
		for n, v := range buf {
			s += v * cmplx.Exp(complex(0, -2*math.Pi*float64(k*n)/float64(m.nfft)))
		}
		power[k] = real(s)*real(s) + imag(s)*imag(s)
	}
	logE := make([]float64, 26)
	for f := range logE {
		e := 0.0
		for b, w := range m.bank[f] {
			e += w * power[b]
		}
		logE[f] = math.Log(e + 1e-10)
	}
	for k := 0; k < 13; k++ {
		want := 0.0
		for f, v := range logE {
			want += v * math.Cos(math.Pi*float64(k)*(float64(f)+0.5)/26)
		}
		// The FFT and the DFT differ by rounding only: 1e-9 relative.
		if got := frames[3][k]; math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("MFCC frame 3 coeff %d = %v, naive DFT gives %v", k, got, want)
		}
	}
	// The filters are MelSpectrogram's: unit-peak triangles whose centres
	// are equally spaced on the HTK mel scale from 0 Hz to Nyquist.
	hi := HzToMel(rate / 2)
	for f, row := range m.bank {
		centre := MelToHz(hi*float64(f+1)/27) * float64(m.nfft) / rate
		if k := int(math.Round(centre)); row[k] < 0.5 {
			t.Errorf("filter %d: weight %g at bin %d nearest its centre %.2f, want >= 0.5", f, row[k], k, centre)
		}
	}
	for _, c := range []MFCCConfig{{}, {SampleRate: 50}, {SampleRate: 8000, Coeffs: 30, Filters: 26}, {SampleRate: 8000, Filters: 200}} {
		if _, err := NewMFCC(c); err == nil {
			t.Errorf("NewMFCC(%+v) = nil error, want one", c)
		}
	}
	if got := m.Frames(x[:199]); len(got) != 0 {
		t.Errorf("Frames(199 samples) = %d frames, want 0 (a frame is 200)", len(got))
	}
}

func BenchmarkMelSpectrogram(b *testing.B) {
	x := tone(16000, 16000, 440, 0.5)
	cfg := MelConfig{SampleRate: 16000, FFTSize: 512, Hop: 128, Mels: 80}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MelSpectrogram(x, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkMFCC(b *testing.B) {
	x := tone(16000, 16000, 440, 0.5) // 1 s
	m, err := NewMFCC(MFCCConfig{SampleRate: 16000, Coeffs: 20, Filters: 40})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Frames(x)
	}
	b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds(), "samples/s")
}
