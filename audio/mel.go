package audio

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// MelConfig describes a log-mel spectrogram. The zero value of a field
// takes the default in brackets.
type MelConfig struct {
	SampleRate int     // Hz (required)
	FFTSize    int     // samples per frame, a power of two is fastest [512]
	Hop        int     // samples between frame starts [FFTSize/4]
	Mels       int     // mel bands [40]
	FMin       float64 // lowest band edge in Hz [0]
	FMax       float64 // highest band edge in Hz [SampleRate/2]
}

func (c MelConfig) withDefaults() (MelConfig, error) {
	if c.SampleRate <= 0 {
		return c, fmt.Errorf("audio: mel: sample rate %d Hz, want a positive rate", c.SampleRate)
	}
	if c.FFTSize == 0 {
		c.FFTSize = 512
	}
	if c.Hop == 0 {
		c.Hop = max(1, c.FFTSize/4)
	}
	if c.Mels == 0 {
		c.Mels = 40
	}
	if c.FMax == 0 {
		c.FMax = float64(c.SampleRate) / 2
	}
	switch {
	case c.FFTSize < 2 || c.FFTSize > 1<<20:
		return c, fmt.Errorf("audio: mel: FFT size %d, want 2 to %d", c.FFTSize, 1<<20)
	case c.Hop < 1:
		return c, fmt.Errorf("audio: mel: hop %d, want at least 1", c.Hop)
	case c.Mels < 1 || c.Mels > c.FFTSize/2+1:
		return c, fmt.Errorf("audio: mel: %d bands for %d FFT bins", c.Mels, c.FFTSize/2+1)
	case c.FMin < 0 || c.FMax <= c.FMin || c.FMax > float64(c.SampleRate)/2:
		return c, fmt.Errorf("audio: mel: band %g to %g Hz, want 0 <= fmin < fmax <= %g", c.FMin, c.FMax, float64(c.SampleRate)/2)
	}
	return c, nil
}

// Spectrogram is a time-frequency image: Data is (Frames, Bins)
// row-major, one row per frame, low frequencies first.
type Spectrogram struct {
	Frames, Bins int
	Data         []float32
	// FrameRate is frames per second (SampleRate / Hop).
	FrameRate float64
}

// Row returns frame i's bins.
func (s *Spectrogram) Row(i int) []float32 { return s.Data[i*s.Bins : (i+1)*s.Bins] }

// MelFloorDB is the level given to bands with no energy.
const MelFloorDB = -100

// HzToMel and MelToHz are the HTK mel scale: 2595 log10(1 + f/700).
func HzToMel(f float64) float64 { return 2595 * math.Log10(1+f/700) }

// MelToHz is the inverse of HzToMel.
func MelToHz(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }

// melFilters returns (Mels, FFTSize/2+1) triangular filters on the HTK mel
// scale, each with unit peak.
func melFilters(c MelConfig) [][]float64 {
	nb := c.FFTSize/2 + 1
	lo, hi := HzToMel(c.FMin), HzToMel(c.FMax)
	edges := make([]float64, c.Mels+2)
	for i := range edges {
		edges[i] = MelToHz(lo + (hi-lo)*float64(i)/float64(c.Mels+1))
	}
	fb := make([][]float64, c.Mels)
	for m := range fb {
		fb[m] = make([]float64, nb)
		l, ctr, r := edges[m], edges[m+1], edges[m+2]
		for k := range nb {
			f := float64(k) * float64(c.SampleRate) / float64(c.FFTSize)
			switch {
			case f > l && f <= ctr:
				fb[m][k] = (f - l) / (ctr - l)
			case f > ctr && f < r:
				fb[m][k] = (r - f) / (r - ctr)
			}
		}
	}
	return fb
}

// MelSpectrogram returns the log-mel power spectrogram of x in dB: frames
// of FFTSize samples every Hop samples (the last frame zero-padded), a
// periodic Hann window, power |X|^2 normalised by the window's energy (so
// the bands around a full-scale sine add up to about -3 dB, its power), triangular HTK mel
// filters, 10 log10 with a floor of MelFloorDB. An empty x gives no frames.
func MelSpectrogram(x []float32, cfg MelConfig) (*Spectrogram, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := c.FFTSize
	frames := 0
	if len(x) > 0 {
		frames = 1
		if len(x) > n {
			frames += (len(x) - n + c.Hop - 1) / c.Hop
		}
	}
	s := &Spectrogram{Frames: frames, Bins: c.Mels, Data: make([]float32, frames*c.Mels),
		FrameRate: float64(c.SampleRate) / float64(c.Hop)}
	win := make([]float64, n)
	var wsq float64
	for i := range win {
		win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		wsq += win[i] * win[i]
	}
	fb := melFilters(c)
	span := make([][2]int, len(fb)) // each filter's nonzero bins
	for m, filt := range fb {
		a, b := 0, 0
		for k, w := range filt {
			if w != 0 {
				if b == 0 {
					a = k
				}
				b = k + 1
			}
		}
		span[m] = [2]int{a, b}
	}
	fft := fourier.NewFFT(n)
	buf := make([]float64, n)
	coef := make([]complex128, n/2+1)
	power := make([]float64, n/2+1)
	// Parseval: the one-sided bins of a windowed sine of amplitude A hold
	// about n*wsq*A^2/4 in all; scaling by 2/(n*wsq) makes them sum to
	// A^2/2, the sine's power, however the window spreads it over bins.
	norm := 2 / (float64(n) * wsq)
	for f := range frames {
		start := f * c.Hop
		for i := range buf {
			v := 0.0
			if start+i < len(x) {
				v = float64(x[start+i])
			}
			buf[i] = v * win[i]
		}
		coef = fft.Coefficients(coef, buf)
		for k, z := range coef {
			power[k] = (real(z)*real(z) + imag(z)*imag(z)) * norm
		}
		row := s.Row(f)
		for m, filt := range fb {
			var e float64
			for k := span[m][0]; k < span[m][1]; k++ {
				e += filt[k] * power[k]
			}
			db := 10 * math.Log10(e)
			if e <= 0 || db < MelFloorDB {
				db = MelFloorDB
			}
			row[m] = float32(db)
		}
	}
	return s, nil
}

// MFCC returns the first n mel-frequency cepstral coefficients of each frame
// of a log-mel spectrogram: the orthonormal DCT-II of each row (what
// librosa.feature.mfcc computes from a dB mel spectrogram). The result is
// (Frames, n).
func MFCC(mel *Spectrogram, n int) (*Spectrogram, error) {
	if n < 1 || n > mel.Bins {
		return nil, fmt.Errorf("audio: mfcc: %d coefficients from %d mel bands", n, mel.Bins)
	}
	nb := mel.Bins
	dct := make([]float64, n*nb)
	for k := range n {
		scale := math.Sqrt(2 / float64(nb))
		if k == 0 {
			scale = math.Sqrt(1 / float64(nb))
		}
		for j := range nb {
			dct[k*nb+j] = scale * math.Cos(math.Pi*float64(k)*(2*float64(j)+1)/(2*float64(nb)))
		}
	}
	out := &Spectrogram{Frames: mel.Frames, Bins: n, Data: make([]float32, mel.Frames*n), FrameRate: mel.FrameRate}
	for f := range mel.Frames {
		row := mel.Row(f)
		dst := out.Row(f)
		for k := range n {
			var s float64
			for j, v := range row {
				s += dct[k*nb+j] * float64(v)
			}
			dst[k] = float32(s)
		}
	}
	return out, nil
}
