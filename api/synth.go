package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// SynthesizeRequest is the body of POST /v1/synthesize. Every field is
// optional: {} gives one second of 16-bit WAV from the default model.
type SynthesizeRequest struct {
	// Model is a model id from GET /v1/models (default: "default", or the
	// only model served).
	Model string `json:"model,omitempty"`
	// Seconds of audio to generate, or NumSamples at the model's sample
	// rate (at most one of the two; default 1 s).
	Seconds    *float64 `json:"seconds,omitempty"`
	NumSamples *int     `json:"num_samples,omitempty"`
	// Speaker and Label set the conditions named "speaker" and the model's
	// label condition (wavenet.Config.LabelCondition, e.g. "digit").
	// Conditions sets any condition by name. Conditions not given take
	// their first value.
	Speaker    string            `json:"speaker,omitempty"`
	Label      string            `json:"label,omitempty"`
	Conditions map[string]string `json:"conditions,omitempty"`
	// Text is a sequence of label values (the digits of the default voice;
	// words or digits separated by spaces or commas, digit strings are
	// split into digits, number words "zero".."nine" map to digits when the
	// labels are digits) said one after another the way `wavenet say`
	// says them (package speech): each word is generated conditioned on
	// (speaker, word) until the model's output shows its end (how long
	// comes from the model's per (speaker, word) duration statistics,
	// speech.StatsFile in its checkpoint), retried with another seed when
	// nothing plausible came out, trimmed of leading and trailing silence,
	// and the words are joined with PauseSeconds of silence (default 0.15,
	// speech.DefaultPause) and 5 ms fades. LabelSeconds, if given, caps the
	// samples generated for each attempt at a word (leading silence
	// included): a word still running then is cut there; by default there
	// is no such cap.
	Text         string   `json:"text,omitempty"`
	LabelSeconds *float64 `json:"label_seconds,omitempty"`
	PauseSeconds *float64 `json:"pause_seconds,omitempty"`
	// Temperature divides the logits (default 1; 0 means greedy).
	Temperature *float64 `json:"temperature,omitempty"`
	// TopK restricts sampling to the k most likely codes (0: all).
	TopK int `json:"top_k,omitempty"`
	// Guidance is the classifier-free guidance weight on the label
	// (cache.StreamOptions.Guidance, against the label's null row): 0 is
	// plain sampling; the default is the model's (GET /v1/models shows
	// it). A guided request costs two streams' work. Only models whose
	// label condition has a null row (trained with conditioning dropout)
	// take a positive weight.
	Guidance *float64 `json:"guidance,omitempty"`
	// Candidates (text only) is how many attempts are made at each word,
	// side by side as free generator slots allow; the one the model finds
	// says the most about its word is kept (speech.Word).
	// Default: the model's; more than 1 needs a model whose label
	// condition has a null row.
	Candidates *int `json:"candidates,omitempty"`
	// Seed makes the output reproducible (default: random, returned in
	// the X-Seed header). Text word i uses Seed + i (as `wavenet say
	// --seed` does; its retries derive their seeds from it).
	Seed *uint64 `json:"seed,omitempty"`
	Output
}

// Output is how a route's audio is sent (SynthesizeRequest,
// VocodeRequest).
type Output struct {
	// Format is wav (default), flac, pcm16, mulaw, alaw or float32.
	Format string `json:"format,omitempty"`
	// SampleRate resamples the output to 1000-192000 Hz (0 or absent:
	// the model's rate).
	SampleRate int `json:"sample_rate,omitempty"`
	// Stream sends the audio while it is generated (chunked transfer).
	Stream bool `json:"stream,omitempty"`
}

// request maps the JSON body to the engine's request.
func (r *SynthesizeRequest) request() *synth.Request {
	return &synth.Request{Model: r.Model, Seconds: r.Seconds, NumSamples: r.NumSamples, Speaker: r.Speaker, Label: r.Label,
		Conditions: r.Conditions, Text: r.Text, LabelSeconds: r.LabelSeconds, PauseSeconds: r.PauseSeconds,
		Temperature: r.Temperature, TopK: r.TopK, Guidance: r.Guidance, Candidates: r.Candidates, Seed: r.Seed,
		Format: audio.Encoding(r.Format), SampleRate: r.SampleRate}
}

// Request maps the JSON body to the engine's request (the batch
// synthesis jobs of jobs/kinds take the same bodies).
func (r *SynthesizeRequest) Request() *synth.Request { return r.request() }

func (s *Server) handleSynthesize(c echo.Context) error {
	var req SynthesizeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	syn, err := s.engine.Start(c.Request().Context(), req.request())
	if err != nil {
		return err
	}
	defer syn.Close() // stops the generation if the handler returns early
	return s.respond(c, syn, req.Stream, nil)
}

// respond sends syn's audio with the audio headers: whole, or streamed
// while it is generated. An error on inputErr (the request's input read
// while its audio was generated; nil: none) replaces whole audio; a
// streamed one cuts the stream. An error answer carries no audio headers.
func (s *Server) respond(c echo.Context, syn *synth.Synthesis, stream bool, inputErr <-chan error) error {
	h := c.Response().Header()
	if stream {
		setSynthesisHeaders(h, syn, syn.Samples)
		return s.streamOut(c, syn, inputErr)
	}
	x, err := syn.Audio()
	select {
	case e := <-inputErr:
		return e
	default:
	}
	if err != nil {
		return err
	}
	body, err := synth.Encode(syn.Format, syn.Rate, x)
	if err != nil {
		return err
	}
	n := syn.Samples
	if n < 0 {
		n = len(x)
	}
	setSynthesisHeaders(h, syn, n)
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	c.Response().WriteHeader(http.StatusOK)
	_, err = c.Response().Write(body)
	return err
}

// setSynthesisHeaders sets the headers of syn's audio answer, its length
// n samples if n >= 0.
func setSynthesisHeaders(h http.Header, syn *synth.Synthesis, n int) {
	setAudioHeaders(h, syn)
	if syn.Conditions != "" {
		h.Set("X-Conditions", syn.Conditions)
	}
	if n >= 0 { // a text's (or streamed frames') length is known at the end
		setLength(h, n, syn.Rate)
	}
	h.Set(echo.HeaderContentType, syn.Format.ContentType(syn.Rate))
}

// setAudioHeaders sets the headers every audio answer carries: the seed,
// model, rate and encoding of syn, and no caching.
func setAudioHeaders(h http.Header, syn *synth.Synthesis) {
	h.Set("X-Seed", strconv.FormatUint(syn.Seed, 10))
	h.Set("X-Model", syn.Model)
	h.Set("X-Sample-Rate", strconv.Itoa(syn.Rate))
	h.Set("X-Audio-Encoding", syn.Format.FFmpegName())
	h.Set("Cache-Control", "no-store")
}

// setLength sets the headers that give the audio's length: n samples at
// rate Hz.
func setLength(h http.Header, n, rate int) {
	h.Set("X-Num-Samples", strconv.Itoa(n))
	h.Set("X-Audio-Duration", strconv.FormatFloat(float64(n)/float64(rate), 'f', -1, 64))
}

// streamOut sends the audio chunk by chunk as it is generated. Once the
// first byte is out, an error (of the generation, or on inputErr: the
// request's input, read while the audio was generated) can only cut the
// connection: the client sees a truncated (chunked) body instead of a
// clean end.
func (s *Server) streamOut(c echo.Context, syn *synth.Synthesis, inputErr <-chan error) error {
	res := c.Response()
	res.Header().Del(echo.HeaderContentLength)
	res.WriteHeader(http.StatusOK)
	_, err := syn.Stream(res, res.Flush)
	if err == nil {
		select {
		case err = <-inputErr: // the input failed: its audio so far is not all of it
		default:
		}
	}
	var we *synth.WriteError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &we):
		markCut(c)
		return nil // the client went away
	case errors.Is(c.Request().Context().Err(), context.Canceled):
		markCut(c)
		return nil // the client left; nothing to tell it
	}
	s.log.Warn("stream cut after the first byte", "request_id", requestID(c), "err", err)
	panic(http.ErrAbortHandler)
}
