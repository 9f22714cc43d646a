// Package synth is the synthesis engine behind `wavenet generate`, `say`,
// `samples` and the service's POST /v1/synthesize: the model bundle
// (model, int8 form, speech duration statistics) loaded from a checkpoint
// directory, a directory of checkpoints or an fs.FS; request planning and
// validation with typed errors (Request, RequestError, ErrBusy, ...); the
// continuous-batching scheduler (many requests' streams stepped together
// by cache generators, Fast WaveNet: Paine et al. 2016,
// https://arxiv.org/abs/1611.09482), which also says text word by word
// with package speech's word policy (one pause between words, or a
// script's pause before each); output (time-stretched by Request.Speed,
// scaled by Request.GainDB; mu-law codes to samples, one
// streaming resampler, one encoder per format) written to an io.Writer as
// it is generated or whole; vocoding of mel frames by a model with local
// conditioning (frames given whole, computed from a recording, or
// streamed in while audio comes out; a stream is never stepped past its
// frames, and one whose frames stream in runs on a generator of its own,
// which waits for them at most 2 s), or Griffin-Lim from the
// same frames; and teacher-forced scoring of recordings
// processed as the model's training processed them.
//
// The CLI maps flags to a Request and the REST layer (package api) maps
// JSON to one; neither re-implements any of it. synth does not import
// gorgonia, gonum/plot, prometheus, echo or the corpus loader: metrics are
// reported through the Metrics interface.
package synth
