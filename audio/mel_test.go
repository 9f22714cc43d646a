package audio

import (
	"math"
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

func TestMFCC(t *testing.T) {
	// A flat log-mel row (every band 5 dB) has only a DC cepstral term:
	// c0 = 5 * sqrt(nb) with the orthonormal DCT.
	mel := &Spectrogram{Frames: 2, Bins: 8, Data: make([]float32, 16)}
	for i := range mel.Data {
		mel.Data[i] = 5
	}
	c, err := MFCC(mel, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{5 * math.Sqrt(8), 0, 0, 0}
	for f := range 2 {
		for k, w := range want {
			if got := float64(c.Row(f)[k]); math.Abs(got-w) > 1e-5 {
				t.Errorf("MFCC(flat 5 dB)[%d][%d] = %g, want %g", f, k, got, w)
			}
		}
	}
	// Orthonormal: energy is preserved when all coefficients are kept.
	for i := range mel.Data {
		mel.Data[i] = float32(i%8) - 3.5
	}
	c, _ = MFCC(mel, 8)
	var e1, e2 float64
	for i := range 8 {
		e1 += float64(mel.Data[i] * mel.Data[i])
		e2 += float64(c.Data[i] * c.Data[i])
	}
	if math.Abs(e1-e2) > 1e-4 {
		t.Errorf("MFCC(all 8) energy %g, want %g (orthonormal DCT)", e2, e1)
	}
	if _, err := MFCC(mel, 9); err == nil {
		t.Errorf("MFCC(9 of 8 bands) = nil error, want one")
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
