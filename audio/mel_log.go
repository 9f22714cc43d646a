package audio

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Mel computes log-mel spectrograms with fixed MelParams. Its filters,
// window and FFT plan are made once by NewMel; Compute then allocates
// nothing when dst is large enough. A Mel holds scratch buffers, so it is
// not safe for concurrent use: use one per goroutine.
type Mel struct {
	p      MelParams
	window []float64   // (n_fft): the Hann window of win_length, centred, zero elsewhere
	wa, wb int         // window's nonzero span [wa, wb)
	bank   [][]float64 // (n_mels, n_fft/2+1)
	span   [][2]int    // each filter's nonzero bins
	fft    *fourier.FFT
	frame  []float64    // (n_fft)
	coef   []complex128 // (n_fft/2+1)
	spec   []float64    // (n_fft/2+1): |X|^power
	band   []float64    // (n_mels)
	log    func(float64) float64
}

// NewMel returns a Mel for p, or p's Validate error.
func NewMel(p MelParams) (*Mel, error) {
	bank, err := MelFilterbank(p)
	if err != nil {
		return nil, err
	}
	nb := p.NFFT/2 + 1
	m := &Mel{p: p, window: make([]float64, p.NFFT), bank: bank, span: filterSpans(bank),
		fft: fourier.NewFFT(p.NFFT), frame: make([]float64, p.NFFT), coef: make([]complex128, nb),
		spec: make([]float64, nb), band: make([]float64, p.NMels), log: math.Log}
	if p.LogBase == LogBase10 {
		m.log = math.Log10
	}
	// torch.stft pads a shorter window with zeros on both sides, the
	// extra sample (if any) on the right.
	m.wa = (p.NFFT - p.WinLength) / 2
	m.wb = m.wa + p.WinLength
	for i := range p.WinLength {
		m.window[m.wa+i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(p.WinLength))
	}
	return m, nil
}

// Params returns the parameters m was made with.
func (m *Mel) Params() MelParams { return m.p }

// Compute returns the log-mel spectrogram of x, (frames, n_mels) row-major
// with frames = Params().Frames(len(x)), in dst[:frames*n_mels] (a new
// slice when dst is too small). Frame t covers samples t*hop - n_fft/2 to
// t*hop + n_fft/2 when centred (reflect padding outside x, as torch.stft's
// pad_mode="reflect", which needs len(x) > n_fft/2), or t*hop to t*hop +
// n_fft; then the window, |FFT|^power, the filters, clamp to at least
// Floor, and the log. The arithmetic is float64 throughout.
func (m *Mel) Compute(dst, x []float32) ([]float32, error) {
	p := m.p
	pad := 0
	if p.Center {
		pad = p.NFFT / 2
		if len(x) <= pad {
			return nil, fmt.Errorf("audio: mel: %d samples, reflect padding needs more than n_fft/2 = %d", len(x), pad)
		}
	}
	frames := p.Frames(len(x))
	size := frames * p.NMels
	if cap(dst) < size {
		dst = make([]float32, size)
	}
	dst = dst[:size]
	n := len(x)
	for t := range frames {
		start := t*p.HopLength - pad
		if start+m.wa >= 0 && start+m.wb <= n {
			for i := m.wa; i < m.wb; i++ {
				m.frame[i] = float64(x[start+i]) * m.window[i]
			}
		} else {
			for i := m.wa; i < m.wb; i++ {
				j := start + i
				if j < 0 {
					j = -j
				}
				if j >= n {
					j = 2*(n-1) - j
				}
				m.frame[i] = float64(x[j]) * m.window[i]
			}
		}
		m.coef = m.fft.Coefficients(m.coef, m.frame)
		for k, z := range m.coef {
			s := real(z)*real(z) + imag(z)*imag(z)
			if p.Power == 1 {
				s = math.Sqrt(s)
			}
			m.spec[k] = s
		}
		bandEnergies(m.band, m.bank, m.span, m.spec)
		row := dst[t*p.NMels : (t+1)*p.NMels]
		for b, e := range m.band {
			row[b] = float32(m.log(max(e, p.Floor)))
		}
	}
	return dst, nil
}

// LogMel returns the log-mel spectrogram of x with parameters p, its Data
// in dst when dst is large enough: see Mel.Compute. To compute many, make
// one Mel with NewMel and call its Compute.
func LogMel(dst, x []float32, p MelParams) (*Spectrogram, error) {
	m, err := NewMel(p)
	if err != nil {
		return nil, err
	}
	data, err := m.Compute(dst, x)
	if err != nil {
		return nil, err
	}
	return &Spectrogram{Frames: p.Frames(len(x)), Bins: p.NMels, Data: data,
		FrameRate: float64(p.SampleRate) / float64(p.HopLength)}, nil
}
