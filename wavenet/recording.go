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
	y, err := c.RecordingAudio(x, rate, raw)
	if err != nil {
		return nil, err
	}
	return mulaw.Encode(nil, y, c.QuantizationChannels), nil
}

// RecordingAudio is the audio RecordingCodes encodes: x processed as the
// training audio was (or only resampled with raw), at the model's rate.
func (c Config) RecordingAudio(x []float32, rate int, raw bool) ([]float32, error) {
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
	return x, nil
}

// RecordingInput is what the model scores a recording with: its codes
// (RecordingCodes) and, for a model with local conditioning, the log-mel
// frames of the same processed audio ((F, C) row-major, Local.Mel), as
// training computes an utterance's; mels is nil for a model without
// local conditioning. A vocoder that records no mel parameters, or a
// recording too short for one frame, gives a *LocalError.
func (c Config) RecordingInput(x []float32, rate int, raw bool) (codes []int32, mels []float32, err error) {
	if lc := c.Local; lc != nil && lc.Mel == nil {
		return nil, nil, &LocalError{Msg: "the model records no mel parameters, so a recording's frames cannot be computed"}
	}
	y, err := c.RecordingAudio(x, rate, raw)
	if err != nil {
		return nil, nil, err
	}
	codes = mulaw.Encode(nil, y, c.QuantizationChannels)
	if c.Local == nil {
		return codes, nil, nil
	}
	if n := c.Local.Mel.NFFT / 2; len(y) <= n {
		return nil, nil, &LocalError{Msg: fmt.Sprintf("the recording's %d samples are too short for one mel frame (more than n_fft/2 = %d)", len(y), n)}
	}
	sp, err := audio.LogMel(nil, y, *c.Local.Mel)
	if err != nil {
		return nil, nil, fmt.Errorf("wavenet: mels of the recording: %w", err)
	}
	return codes, sp.Data, nil
}
