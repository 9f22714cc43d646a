package audio

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// GriffinLimOptions configure GriffinLim. Zero fields take the defaults.
type GriffinLimOptions struct {
	// Iters is the number of phase reconstruction iterations (default 48;
	// 32 to 60 is the usual range).
	Iters int
	// Seed draws the initial phases (uniform, as librosa's init="random").
	Seed uint64
	// Convergence, if set, is called after each iteration with the
	// spectral convergence ‖S - |STFT(x)|‖ / ‖S‖ of the signal x so far
	// against the target magnitudes S.
	Convergence func(iter int, sc float64)
}

// GriffinLim returns a signal of frames*hop samples whose log-mel
// spectrogram with p approximates mels ((frames, n_mels) row-major), the
// classical baseline to a neural vocoder: the log is undone, the mel
// filters are inverted by their pseudo-inverse (MelFilterbank's, negative
// magnitudes set to 0) into linear magnitudes S (the square root for
// power 2), and the phases are found by Griffin & Lim's iteration
// (D. Griffin and J. Lim, "Signal estimation from modified short-time
// Fourier transform", IEEE Trans. ASSP 32(2), 1984): x = ISTFT(S e^{iφ}),
// φ = the phases of STFT(x), with p's STFT (its Hann window, n_fft, hop,
// centred frames with reflect padding) and a least-squares overlap-add.
func GriffinLim(mels []float32, p MelParams, o GriffinLimOptions) ([]float32, error) {
	bank, err := MelFilterbank(p)
	if err != nil {
		return nil, err
	}
	if len(mels)%p.NMels != 0 {
		return nil, fmt.Errorf("audio: griffin-lim: %d values are not whole frames of %d mels", len(mels), p.NMels)
	}
	frames := len(mels) / p.NMels
	if frames == 0 {
		return nil, fmt.Errorf("audio: griffin-lim: no frames")
	}
	if o.Iters == 0 {
		o.Iters = 48
	}
	if o.Iters < 1 || o.Iters > 10000 {
		return nil, fmt.Errorf("audio: griffin-lim: %d iterations, want 1 to 10000", o.Iters)
	}
	m, err := NewMel(p)
	if err != nil {
		return nil, err
	}
	S := melMagnitudes(mels, bank, p)
	nb := p.NFFT/2 + 1
	rng := rand.New(rand.NewPCG(o.Seed, 0x6c))
	X := make([]complex128, frames*nb)
	for i, s := range S {
		X[i] = cmplx.Rect(s, 2*math.Pi*rng.Float64())
	}
	g := newGLStft(m, frames)
	var norm float64
	for _, s := range S {
		norm += s * s
	}
	norm = math.Sqrt(norm)
	x := make([]float64, frames*p.HopLength)
	for it := range o.Iters {
		g.inverse(x, X)
		g.forward(X, x)
		var d float64
		for i, z := range X {
			a := cmplx.Abs(z)
			d += (S[i] - a) * (S[i] - a)
			if a > 0 {
				X[i] = z * complex(S[i]/a, 0)
			} else {
				X[i] = complex(S[i], 0)
			}
		}
		if o.Convergence != nil {
			o.Convergence(it, math.Sqrt(d)/max(norm, 1e-300))
		}
	}
	g.inverse(x, X)
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out, nil
}

// melMagnitudes undoes the log of mels and inverts the mel filters bank
// ((n_mels, nb)) by their pseudo-inverse: (frames, nb) linear magnitudes,
// none negative.
func melMagnitudes(mels []float32, bank [][]float64, p MelParams) []float64 {
	nm, nb := len(bank), len(bank[0])
	B := mat.NewDense(nm, nb, nil)
	for i, row := range bank {
		B.SetRow(i, row)
	}
	var svd mat.SVD
	svd.Factorize(B, mat.SVDThin)
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	vals := svd.Values(nil)
	tol := vals[0] * float64(nb) * 1e-15 // numpy.linalg.pinv's cutoff scaled by the size
	// pinv = V Σ⁺ Uᵀ: (nb, n_mels) row-major.
	pinv := make([]float64, nb*nm)
	for k, s := range vals {
		if s <= tol {
			continue
		}
		for i := range nb {
			vik := v.At(i, k) / s
			for j := range nm {
				pinv[i*nm+j] += vik * u.At(j, k)
			}
		}
	}
	exp := math.Exp
	if p.LogBase == LogBase10 {
		exp = func(x float64) float64 { return math.Pow(10, x) }
	}
	frames := len(mels) / nm
	S := make([]float64, frames*nb)
	e := make([]float64, nm)
	for t := range frames {
		for j := range nm {
			e[j] = exp(float64(mels[t*nm+j]))
		}
		for i := range nb {
			var s float64
			for j, w := range pinv[i*nm : (i+1)*nm] {
				s += w * e[j]
			}
			s = max(s, 0)
			if p.Power == 2 {
				s = math.Sqrt(s)
			}
			S[t*nb+i] = s
		}
	}
	return S
}

// glStft is the STFT of Mel m's parameters over signals of frames*hop
// samples, and its least-squares inverse.
type glStft struct {
	m      *Mel
	frames int
	pad    int
	wsum   []float64 // Σ window² per sample of the padded signal
	buf    []float64 // the padded signal
}

func newGLStft(m *Mel, frames int) *glStft {
	p := m.p
	pad := 0
	if p.Center {
		pad = p.NFFT / 2
	}
	n := (frames-1)*p.HopLength + p.NFFT
	g := &glStft{m: m, frames: frames, pad: pad, wsum: make([]float64, n), buf: make([]float64, n)}
	for t := range frames {
		for i, w := range m.window {
			g.wsum[t*p.HopLength+i] += w * w
		}
	}
	return g
}

// forward writes the STFT of x (frames*hop samples), reflect-padded when
// centred as Mel.Compute pads, into X ((frames, nb)).
func (g *glStft) forward(X []complex128, x []float64) {
	p, m := g.m.p, g.m
	nb := p.NFFT/2 + 1
	n := len(x)
	for t := range g.frames {
		start := t*p.HopLength - g.pad
		for i := range m.frame {
			j := start + i
			if j < 0 {
				j = -j
			}
			if j >= n {
				j = max(0, 2*(n-1)-j)
			}
			m.frame[i] = x[j] * m.window[i]
		}
		m.coef = m.fft.Coefficients(m.coef, m.frame)
		copy(X[t*nb:(t+1)*nb], m.coef)
	}
}

// inverse writes into x (frames*hop samples) the signal whose windowed
// frames are closest to the inverse FFTs of X: overlap-add of the window
// times each frame, divided by Σ window², the padding cut off.
func (g *glStft) inverse(x []float64, X []complex128) {
	p, m := g.m.p, g.m
	nb := p.NFFT/2 + 1
	clear(g.buf)
	for t := range g.frames {
		copy(m.coef, X[t*nb:(t+1)*nb])
		m.frame = m.fft.Sequence(m.frame, m.coef)
		for i, w := range m.window {
			g.buf[t*p.HopLength+i] += w * m.frame[i] / float64(p.NFFT)
		}
	}
	for i := range x {
		j := i + g.pad
		if j < len(g.buf) && g.wsum[j] > 1e-8 {
			x[i] = g.buf[j] / g.wsum[j]
		} else {
			x[i] = 0
		}
	}
}
