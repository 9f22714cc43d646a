package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
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
	// Processing says how the recording was turned into codes:
	// "training" (trimmed and normalised as the model's training audio
	// was; the default) or "raw" (query raw=true: only resampled).
	Processing string `json:"processing"`
}

// handleScore scores a WAV upload: the raw body (Content-Type audio/wav,
// audio/x-wav, audio/wave or application/octet-stream) or the "file" part
// of a multipart/form-data body. Query: model, speaker, label, any
// condition by name, from (0 or "receptive_field").
func (s *Server) handleScore(c echo.Context) error {
	req := c.Request()
	q := req.URL.Query()
	id, b, err := s.engine.Pick(req.Context(), q.Get("model"))
	if err != nil {
		return err
	}
	cfg := b.Model.Config
	named := map[string]string{}
	for k, v := range q {
		switch k {
		case "model", "speaker", "label", "from", "raw":
		default:
			named[k] = v[0]
		}
	}
	cond, err := synth.ResolveConditions(id, cfg, named, q.Get("speaker"), q.Get("label"))
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
	raw := false
	switch r := q.Get("raw"); r {
	case "", "false", "0":
	case "true", "1":
		raw = true
	default:
		return badRequest("query \"raw\" is %q; want true (score the recording as it is, only resampled) or false (processed as the model's training audio was)", r)
	}

	body, err := uploadReader(req)
	if err != nil {
		return err
	}
	clip, err := audio.DecodeWith(body, audio.DecodeOptions{Mono: true, Finite: true})
	if err != nil {
		var fe *audio.FormatError
		switch {
		case isMaxBytes(err):
			return Errorf(http.StatusRequestEntityTooLarge, "too_large", "upload is larger than the server's limit; send a shorter WAV")
		case errors.As(err, &fe):
			return Errorf(http.StatusBadRequest, "bad_audio",
				"the upload is not a WAV file this server can read (%s); send a RIFF/WAVE file with PCM or float samples", strings.TrimPrefix(err.Error(), "audio: "))
		}
		return readError(err, "the upload")
	}
	sec := clip.Duration().Seconds()
	if sec > s.opts.MaxScoreSeconds {
		return Errorf(http.StatusRequestEntityTooLarge, "too_long", "the WAV lasts %.2f s, more than this server scores (%g s); send a shorter clip", sec, s.opts.MaxScoreSeconds)
	}
	release, err := s.admitScore(req.Context())
	if err != nil {
		return err
	}
	sc, err := synth.ScoreRecording(req.Context(), b.Model, clip.Samples, clip.Format.SampleRate, cond, from, raw)
	release()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ScoreResponse{
		Model: id, BitsPerSample: sc.BitsPerSample, NatsPerSample: sc.NatsPerSample, Scored: sc.Scored, From: sc.From,
		Samples: sc.Samples, Seconds: float64(sc.Samples) / float64(cfg.SampleRate),
		InputRate: clip.Format.SampleRate, Channels: clip.Format.Channels, Conditions: cond, Processing: sc.Processing,
	})
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
