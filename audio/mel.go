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
// scale, each with unit peak. The band edges are computed in FFT bins, as
// the MFCC of package classify always computed them (its trained numbers
// depend on the exact rounding).
func melFilters(c MelConfig) [][]float64 {
	nb := c.FFTSize/2 + 1
	lo, hi := HzToMel(c.FMin), HzToMel(c.FMax)
	edges := make([]float64, c.Mels+2) // in bins
	for i := range edges {
		edges[i] = MelToHz(lo+(hi-lo)*float64(i)/float64(c.Mels+1)) * float64(c.FFTSize) / float64(c.SampleRate)
	}
	fb := make([][]float64, c.Mels)
	for m := range fb {
		fb[m] = make([]float64, nb)
		l, ctr, r := edges[m], edges[m+1], edges[m+2]
		for k := range nb {
			x := float64(k)
			switch {
			case x > l && x <= ctr:
				fb[m][k] = (x - l) / (ctr - l)
			case x > ctr && x < r:
				fb[m][k] = (r - x) / (r - ctr)
			}
		}
	}
	return fb
}

// filterSpans returns each filter's nonzero bins [a, b).
func filterSpans(fb [][]float64) [][2]int {
	span := make([][2]int, len(fb))
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
	return span
}

// bandEnergies sets e[m] to the sum of filter m's weights times power.
func bandEnergies(e []float64, fb [][]float64, span [][2]int, power []float64) {
	for m, filt := range fb {
		var s float64
		for k := span[m][0]; k < span[m][1]; k++ {
			s += filt[k] * power[k]
		}
		e[m] = s
	}
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
	span := filterSpans(fb)
	fft := fourier.NewFFT(n)
	buf := make([]float64, n)
	coef := make([]complex128, n/2+1)
	power := make([]float64, n/2+1)
	band := make([]float64, c.Mels)
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
		bandEnergies(band, fb, span, power)
		row := s.Row(f)
		for m, e := range band {
			db := 10 * math.Log10(e)
			if e <= 0 || db < MelFloorDB {
				db = MelFloorDB
			}
			row[m] = float32(db)
		}
	}
	return s, nil
}

// MFCCConfig describes mel-frequency cepstral coefficients. The zero value
// of a field takes the default in brackets.
type MFCCConfig struct {
	SampleRate int // Hz (required)
	Coeffs     int // cepstral coefficients kept, c0 included [13]
	Filters    int // mel filters from 0 Hz to the Nyquist frequency [26]
}

// MFCC computes mel-frequency cepstral coefficients (S. Davis and P.
// Mermelstein, "Comparison of parametric representations for monosyllabic
// word recognition in continuously spoken sentences", IEEE Trans. ASSP 28(4),
// 1980) the usual way: pre-emphasis 0.97, 25 ms Hamming frames every 10 ms,
// zero-padded to a power-of-two FFT, power spectrum, the triangular HTK mel
// filters of MelSpectrogram from 0 Hz to Nyquist, natural log of each
// band's energy (+1e-10), unnormalised DCT-II:
//
//	c_k = sum_f log(E_f + 1e-10) cos(pi k (f + 1/2) / Filters)
//
// It is safe for concurrent use.
type MFCC struct {
	cfg    MFCCConfig
	frame  int
	hop    int
	nfft   int
	window []float64   // (frame)
	bank   [][]float64 // (Filters, nfft/2+1)
	span   [][2]int    // each filter's nonzero bins
	dct    []float64   // (Coeffs, Filters)
}

// NewMFCC returns an MFCC extractor.
func NewMFCC(cfg MFCCConfig) (*MFCC, error) {
	if cfg.Coeffs == 0 {
		cfg.Coeffs = 13
	}
	if cfg.Filters == 0 {
		cfg.Filters = 26
	}
	m := &MFCC{cfg: cfg, frame: cfg.SampleRate * 25 / 1000, hop: cfg.SampleRate * 10 / 1000}
	if m.hop < 1 || cfg.SampleRate > maxRateHertz {
		return nil, fmt.Errorf("audio: mfcc: sample rate %d Hz, want 100 to %d", cfg.SampleRate, maxRateHertz)
	}
	m.nfft = 1
	for m.nfft < m.frame {
		m.nfft *= 2
	}
	if cfg.Filters < 1 || cfg.Filters > m.nfft/2+1 || cfg.Coeffs < 1 || cfg.Coeffs > cfg.Filters {
		return nil, fmt.Errorf("audio: mfcc: %d coefficients from %d filters over %d FFT bins, want 1 <= coefficients <= filters <= bins",
			cfg.Coeffs, cfg.Filters, m.nfft/2+1)
	}
	m.window = make([]float64, m.frame)
	for i := range m.window {
		m.window[i] = 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(m.frame-1))
	}
	m.bank = melFilters(MelConfig{SampleRate: cfg.SampleRate, FFTSize: m.nfft, Mels: cfg.Filters, FMax: float64(cfg.SampleRate) / 2})
	m.span = filterSpans(m.bank)
	m.dct = make([]float64, cfg.Coeffs*cfg.Filters)
	for k := range cfg.Coeffs {
		for f := range cfg.Filters {
			m.dct[k*cfg.Filters+f] = math.Cos(math.Pi * float64(k) * (float64(f) + 0.5) / float64(cfg.Filters))
		}
	}
	return m, nil
}

// FrameLen is the number of samples in a frame (25 ms).
func (m *MFCC) FrameLen() int { return m.frame }

// Hop is the number of samples between frame starts (10 ms).
func (m *MFCC) Hop() int { return m.hop }

// Frames returns one row of Coeffs coefficients per whole frame of x
// (none when x is shorter than a frame). The sample before x counts as 0
// for the pre-emphasis.
func (m *MFCC) Frames(x []float32) [][]float64 {
	var out [][]float64
	buf := make([]float64, m.nfft)
	coef := make([]complex128, m.nfft/2+1)
	power := make([]float64, m.nfft/2+1)
	logE := make([]float64, m.cfg.Filters)
	fft := fourier.NewFFT(m.nfft)
	for start := 0; start+m.frame <= len(x); start += m.hop {
		clear(buf)
		for i := range m.frame {
			prev := float32(0)
			if start+i > 0 {
				prev = x[start+i-1]
			}
			buf[i] = (float64(x[start+i]) - 0.97*float64(prev)) * m.window[i]
		}
		coef = fft.Coefficients(coef, buf)
		for k, z := range coef {
			power[k] = real(z)*real(z) + imag(z)*imag(z)
		}
		bandEnergies(logE, m.bank, m.span, power)
		for f, e := range logE {
			logE[f] = math.Log(e + 1e-10)
		}
		c := make([]float64, m.cfg.Coeffs)
		for k := range c {
			row := m.dct[k*m.cfg.Filters : (k+1)*m.cfg.Filters]
			s := 0.0
			for f, v := range logE {
				s += v * row[f]
			}
			c[k] = s
		}
		out = append(out, c)
	}
	return out
}
