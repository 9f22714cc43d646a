package audio

import "math"

// Trim finds the part of x worth keeping: frames of frameMS milliseconds
// whose RMS level is at least thresholdDB (dB relative to full scale, e.g.
// -40), from the first such frame to the end of the last one. It returns
// the kept range x[start:end]; start == end means every frame is below the
// threshold, and the caller must treat the clip as silent rather than drop
// it quietly. A frame shorter than one sample counts as one sample.
func Trim(x []float32, rate int, thresholdDB, frameMS float64) (start, end int) {
	frame := int(math.Round(float64(rate) * frameMS / 1000))
	if frame < 1 {
		frame = 1
	}
	// Compare mean squares against the squared threshold: no sqrt or log
	// per frame.
	thr := math.Pow(10, thresholdDB/10)
	first, last := -1, -1
	for i := 0; i < len(x); i += frame {
		j := min(i+frame, len(x))
		if meanSquare(x[i:j]) >= thr {
			if first < 0 {
				first = i
			}
			last = j
		}
	}
	if first < 0 {
		return 0, 0
	}
	return first, last
}

func meanSquare(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s / float64(len(x))
}

// RMSdB returns the RMS level of x in dB relative to full scale (-Inf for
// silence or an empty slice).
func RMSdB(x []float32) float64 {
	return 10 * math.Log10(meanSquare(x))
}

// Peak returns the largest absolute sample value.
func Peak(x []float32) float32 {
	var p float32
	for _, v := range x {
		if v < 0 {
			v = -v
		}
		if v > p {
			p = v
		}
	}
	return p
}

// Normalize scales x in place so that its peak is at peakDB dB relative to
// full scale (0 dB is 1.0), and returns the gain applied. Silence is left
// alone (gain 1).
func Normalize(x []float32, peakDB float64) float64 {
	p := Peak(x)
	if p == 0 {
		return 1
	}
	g := math.Pow(10, peakDB/20) / float64(p)
	gf := float32(g)
	for i := range x {
		x[i] *= gf
	}
	return g
}

// RemoveDC subtracts the mean from x in place and returns the mean removed.
func RemoveDC(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mean := s / float64(len(x))
	mf := float32(mean)
	for i := range x {
		x[i] -= mf
	}
	return mean
}

// Clipped counts samples at or beyond the clipping level for the given
// integer bit depth: the largest positive code (1 - 2^-(bits-1)) or the most
// negative one (-1). For float data (bits 0), the level is 1.0.
func Clipped(x []float32, bits int) int {
	hi := float32(1)
	if bits > 1 && bits <= 32 {
		hi = float32(1 - math.Ldexp(1, -(bits-1)))
	}
	n := 0
	for _, v := range x {
		if v >= hi || v <= -1 {
			n++
		}
	}
	return n
}

// SilentFrames splits x into frames of frameMS milliseconds (the last one
// may be shorter) and counts those whose RMS level is below thresholdDB.
func SilentFrames(x []float32, rate int, thresholdDB, frameMS float64) (silent, total int) {
	frame := int(math.Round(float64(rate) * frameMS / 1000))
	if frame < 1 {
		frame = 1
	}
	thr := math.Pow(10, thresholdDB/10)
	for i := 0; i < len(x); i += frame {
		total++
		if meanSquare(x[i:min(i+frame, len(x))]) < thr {
			silent++
		}
	}
	return silent, total
}

// LoudestFrameDB returns the RMS level in dBFS of the loudest frame of
// frameMS milliseconds (-Inf for silence or no samples). Relative silence
// thresholds (for example 30 dB below the loudest frame) start from it.
func LoudestFrameDB(x []float32, rate int, frameMS float64) float64 {
	frame := int(math.Round(float64(rate) * frameMS / 1000))
	if frame < 1 {
		frame = 1
	}
	best := 0.0
	for i := 0; i < len(x); i += frame {
		best = math.Max(best, meanSquare(x[i:min(i+frame, len(x))]))
	}
	return 10 * math.Log10(best)
}
