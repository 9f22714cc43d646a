package wavenet

import (
	"errors"
	"fmt"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/mulaw"
)

// ErrSilentRecording is returned by RecordingCodes when processing the
// recording as the training audio was processed (trimming) leaves nothing.
var ErrSilentRecording = errors.New("wavenet: the recording is silent: trimming it as the training audio was trimmed leaves nothing")

// Processing names how RecordingCodes processed a recording: "training"
// (as the model's training audio, Config.Preprocessing) or "raw" (only
// resampled).
const (
	ProcessingTraining = "training"
	ProcessingRaw      = "raw"
)

// RecordingCodes turns the mono recording x at rate Hz into the model's
// mu-law codes. By default (raw false) it processes x exactly as the
// model's training audio was processed (Config.Preprocessing: trimmed,
// peak-normalised, resampled to the model's rate), so that scores compare
// with the training's validation figures; with raw it only resamples. x
// may be modified. It returns ErrSilentRecording when trimming leaves
// nothing.
func (c Config) RecordingCodes(x []float32, rate int, raw bool) ([]int32, error) {
	if rate <= 0 {
		return nil, fmt.Errorf("wavenet: recording at %d Hz, want a positive rate", rate)
	}
	var err error
	if raw {
		if rate != c.SampleRate {
			x, err = audio.Resample(nil, x, rate, c.SampleRate)
		}
	} else {
		x, err = c.Preprocessing().Apply(x, rate, c.SampleRate)
		if err == nil && len(x) == 0 {
			err = ErrSilentRecording
		}
	}
	if err != nil {
		return nil, err
	}
	return mulaw.Encode(nil, x, c.QuantizationChannels), nil
}
