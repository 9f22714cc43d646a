package api

import (
	"context"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/mulaw"
)

// ScoreResponse is the body of POST /v1/score.
type ScoreResponse struct {
	Model string `json:"model"`
	// BitsPerSample is the mean cross-entropy of the model's prediction of
	// each mu-law code given the ones before (teacher forcing), in bits;
	// lower means the model finds the audio more likely.
	BitsPerSample float64 `json:"bits_per_sample"`
	NatsPerSample float64 `json:"nats_per_sample"`
	// Scored is the number of predictions averaged: positions From..T-2.
	Scored     int     `json:"scored"`
	From       int     `json:"from"`
	Samples    int     `json:"samples"` // at the model's rate, after resampling
	Seconds    float64 `json:"seconds"`
	InputRate  int     `json:"input_sample_rate"`
	Channels   int     `json:"input_channels"`
	Conditions []int   `json:"conditions"`
}

// handleScore scores a WAV upload: the raw body (Content-Type audio/wav,
// audio/x-wav, audio/wave or application/octet-stream) or the "file" part
// of a multipart/form-data body. Query: model, speaker, label, any
// condition by name, from (0 or "receptive_field").
func (s *Server) handleScore(c echo.Context) error {
	req := c.Request()
	q := req.URL.Query()
	m, err := s.pickModel(q.Get("model"))
	if err != nil {
		return err
	}
	cfg := m.net.Config
	named := map[string]string{}
	for k, v := range q {
		switch k {
		case "model", "speaker", "label", "from":
		default:
			named[k] = v[0]
		}
	}
	cond, _, err := resolveConditions(m, named, q.Get("speaker"), q.Get("label"))
	if err != nil {
		return err
	}
	from := 0
	switch f := q.Get("from"); f {
	case "", "0":
	case "receptive_field":
		from = cfg.ReceptiveField() - 1
	default:
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return badRequest("query \"from\" is %q; want 0, a positive sample index or \"receptive_field\"", f)
		}
		from = n
	}

	body, err := uploadReader(req)
	if err != nil {
		return err
	}
	clip, err := audio.DecodeWith(body, audio.DecodeOptions{Mono: true})
	if err != nil {
		var fe *audio.FormatError
		switch {
		case isMaxBytes(err):
			return Errorf(http.StatusRequestEntityTooLarge, "too_large", "upload is larger than the server's limit; send a shorter WAV")
		case errors.As(err, &fe):
			return Errorf(http.StatusBadRequest, "bad_audio",
				"the upload is not a WAV file this server can read (%s); send a RIFF/WAVE file with PCM or float samples", strings.TrimPrefix(err.Error(), "audio: "))
		}
		return Errorf(http.StatusBadRequest, "bad_request", "reading the upload: %v", err)
	}
	sec := clip.Duration().Seconds()
	if sec > s.opts.MaxScoreSeconds {
		return Errorf(http.StatusRequestEntityTooLarge, "too_long", "the WAV lasts %.2f s, more than this server scores (%g s); send a shorter clip", sec, s.opts.MaxScoreSeconds)
	}
	x := clip.Samples
	if r := clip.Format.SampleRate; r != cfg.SampleRate {
		x, err = audio.Resample(nil, x, r, cfg.SampleRate)
		if err != nil {
			return badRequest("the WAV's sample rate cannot be converted to the model's %d Hz: %v", cfg.SampleRate, err)
		}
	}
	codes := mulaw.Encode(nil, x, cfg.QuantizationChannels)
	if len(codes) < from+2 {
		return badRequest("the WAV has %d samples at %d Hz; scoring from %d needs at least %d", len(codes), cfg.SampleRate, from, from+2)
	}
	release, err := s.admitScore(req.Context())
	if err != nil {
		return err
	}
	nats, n, err := m.net.Score(req.Context(), codes, cond, from)
	release()
	if err != nil {
		return err
	}
	res := ScoreResponse{
		Model: m.id, NatsPerSample: nats / float64(n), Scored: n, From: from,
		Samples: len(codes), Seconds: float64(len(codes)) / float64(cfg.SampleRate),
		InputRate: clip.Format.SampleRate, Channels: clip.Format.Channels, Conditions: cond,
	}
	res.BitsPerSample = res.NatsPerSample / math.Ln2
	return c.JSON(http.StatusOK, res)
}

// uploadReader returns the WAV bytes of a score request.
func uploadReader(req *http.Request) (io.Reader, error) {
	ct := req.Header.Get(echo.HeaderContentType)
	mt := ""
	if ct != "" {
		var err error
		mt, _, err = mime.ParseMediaType(ct)
		if err != nil {
			return nil, Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type %q does not parse; send audio/wav or multipart/form-data", ct)
		}
	}
	switch mt {
	case "", "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream":
		return req.Body, nil
	case "multipart/form-data":
		mr, err := req.MultipartReader()
		if err != nil {
			return nil, badRequest("multipart body: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, badRequest("multipart body has no part named \"file\"; send the WAV as -F file=@clip.wav")
			}
			if err != nil {
				if isMaxBytes(err) {
					return nil, Errorf(http.StatusRequestEntityTooLarge, "too_large", "upload is larger than the server's limit; send a shorter WAV")
				}
				return nil, badRequest("multipart body: %v", err)
			}
			if part.FormName() == "file" {
				return part, nil
			}
		}
	}
	return nil, Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Content-Type is %q; send the WAV as the body with Content-Type audio/wav, or as the \"file\" field of multipart/form-data", ct)
}

// admitScore bounds concurrent forward passes: a token at once or 429, then
// a running slot within QueueWait or 429.
func (s *Server) admitScore(ctx context.Context) (release func(), err error) {
	select {
	case s.scoreAdmit <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	t := time.NewTimer(s.opts.QueueWait)
	defer t.Stop()
	select {
	case s.scoreRun <- struct{}{}:
		return func() { <-s.scoreRun; <-s.scoreAdmit }, nil
	case <-t.C:
		err = ErrBusy
	case <-ctx.Done():
		err = ctx.Err()
	}
	<-s.scoreAdmit
	return nil, err
}
