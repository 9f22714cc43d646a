package classify

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// MFCC computes mel-frequency cepstral coefficients (Davis and Mermelstein
// 1980) the usual way: pre-emphasis 0.97, 25 ms Hamming frames every 10 ms,
// power spectrum, a bank of triangular mel filters from 0 Hz to Nyquist,
// log energies, DCT-II. It returns one row of coeffs per frame.
type MFCC struct {
	Rate    int
	Coeffs  int // cepstral coefficients kept, c0 included
	Filters int // mel filters
	frame   int
	hop     int
	nfft    int
	window  []float64
	bank    [][]float64 // Filters x (nfft/2+1)
	fft     *fourier.FFT
}

// NewMFCC returns an extractor for audio at rate Hz.
func NewMFCC(rate, coeffs, filters int) *MFCC {
	m := &MFCC{Rate: rate, Coeffs: coeffs, Filters: filters,
		frame: rate * 25 / 1000, hop: rate * 10 / 1000}
	m.nfft = 1
	for m.nfft < m.frame {
		m.nfft *= 2
	}
	m.window = make([]float64, m.frame)
	for i := range m.window {
		m.window[i] = 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(m.frame-1))
	}
	mel := func(f float64) float64 { return 2595 * math.Log10(1+f/700) }
	hz := func(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }
	bins := m.nfft/2 + 1
	top := mel(float64(rate) / 2)
	centres := make([]float64, filters+2)
	for i := range centres {
		centres[i] = hz(top*float64(i)/float64(filters+1)) * float64(m.nfft) / float64(rate)
	}
	for f := 0; f < filters; f++ {
		row := make([]float64, bins)
		lo, mid, hi := centres[f], centres[f+1], centres[f+2]
		for b := range row {
			x := float64(b)
			switch {
			case x > lo && x <= mid:
				row[b] = (x - lo) / (mid - lo)
			case x > mid && x < hi:
				row[b] = (hi - x) / (hi - mid)
			}
		}
		m.bank = append(m.bank, row)
	}
	m.fft = fourier.NewFFT(m.nfft)
	return m
}

// Frames returns the MFCC rows of x (empty when x is shorter than a frame).
func (m *MFCC) Frames(x []float32) [][]float64 {
	var out [][]float64
	buf := make([]float64, m.nfft)
	coef := make([]complex128, m.nfft/2+1)
	logE := make([]float64, m.Filters)
	for start := 0; start+m.frame <= len(x); start += m.hop {
		for i := range buf {
			buf[i] = 0
		}
		for i := 0; i < m.frame; i++ {
			prev := float32(0)
			if start+i > 0 {
				prev = x[start+i-1]
			}
			buf[i] = (float64(x[start+i]) - 0.97*float64(prev)) * m.window[i]
		}
		m.fft.Coefficients(coef, buf)
		for f, row := range m.bank {
			e := 0.0
			for b, w := range row {
				if w != 0 {
					e += w * (real(coef[b])*real(coef[b]) + imag(coef[b])*imag(coef[b]))
				}
			}
			logE[f] = math.Log(e + 1e-10)
		}
		c := make([]float64, m.Coeffs)
		for k := range c {
			s := 0.0
			for f, v := range logE {
				s += v * math.Cos(math.Pi*float64(k)*(float64(f)+0.5)/float64(m.Filters))
			}
			c[k] = s
		}
		out = append(out, c)
	}
	return out
}
