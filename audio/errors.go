package audio

import "fmt"

// Problem names what is wrong with an audio stream.
type Problem string

// The problems a *FormatError reports.
const (
	Truncated     Problem = "truncated"             // the stream ends inside a header, chunk or sample frame
	BadMagic      Problem = "bad magic"             // not "RIFF....WAVE"
	ChunkSize     Problem = "absurd chunk size"     // a chunk size no valid file has
	ZeroChannels  Problem = "zero channels"         // fmt chunk declares no channels
	Unsupported   Problem = "unsupported encoding"  // codec or bit depth this package does not decode
	BadFormat     Problem = "inconsistent format"   // fmt fields contradict each other (block align, rate)
	MissingChunk  Problem = "missing chunk"         // no fmt or no data chunk
	TooManyFrames Problem = "exceeds decoder limit" // more sample data than DecodeOptions.MaxSamples
	NonFinite     Problem = "non-finite sample"     // a NaN or infinite float sample (DecodeOptions.Finite)
)

// FormatError reports a stream this package cannot decode. Problem says
// what kind of problem, Detail gives the numbers, Codec which decoder
// ("flac"; empty means "wav"). Err, when set, is the reader's error that
// cut the stream (an http.MaxBytesError, a timeout), for errors.As.
type FormatError struct {
	Problem Problem
	Detail  string
	Codec   string
	Err     error
}

func (e *FormatError) Error() string {
	codec := e.Codec
	if codec == "" {
		codec = "wav"
	}
	if e.Detail == "" {
		return "audio: " + codec + ": " + string(e.Problem)
	}
	return "audio: " + codec + ": " + string(e.Problem) + ": " + e.Detail
}

// Unwrap returns the reader's error that cut the stream, if any.
func (e *FormatError) Unwrap() error { return e.Err }

// Is reports whether target is a *FormatError with the same Problem, so
// that errors.Is(err, &audio.FormatError{Problem: audio.Truncated}) works.
func (e *FormatError) Is(target error) bool {
	t, ok := target.(*FormatError)
	return ok && t.Problem == e.Problem && (t.Detail == "" || t.Detail == e.Detail)
}

func formatErr(p Problem, format string, args ...any) error {
	return &FormatError{Problem: p, Detail: fmt.Sprintf(format, args...)}
}
