package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
)

// SpeechRequest is the body of POST /v1/audio/speech, OpenAI's "create
// speech" (https://platform.openai.com/docs/api-reference/audio/createSpeech).
type SpeechRequest struct {
	// Model is a served model id, or one of OpenAI's own model names
	// (OpenAIModels), which are served by the default model.
	Model string `json:"model"`
	// Input is the text, at most MaxSpeechInput characters, read by
	// speech.Normalize (numbers digit by digit; a word the model cannot
	// say is a 400 naming it).
	Input string `json:"input"`
	// Voice is a speaker of the model (a value of its "speaker"
	// condition), as a string or {"id": "..."}.
	Voice SpeechVoice `json:"voice"`
	// Instructions are accepted and ignored: the model has no way to
	// change its manner of speaking (OpenAI ignores them for tts-1 too).
	Instructions string `json:"instructions,omitempty"`
	// ResponseFormat is wav (default here, where OpenAI's is mp3), flac,
	// pcm (raw 16-bit little-endian mono at 24 kHz, as OpenAI defines
	// it), or this service's mulaw, alaw and float32 (raw, at the model's
	// rate). mp3, opus and aac are a 400 listing these.
	ResponseFormat string `json:"response_format,omitempty"`
	// Speed is 0.25 to 4 (default 1), applied without changing the pitch.
	Speed *float64 `json:"speed,omitempty"`
	// StreamFormat is "audio" (the bytes streamed while they are
	// generated) or "sse" (server-sent events speech.audio.delta with
	// base64 chunks, then speech.audio.done). Left out, the whole audio
	// is sent at once with its length.
	StreamFormat string `json:"stream_format,omitempty"`
}

// SpeechVoice is a voice given as a string or as {"id": "..."}.
type SpeechVoice struct{ ID string }

// UnmarshalJSON reads "name" or {"id": "name"}.
func (v *SpeechVoice) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &v.ID); err == nil {
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[string](), Field: "voice"}
	}
	v.ID = o.ID
	return nil
}

// MarshalJSON writes the voice as a string.
func (v SpeechVoice) MarshalJSON() ([]byte, error) { return json.Marshal(v.ID) }

// MaxSpeechInput is OpenAI's limit on "input", in characters.
const MaxSpeechInput = 4096

// OpenAIModels are OpenAI's speech model names, served by this service's
// default model (the one a request without "model" gets).
var OpenAIModels = []string{"tts-1", "tts-1-hd", "gpt-4o-mini-tts"}

// OpenAIPCMRate is the rate of response_format "pcm".
const OpenAIPCMRate = 24000

type openAIFormat struct {
	name string
	enc  audio.Encoding
}

// openAIFormats maps response_format to the encodings made, in the order
// the 400 lists them.
var openAIFormats = []openAIFormat{
	{"wav", audio.EncodingWAV}, {"flac", audio.EncodingFLAC}, {"pcm", audio.EncodingPCM16},
	{"mulaw", audio.EncodingMulaw}, {"alaw", audio.EncodingAlaw}, {"float32", audio.EncodingFloat32},
}

// paramError is a 400 naming the request field it is about.
func paramError(field, format string, args ...any) error {
	return &synth.RequestError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// SeedHeader is the request header that sets the seed of the drop-in
// routes, whose bodies have no seed field; the response's X-Seed header
// returns the seed used.
const SeedHeader = "X-Seed"

func seedFromHeader(c echo.Context) (*uint64, error) {
	h := c.Request().Header.Get(SeedHeader)
	if h == "" {
		return nil, nil
	}
	v, err := strconv.ParseUint(strings.TrimSpace(h), 10, 64)
	if err != nil {
		return nil, paramError("seed", "header %s is %q; want an unsigned integer", SeedHeader, h)
	}
	return &v, nil
}

// speakers returns the values of b's speaker condition (nil: it has
// none).
func speakers(b *synth.Bundle) []string {
	cfg := b.Model.Config
	if i := cfg.Condition("speaker"); i >= 0 {
		return cfg.Conditions[i].Values
	}
	return nil
}

// textScript picks the model id names (errors name field model) and
// reads text (or SSML) as its label condition's values.
func (s *Server) textScript(ctx context.Context, id, text string, ssml bool) (string, *synth.Bundle, speech.Script, error) {
	id, b, err := s.engine.Pick(ctx, id)
	if err != nil {
		return "", nil, speech.Script{}, err
	}
	cfg := b.Model.Config
	lc := cfg.LabelCondition()
	if lc < 0 || cfg.Local != nil {
		return "", nil, speech.Script{}, paramError("model", "model %q cannot say text (it has no label condition); GET /v1/models lists the models", id)
	}
	var sc speech.Script
	if ssml {
		sc, err = speech.ParseSSML(text, cfg.Conditions[lc])
	} else {
		sc, err = speech.Normalize(text, cfg.Conditions[lc], speech.NormalizeOptions{})
	}
	return id, b, sc, err
}

func (s *Server) handleSpeech(c echo.Context) error {
	var r SpeechRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	seed, err := seedFromHeader(c)
	if err != nil {
		return err
	}
	model := r.Model
	switch {
	case model == "":
		return paramError("model", "field \"model\" is required: a model id from GET /v1/models, or %s for the default model", quoteList(OpenAIModels))
	case slices.Contains(OpenAIModels, model) || strings.HasPrefix(model, "gpt-4o-mini-tts-"):
		model = ""
	}
	if strings.TrimSpace(r.Input) == "" {
		return paramError("input", "field \"input\" is required: the text to say")
	}
	if n := utf8.RuneCountInString(r.Input); n > MaxSpeechInput {
		return paramError("input", "field \"input\" has %d characters; want at most %d", n, MaxSpeechInput)
	}
	req := &synth.Request{Seed: seed, Format: audio.EncodingWAV}
	if r.ResponseFormat != "" {
		i := slices.IndexFunc(openAIFormats, func(f openAIFormat) bool { return f.name == r.ResponseFormat })
		if i < 0 {
			names := make([]string, len(openAIFormats))
			for i, f := range openAIFormats {
				names[i] = f.name
			}
			return paramError("response_format", "field \"response_format\" is %q; this server makes %s (not mp3, opus or aac)", r.ResponseFormat, quoteList(names))
		}
		req.Format = openAIFormats[i].enc
		if r.ResponseFormat == "pcm" {
			req.SampleRate = OpenAIPCMRate
		}
	}
	if r.Speed != nil {
		if !(*r.Speed >= audio.MinSpeed && *r.Speed <= audio.MaxSpeed) {
			return paramError("speed", "field \"speed\" is %v; want %v to %v", *r.Speed, audio.MinSpeed, audio.MaxSpeed)
		}
		req.Speed = *r.Speed
	}
	if r.StreamFormat != "" && r.StreamFormat != "audio" && r.StreamFormat != "sse" {
		return paramError("stream_format", "field \"stream_format\" is %q; want \"audio\" or \"sse\"", r.StreamFormat)
	}
	id, b, sc, err := s.textScript(c.Request().Context(), model, r.Input, false)
	if err != nil {
		return err
	}
	voices := speakers(b)
	switch {
	case r.Voice.ID == "":
		return paramError("voice", "field \"voice\" is required; model %q's voices are %s", id, voiceList(voices))
	case voices == nil && r.Voice.ID != "default", voices != nil && !slices.Contains(voices, r.Voice.ID):
		return paramError("voice", "unknown voice %q; model %q's voices are %s", r.Voice.ID, id, voiceList(voices))
	case voices != nil:
		req.Speaker = r.Voice.ID
	}
	req.Model, req.Text, req.Pauses, req.TrailingPause = id, sc.Text(), sc.Pauses, sc.Trailing
	syn, err := s.engine.Start(c.Request().Context(), req)
	if err != nil {
		return err
	}
	defer syn.Close()
	if r.StreamFormat == "sse" {
		return s.speechEvents(c, syn, len(sc.Labels))
	}
	return s.respond(c, syn, r.StreamFormat == "audio", nil)
}

// voiceList names a model's voices ("default" for a model without
// speakers).
func voiceList(voices []string) string {
	if voices == nil {
		return `"default" (the model has one voice)`
	}
	return quoteList(voices)
}

// sseWriter sends every write as a speech.audio.delta event.
type sseWriter struct {
	w   *echo.Response
	buf []byte
}

func (w *sseWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w.buf = append(w.buf[:0], `data: {"type":"speech.audio.delta","audio":"`...)
	w.buf = base64.StdEncoding.AppendEncode(w.buf, p)
	w.buf = append(w.buf, "\"}\n\n"...)
	if _, err := w.w.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// speechUsage is the usage of a speech.audio.done event: input tokens are
// the labels said, output tokens the audio samples.
type speechUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// speechEvents streams syn as OpenAI's server-sent events: data-only
// events {"type": "speech.audio.delta", "audio": base64} as the audio is
// generated, then {"type": "speech.audio.done", "usage": ...}; an error
// after the first event is an {"type": "error", "error": {...}} event.
func (s *Server) speechEvents(c echo.Context, syn *synth.Synthesis, labels int) error {
	res := c.Response()
	h := res.Header()
	setAudioHeaders(h, syn)
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("X-Audio-Media-Type", syn.Format.ContentType(syn.Rate))
	res.WriteHeader(http.StatusOK)
	n, err := syn.Stream(&sseWriter{w: res}, res.Flush)
	var we *synth.WriteError
	var event any
	switch {
	case errors.As(err, &we) || errors.Is(c.Request().Context().Err(), context.Canceled):
		markCut(c)
		return nil // the client went away
	case err != nil:
		markCut(c)
		event = map[string]any{"type": "error", "error": openAIError(toError(err))["error"]}
	default:
		event = map[string]any{"type": "speech.audio.done",
			"usage": speechUsage{InputTokens: labels, OutputTokens: n, TotalTokens: labels + n}}
	}
	b, _ := json.Marshal(event)
	fmt.Fprintf(res, "data: %s\n\n", b)
	res.Flush()
	return nil
}

// errorShapes are the error bodies of the routes that answer in another
// API's shape, by route path.
var errorShapes = map[string]func(*Error) map[string]any{
	"/v1/audio/speech":      openAIError,
	"/v1/text\\:synthesize": googleError,
	"/v1/voices":            googleError,
}

// openAIError is OpenAI's error object: {"error": {"message", "type",
// "param", "code"}}; param is the request field at fault (null if none).
func openAIError(e *Error) map[string]any {
	typ := "invalid_request_error"
	switch {
	case e.Status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case e.Status >= 500:
		typ = "server_error"
	}
	code := e.Code
	if e.Status == http.StatusUnauthorized {
		code = "invalid_api_key"
	}
	var param any
	var re *synth.RequestError
	var ie *speech.InputError
	switch {
	case errors.As(e.Err, &re) && re.Field != "":
		param = openAIParam(re.Field)
	case errors.As(e.Err, &ie):
		param = "input"
	}
	return map[string]any{"error": map[string]any{"message": e.Message, "type": typ, "param": param, "code": code}}
}

// openAIParam names an engine request field as the OpenAI request does.
func openAIParam(field string) string {
	switch field {
	case "speaker":
		return "voice"
	case "text", "label":
		return "input"
	case "format":
		return "response_format"
	}
	return field
}
