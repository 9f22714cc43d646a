package classify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/wavenet-go/wavenet/audio"
)

// Segments is how many equal time slices of an utterance's frames are
// averaged into the feature vector.
const Segments = 6

const (
	numCoeffs  = 20
	numFilters = 40
)

// Features returns the fixed-length feature vector of an utterance: after
// trimming leading and trailing frames more than 30 dB below the loudest,
// the mean MFCC of each of Segments time slices, pitch statistics, then the
// mean and standard deviation of each coefficient over the whole utterance.
//
// The utterance is first peak-normalised (to -1 dBFS, as training
// normalises its recordings), so the features describe the voice and the
// word, not the recording level: generated audio is always at the training
// level, and a classifier that used the level would tell speakers apart by
// their microphones.
func Features(x []float32, rate int) ([]float64, error) {
	x = append([]float32(nil), x...)
	audio.Normalize(x, -1)
	m, err := audio.NewMFCC(audio.MFCCConfig{SampleRate: rate, Coeffs: numCoeffs, Filters: numFilters})
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	frames := m.Frames(x)
	if len(frames) < Segments {
		return nil, fmt.Errorf("classify: %d samples make %d frames, want at least %d (%.0f ms)",
			len(x), len(frames), Segments, float64(Segments*m.Hop()+m.FrameLen())/float64(rate)*1000)
	}
	// Trim on c0 (log energy): keep frames within 30 dB (ln 10^3 = 6.9) of the peak.
	peak := math.Inf(-1)
	for _, f := range frames {
		peak = math.Max(peak, f[0])
	}
	lo, hi := 0, len(frames)
	thr := peak - 6.9*math.Sqrt(numFilters) // c0 is the log sum scaled by the DCT
	for lo < hi-Segments && frames[lo][0] < thr {
		lo++
	}
	for hi > lo+Segments && frames[hi-1][0] < thr {
		hi--
	}
	frames = frames[lo:hi]
	feat := make([]float64, 0, Segments*numCoeffs+2*numCoeffs)
	n := len(frames)
	for s := 0; s < Segments; s++ {
		a, b := s*n/Segments, (s+1)*n/Segments
		for k := 0; k < numCoeffs; k++ {
			sum := 0.0
			for _, f := range frames[a:b] {
				sum += f[k]
			}
			feat = append(feat, sum/float64(b-a))
		}
	}
	feat = append(feat, pitchFeatures(x, rate)...)
	for k := 0; k < numCoeffs; k++ {
		mean, sq := 0.0, 0.0
		for _, f := range frames {
			mean += f[k]
		}
		mean /= float64(n)
		for _, f := range frames {
			sq += (f[k] - mean) * (f[k] - mean)
		}
		feat = append(feat, mean, math.Sqrt(sq/float64(n)))
	}
	return feat, nil
}

// Softmax is a multinomial logistic regression over standardised features.
type Softmax struct {
	Classes []string    `json:"classes"`
	W       [][]float64 `json:"w"` // classes x features
	B       []float64   `json:"b"`
}

func (s *Softmax) probs(x []float64, dst []float64) []float64 {
	dst = dst[:0]
	mx := math.Inf(-1)
	for c := range s.W {
		z := s.B[c]
		for j, v := range x {
			z += s.W[c][j] * v
		}
		dst = append(dst, z)
		mx = math.Max(mx, z)
	}
	sum := 0.0
	for c := range dst {
		dst[c] = math.Exp(dst[c] - mx)
		sum += dst[c]
	}
	for c := range dst {
		dst[c] /= sum
	}
	return dst
}

// Predict returns the most probable class and its probability.
func (s *Softmax) Predict(x []float64) (string, float64) {
	p := s.probs(x, nil)
	best := 0
	for c := range p {
		if p[c] > p[best] {
			best = c
		}
	}
	return s.Classes[best], p[best]
}

// trainSoftmax fits weights by full-batch gradient descent with Adam on the
// mean cross-entropy plus l2/2 |W|^2.
func trainSoftmax(ctx context.Context, xs [][]float64, ys []string, l2 float64, epochs int) (*Softmax, error) {
	set := map[string]bool{}
	for _, y := range ys {
		set[y] = true
	}
	s := &Softmax{}
	for y := range set {
		s.Classes = append(s.Classes, y)
	}
	sort.Strings(s.Classes)
	idx := map[string]int{}
	for i, c := range s.Classes {
		idx[c] = i
	}
	nf, nc := len(xs[0]), len(s.Classes)
	s.W = make([][]float64, nc)
	for c := range s.W {
		s.W[c] = make([]float64, nf)
	}
	s.B = make([]float64, nc)
	// Adam state, flat over W then B.
	n := nc*nf + nc
	mom, vel, grad := make([]float64, n), make([]float64, n), make([]float64, n)
	const lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
	p := make([]float64, nc)
	for ep := 1; ep <= epochs; ep++ {
		if ep%50 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for i := range grad {
			grad[i] = 0
		}
		for i, x := range xs {
			p = s.probs(x, p)
			p[idx[ys[i]]]--
			for c := 0; c < nc; c++ {
				g := p[c] / float64(len(xs))
				row := grad[c*nf : (c+1)*nf]
				for j, v := range x {
					row[j] += g * v
				}
				grad[nc*nf+c] += g
			}
		}
		for c := 0; c < nc; c++ {
			for j := 0; j < nf; j++ {
				grad[c*nf+j] += l2 * s.W[c][j]
			}
		}
		c1, c2 := 1-math.Pow(b1, float64(ep)), 1-math.Pow(b2, float64(ep))
		for i := range grad {
			mom[i] = b1*mom[i] + (1-b1)*grad[i]
			vel[i] = b2*vel[i] + (1-b2)*grad[i]*grad[i]
			step := lr * (mom[i] / c1) / (math.Sqrt(vel[i]/c2) + eps)
			if i < nc*nf {
				s.W[i/nf][i%nf] -= step
			} else {
				s.B[i-nc*nf] -= step
			}
		}
	}
	return s, nil
}

// Example is one labelled utterance.
type Example struct {
	Samples []float32
	Rate    int
	Digit   string
	Speaker string
}

// Classifier recognises the digit and the speaker of an utterance.
type Classifier struct {
	Rate    int       `json:"rate"`
	Mean    []float64 `json:"mean"`
	Std     []float64 `json:"std"`
	Digit   *Softmax  `json:"digit"`
	Speaker *Softmax  `json:"speaker"`
}

// Train fits a classifier to examples (all at one sample rate).
func Train(ctx context.Context, examples []Example) (*Classifier, error) {
	if len(examples) == 0 {
		return nil, errors.New("classify: no training examples")
	}
	rate := examples[0].Rate
	xs := make([][]float64, 0, len(examples))
	var digits, speakers []string
	for i, e := range examples {
		if e.Rate != rate {
			return nil, fmt.Errorf("classify: example %d is at %d Hz, the first at %d Hz", i, e.Rate, rate)
		}
		f, err := Features(e.Samples, e.Rate)
		if err != nil {
			continue // too short to classify; counted by the caller's evaluation
		}
		xs = append(xs, f)
		digits = append(digits, e.Digit)
		speakers = append(speakers, e.Speaker)
	}
	if len(xs) == 0 {
		return nil, errors.New("classify: every training example was too short")
	}
	c := &Classifier{Rate: rate}
	nf := len(xs[0])
	c.Mean, c.Std = make([]float64, nf), make([]float64, nf)
	for _, x := range xs {
		for j, v := range x {
			c.Mean[j] += v / float64(len(xs))
		}
	}
	for _, x := range xs {
		for j, v := range x {
			c.Std[j] += (v - c.Mean[j]) * (v - c.Mean[j]) / float64(len(xs))
		}
	}
	for j := range c.Std {
		c.Std[j] = math.Sqrt(c.Std[j]) + 1e-9
	}
	for _, x := range xs {
		c.standardise(x)
	}
	var err error
	if c.Digit, err = trainSoftmax(ctx, xs, digits, 1e-3, 400); err != nil {
		return nil, err
	}
	if c.Speaker, err = trainSoftmax(ctx, xs, speakers, 1e-3, 400); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Classifier) standardise(x []float64) {
	for j := range x {
		x[j] = (x[j] - c.Mean[j]) / c.Std[j]
	}
}

// Prediction is a classifier verdict.
type Prediction struct {
	Digit       string
	DigitProb   float64
	Speaker     string
	SpeakerProb float64
}

// Predict classifies one utterance at the classifier's rate.
func (c *Classifier) Predict(x []float32) (Prediction, error) {
	f, err := Features(x, c.Rate)
	if err != nil {
		return Prediction{}, err
	}
	c.standardise(f)
	var p Prediction
	p.Digit, p.DigitProb = c.Digit.Predict(f)
	p.Speaker, p.SpeakerProb = c.Speaker.Predict(f)
	return p, nil
}

// pitchFeatures summarises the fundamental frequency of the voiced part of
// x: the median and interquartile range of log F0 over 40 ms frames whose
// normalised autocorrelation peaks above 0.5 at a lag of 60-300 Hz, and the
// voiced fraction. Pitch is a speaker trait that does not depend on the
// recording level.
func pitchFeatures(x []float32, rate int) []float64 {
	win, hop := rate*40/1000, rate*10/1000
	minLag, maxLag := rate/300, rate/60
	var f0s []float64
	frames := 0
	peak := 0.0
	for start := 0; start+win+maxLag <= len(x); start += hop {
		e := 0.0
		for _, v := range x[start : start+win] {
			e += float64(v) * float64(v)
		}
		peak = math.Max(peak, e)
	}
	for start := 0; start+win+maxLag <= len(x); start += hop {
		e0 := 0.0
		for _, v := range x[start : start+win] {
			e0 += float64(v) * float64(v)
		}
		if e0 < peak/100 || e0 == 0 {
			continue // more than 20 dB below the loudest frame
		}
		frames++
		best, bestLag := 0.0, 0
		for lag := minLag; lag <= maxLag; lag++ {
			r, el := 0.0, 0.0
			for i := 0; i < win; i++ {
				a, b := float64(x[start+i]), float64(x[start+i+lag])
				r += a * b
				el += b * b
			}
			if el == 0 {
				continue
			}
			if c := r / math.Sqrt(e0*el); c > best {
				best, bestLag = c, lag
			}
		}
		if best > 0.5 {
			f0s = append(f0s, math.Log(float64(rate)/float64(bestLag)))
		}
	}
	if len(f0s) == 0 {
		return []float64{math.Log(120), 0, 0}
	}
	sort.Float64s(f0s)
	q := func(p float64) float64 { return f0s[int(p*float64(len(f0s)-1))] }
	return []float64{q(0.5), q(0.75) - q(0.25), float64(len(f0s)) / float64(max(frames, 1))}
}
