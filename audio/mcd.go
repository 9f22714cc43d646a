package audio

import (
	"fmt"
	"math"
)

// MCDConfig describes mel-cepstral distortion. The zero value of a field
// takes the default in brackets.
type MCDConfig struct {
	// Coeffs is the number of cepstral coefficients computed, c_0
	// included; c_1 to c_{Coeffs-1} are compared (D = Coeffs-1) [13].
	Coeffs int
	// Filters is the number of mel filters from 0 Hz to Nyquist [26].
	Filters int
	// DTW aligns the frames by dynamic time warping instead of by time.
	// Copy synthesis is time-aligned, so plain alignment is the honest
	// default: warping would hide timing errors of the synthesis.
	DTW bool
}

// MCDResult is the distortion between two signals.
type MCDResult struct {
	DB     float64 // mean MCD over the aligned frames, in dB
	Frames int     // frame pairs averaged (the DTW path length with DTW)
}

// MCD returns the mel-cepstral distortion (R. Kubichek, "Mel-cepstral
// distance measure for objective speech quality assessment", IEEE PACRIM
// 1993) of x (at rate) against ref (at refRate):
//
//	MCD = (10 / ln 10) * sqrt(2 * sum_{d=1..D} (c_d - c'_d)^2)
//
// averaged over frames, in dB, c_0 (the frame's energy) excluded. The
// cepstra are MFCC's (25 ms Hamming frames every 10 ms, pre-emphasis 0.97,
// HTK mel filters, natural log of the band powers, DCT-II) divided by
// Filters, so that ln E_f = c_0 + 2 sum_{d>0} c_d cos(pi d (f+1/2) / Filters)
// over the bands f: the scaling the formula assumes for a cepstrum of the
// log power spectrum. With D = Filters-1 the MCD of a frame is then exactly
// the RMS difference in dB of the two log mel spectra after removing their
// mean difference (Parseval); with fewer coefficients it is that of the
// smoothed spectral envelopes.
//
// x is resampled to refRate first. Frames are paired by time (frame i with
// frame i) and the longer signal's extra frames are dropped; with cfg.DTW
// they are paired along the dynamic-time-warping path (steps (1,0), (0,1),
// (1,1), Euclidean cepstral cost; O(frames^2) time and memory) and the MCD
// is averaged over that path. MCD(x, x) is 0 and MCD is symmetric when both
// signals have the same rate. A signal shorter than one frame is an error.
func MCD(ref []float32, refRate int, x []float32, rate int, cfg MCDConfig) (MCDResult, error) {
	if cfg.Coeffs == 0 {
		cfg.Coeffs = 13
	}
	if cfg.Filters == 0 {
		cfg.Filters = 26
	}
	if cfg.Coeffs < 2 {
		return MCDResult{}, fmt.Errorf("audio: mcd: %d coefficients, want at least 2 (c_0 is excluded)", cfg.Coeffs)
	}
	m, err := NewMFCC(MFCCConfig{SampleRate: refRate, Coeffs: cfg.Coeffs, Filters: cfg.Filters})
	if err != nil {
		return MCDResult{}, fmt.Errorf("audio: mcd: %w", err)
	}
	if rate != refRate {
		if x, err = Resample(nil, x, rate, refRate); err != nil {
			return MCDResult{}, fmt.Errorf("audio: mcd: %w", err)
		}
	}
	a, b := m.Frames(ref), m.Frames(x)
	if len(a) == 0 || len(b) == 0 {
		return MCDResult{}, fmt.Errorf("audio: mcd: %d and %d samples at %d Hz, want at least one %d-sample frame each",
			len(ref), len(x), refRate, m.FrameLen())
	}
	scale := 1 / float64(cfg.Filters)
	if cfg.DTW {
		sum, n := dtwPath(a, b, scale)
		return MCDResult{DB: sum / float64(n), Frames: n}, nil
	}
	n := min(len(a), len(b))
	sum := 0.0
	for i := range n {
		sum += FrameMCD(a[i], b[i], scale)
	}
	return MCDResult{DB: sum / float64(n), Frames: n}, nil
}

// mcdDB is 10/ln 10: natural-log cepstra to dB.
const mcdDB = 10 / math.Ln10

// FrameMCD returns one frame's MCD in dB between cepstra a and b (c_0
// first, ignored), each coefficient multiplied by scale first (MCD uses
// 1/Filters to scale MFCC's unnormalised DCT; see MCD).
func FrameMCD(a, b []float64, scale float64) float64 {
	s := 0.0
	for d := 1; d < len(a); d++ {
		diff := (a[d] - b[d]) * scale
		s += diff * diff
	}
	return mcdDB * math.Sqrt(2*s)
}

// dtwPath returns the sum of FrameMCD along the dynamic-time-warping path
// of minimal total cost from (0, 0) to (len(a)-1, len(b)-1), and the
// path's length. Ties prefer the diagonal, then a step in a.
func dtwPath(a, b [][]float64, scale float64) (sum float64, n int) {
	na, nb := len(a), len(b)
	cost := make([]float64, na*nb) // (na, nb) accumulated cost
	dist := make([]float64, na*nb) // (na, nb) frame distances
	for i := range na {
		for j := range nb {
			d := FrameMCD(a[i], b[j], scale)
			dist[i*nb+j] = d
			best := 0.0
			switch {
			case i == 0 && j == 0:
			case i == 0:
				best = cost[j-1]
			case j == 0:
				best = cost[(i-1)*nb]
			default:
				best = min(cost[(i-1)*nb+j-1], cost[(i-1)*nb+j], cost[i*nb+j-1])
			}
			cost[i*nb+j] = d + best
		}
	}
	i, j := na-1, nb-1
	for {
		sum += dist[i*nb+j]
		n++
		if i == 0 && j == 0 {
			return sum, n
		}
		switch {
		case i == 0:
			j--
		case j == 0:
			i--
		default:
			diag, up, left := cost[(i-1)*nb+j-1], cost[(i-1)*nb+j], cost[i*nb+j-1]
			switch {
			case diag <= up && diag <= left:
				i, j = i-1, j-1
			case up <= left:
				i--
			default:
				j--
			}
		}
	}
}
