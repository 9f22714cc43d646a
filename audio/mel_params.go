package audio

import (
	"fmt"
	"math"
)

// The values of MelParams' string fields.
const (
	WindowHann = "hann" // periodic Hann, as torch.hann_window(win_length)

	MelScaleSlaney = "slaney" // linear below 1 kHz, logarithmic above (Slaney's Auditory Toolbox)
	MelScaleHTK    = "htk"    // 2595 log10(1 + f/700)

	MelNormSlaney = "slaney" // each filter divided by its width in Hz (constant energy per band)
	MelNormNone   = "none"   // unit-peak triangles

	LogBaseE  = "e"  // natural log
	LogBase10 = "10" // log10
)

// MelParams are the parameters of a log-mel spectrogram, named and meant as
// torchaudio.transforms.MelSpectrogram's, followed by
// log(clamp(m, min=Floor)). Every field is explicit (a model's config
// stores all of them); DefaultMelParams and TacotronMelParams give complete
// sets, and Validate says what is wrong with one.
type MelParams struct {
	SampleRate int     `json:"sample_rate"` // Hz
	NFFT       int     `json:"n_fft"`       // FFT size; n_fft/2+1 frequency bins
	WinLength  int     `json:"win_length"`  // window length, at most n_fft; centred in the FFT frame
	HopLength  int     `json:"hop_length"`  // samples between frame starts
	Window     string  `json:"window"`      // WindowHann
	Center     bool    `json:"center"`      // frame t centred on sample t*hop, the signal reflect-padded by n_fft/2 each side
	Power      float64 `json:"power"`       // 1 (magnitude) or 2 (power)
	NMels      int     `json:"n_mels"`      // mel bands
	FMin       float64 `json:"f_min"`       // Hz, lowest filter edge
	FMax       float64 `json:"f_max"`       // Hz, highest filter edge, at most sample_rate/2
	MelScale   string  `json:"mel_scale"`   // MelScaleSlaney or MelScaleHTK
	Norm       string  `json:"norm"`        // MelNormSlaney or MelNormNone
	LogBase    string  `json:"log_base"`    // LogBaseE or LogBase10
	Floor      float64 `json:"floor"`       // mel values are clamped to at least Floor before the log
}

// DefaultMelParams returns the default log-mel parameters at rate Hz: the
// Tacotron 2 / HiFi-GAN features scaled to the rate. The hop is the power of
// two nearest rate/86 (about 11.6 ms: 128 at 8 kHz, 256 at 16 to 24 kHz,
// 512 at 44.1 and 48 kHz), so that the upsampling network's scales are
// powers of two; n_fft = win_length = 4 hops (512 at 8 kHz, 1024 at
// 22.05 kHz); 80 slaney mels with slaney norm from 0 Hz to rate/2 over the
// magnitude (power 1), centred frames with reflect padding, natural log
// with a floor of 1e-5. At 22.05 kHz it differs from TacotronMelParams only
// in f_max (11025 Hz, not 8000 Hz).
func DefaultMelParams(rate int) MelParams {
	hop := 1
	for hop < 1<<20 && float64(hop)*math.Sqrt2 < float64(rate)/86 {
		hop *= 2
	}
	return MelParams{
		SampleRate: rate,
		NFFT:       4 * hop,
		WinLength:  4 * hop,
		HopLength:  hop,
		Window:     WindowHann,
		Center:     true,
		Power:      1,
		NMels:      80,
		FMin:       0,
		FMax:       float64(rate) / 2,
		MelScale:   MelScaleSlaney,
		Norm:       MelNormSlaney,
		LogBase:    LogBaseE,
		Floor:      1e-5,
	}
}

// TacotronMelParams returns the features of NVIDIA's Tacotron 2 (and of the
// WaveGlow and HiFi-GAN vocoders trained on its mels): 22.05 kHz, n_fft
// 1024, win_length 1024, hop 256, magnitude, 80 slaney mels with slaney
// norm from 0 to 8000 Hz, natural log with a floor of 1e-5. That is
//
//	m = torchaudio.transforms.MelSpectrogram(22050, n_fft=1024, win_length=1024,
//	    hop_length=256, f_min=0, f_max=8000, n_mels=80, power=1,
//	    norm="slaney", mel_scale="slaney")(x)
//	torch.log(torch.clamp(m, min=1e-5))
func TacotronMelParams() MelParams {
	p := DefaultMelParams(22050)
	p.FMax = 8000
	return p
}

// Validate returns an error naming the first field of p that is out of
// range.
func (p MelParams) Validate() error {
	nyq := float64(p.SampleRate) / 2
	switch {
	case p.SampleRate <= 0 || p.SampleRate > maxRateHertz:
		return fmt.Errorf("audio: mel: sample_rate %d Hz, want 1 to %d", p.SampleRate, maxRateHertz)
	case p.NFFT < 2 || p.NFFT > 1<<20:
		return fmt.Errorf("audio: mel: n_fft %d, want 2 to %d", p.NFFT, 1<<20)
	case p.WinLength < 1 || p.WinLength > p.NFFT:
		return fmt.Errorf("audio: mel: win_length %d, want 1 to n_fft (%d)", p.WinLength, p.NFFT)
	case p.HopLength < 1:
		return fmt.Errorf("audio: mel: hop_length %d, want at least 1", p.HopLength)
	case p.Window != WindowHann:
		return fmt.Errorf("audio: mel: window %q, want %q", p.Window, WindowHann)
	case p.Power != 1 && p.Power != 2:
		return fmt.Errorf("audio: mel: power %g, want 1 (magnitude) or 2 (power)", p.Power)
	case p.NMels < 1 || p.NMels > p.NFFT/2+1:
		return fmt.Errorf("audio: mel: n_mels %d, want 1 to %d (the FFT bins of n_fft %d)", p.NMels, p.NFFT/2+1, p.NFFT)
	case !(p.FMin >= 0) || !(p.FMax > p.FMin) || p.FMax > nyq:
		return fmt.Errorf("audio: mel: f_min %g Hz and f_max %g Hz, want 0 <= f_min < f_max <= %g", p.FMin, p.FMax, nyq)
	case p.MelScale != MelScaleSlaney && p.MelScale != MelScaleHTK:
		return fmt.Errorf("audio: mel: mel_scale %q, want %q or %q", p.MelScale, MelScaleSlaney, MelScaleHTK)
	case p.Norm != MelNormSlaney && p.Norm != MelNormNone:
		return fmt.Errorf("audio: mel: norm %q, want %q or %q", p.Norm, MelNormSlaney, MelNormNone)
	case p.LogBase != LogBaseE && p.LogBase != LogBase10:
		return fmt.Errorf("audio: mel: log_base %q, want %q or %q", p.LogBase, LogBaseE, LogBase10)
	case !(p.Floor > 0) || math.IsInf(p.Floor, 1):
		return fmt.Errorf("audio: mel: floor %g, want a positive number", p.Floor)
	}
	return nil
}

// Frames returns the number of frames of a signal of n samples as
// torch.stft counts them: 1 + (n + 2 pad - n_fft)/hop with pad = n_fft/2
// when centred (1 + n/hop for an even n_fft) and 0 otherwise, and no
// frames when the (padded) signal is shorter than n_fft.
func (p MelParams) Frames(n int) int {
	if p.Center {
		n += 2 * (p.NFFT / 2)
	}
	if n < p.NFFT {
		return 0
	}
	return 1 + (n-p.NFFT)/p.HopLength
}

// hzToMel converts f Hz to mels on scale (MelScaleSlaney or MelScaleHTK),
// as torchaudio.functional._hz_to_mel.
func hzToMel(f float64, scale string) float64 {
	if scale == MelScaleHTK {
		return HzToMel(f)
	}
	const fsp, minLogHz, minLogMel = 200.0 / 3, 1000.0, 1000.0 / (200.0 / 3)
	if f < minLogHz {
		return f / fsp
	}
	return minLogMel + math.Log(f/minLogHz)/(math.Log(6.4)/27)
}

// melToHz is the inverse of hzToMel, as torchaudio.functional._mel_to_hz.
func melToHz(m float64, scale string) float64 {
	if scale == MelScaleHTK {
		return MelToHz(m)
	}
	const fsp, minLogHz, minLogMel = 200.0 / 3, 1000.0, 1000.0 / (200.0 / 3)
	if m < minLogMel {
		return m * fsp
	}
	return minLogHz * math.Exp(math.Log(6.4)/27*(m-minLogMel))
}

// MelFilterbank returns p's (n_mels, n_fft/2+1) triangular filters, as
// torchaudio.functional.melscale_fbanks computes them: bin k is at
// k*(sample_rate/2 integer-divided)/(n_fft/2) Hz, the n_mels+2 band edges
// are equally spaced on p's mel scale from f_min to f_max, and the triangles
// are built in Hz (not rounded to bins); slaney norm divides filter m by
// half its width in Hz, (f[m+2]-f[m])/2. Griffin-Lim inverts the mel
// spectrogram with it.
func MelFilterbank(p MelParams) ([][]float64, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	nb := p.NFFT/2 + 1
	lo, hi := hzToMel(p.FMin, p.MelScale), hzToMel(p.FMax, p.MelScale)
	f := make([]float64, p.NMels+2)
	for i := range f {
		f[i] = melToHz(lo+(hi-lo)*float64(i)/float64(p.NMels+1), p.MelScale)
	}
	top := float64(p.SampleRate / 2) // torchaudio: linspace(0, sample_rate // 2, n_freqs)
	fb := make([][]float64, p.NMels)
	for m := range fb {
		fb[m] = make([]float64, nb)
		scale := 1.0
		if p.Norm == MelNormSlaney {
			scale = 2 / (f[m+2] - f[m])
		}
		for k := range nb {
			hz := top * float64(k) / float64(nb-1)
			down := (hz - f[m]) / (f[m+1] - f[m])
			up := (f[m+2] - hz) / (f[m+2] - f[m+1])
			if w := min(down, up); w > 0 {
				fb[m][k] = w * scale
			}
		}
	}
	return fb, nil
}
