package classify

import (
	"fmt"

	"github.com/wavenet-go/wavenet/audio"
)

// Judge recognises the digit and the speaker of an utterance: the MFCC
// Classifier and the spectrogram CNN both are one, so `wavenet eval` and
// the listening tests need not know which judges.
type Judge interface {
	// SampleRate is the rate Predict expects.
	SampleRate() int
	// Predict classifies one utterance at SampleRate.
	Predict(x []float32) (Prediction, error)
	// Name says what the judge is, for reports.
	Name() string
}

// SampleRate is the rate Predict expects.
func (c *Classifier) SampleRate() int { return c.Rate }

// Name describes the classifier.
func (c *Classifier) Name() string { return "MFCC + logistic regression" }

// Evaluate classifies examples with j (resampled to its rate when needed)
// and counts the right answers; a file too short to classify counts as
// wrong.
func Evaluate(j Judge, ex []Example, names []string) (*Report, error) {
	rep := &Report{PerSpeaker: map[string][2]int{}}
	for i, e := range ex {
		res := Result{Name: names[i], Digit: e.Digit, Speaker: e.Speaker}
		x := e.Samples
		if e.Rate != j.SampleRate() {
			var err error
			if x, err = audio.Resample(nil, x, e.Rate, j.SampleRate()); err != nil {
				return nil, fmt.Errorf("classify: %s: %w", names[i], err)
			}
			res.ResampledFrom = e.Rate
		}
		res.Pred, res.Err = j.Predict(x)
		res.DigitOK = res.Err == nil && res.Pred.Digit == e.Digit
		res.SpeakerOK = res.Err == nil && res.Pred.Speaker == e.Speaker
		rep.Files++
		ps := rep.PerSpeaker[e.Speaker]
		ps[1]++
		if res.DigitOK {
			rep.Digits++
			ps[0]++
		}
		if res.SpeakerOK {
			rep.Speaks++
		}
		rep.PerSpeaker[e.Speaker] = ps
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}
