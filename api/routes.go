package api

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

func (s *Server) coreRoutes(g *echo.Group) {
	g.POST("/synthesize", s.handleSynthesize)
	g.POST("/vocode", s.handleVocode)
	g.POST("/score", s.handleScore)
	g.GET("/models", s.handleModels)
	g.GET("/models/:id", s.handleModel)
	g.DELETE("/models/:id", s.handleDeleteModel)
	// Drop-in routes: OpenAI's create speech, Google Cloud TTS's (the
	// colon escaped: a literal one, not a path parameter).
	g.POST("/audio/speech", s.handleSpeech)
	g.POST("/text\\:synthesize", s.handleGoogleSynthesize)
	g.GET("/voices", s.handleGoogleVoices)
}

// ModelInfo describes a served model (GET /v1/models, /v1/models/{id}).
type ModelInfo struct {
	ID                   string              `json:"id"`
	SampleRate           int                 `json:"sample_rate"`
	ReceptiveField       int                 `json:"receptive_field"`
	ReceptiveFieldMillis float64             `json:"receptive_field_ms"`
	QuantizationChannels int                 `json:"quantization_channels"`
	Layers               int                 `json:"layers"`
	Parameters           int                 `json:"parameters"`
	Conditions           []wavenet.Condition `json:"conditions"`
	// LabelCondition is the condition "label" sets
	// (wavenet.Config.LabelCondition; "" if none).
	LabelCondition string `json:"label_condition,omitempty"`
	// TextCondition is the condition the words of "text" set: the same
	// as LabelCondition ("" if the model cannot say text).
	TextCondition string `json:"text_condition,omitempty"`
	// WordDurations says where the word length limits of "text" come
	// from: "model" (the checkpoint's speech.json) or "default"
	// (speech.DefaultDuration); "" if the model cannot say text.
	WordDurations string `json:"word_durations,omitempty"`
	MaxStreams    int    `json:"max_streams"`
	// Guidance is the classifier-free guidance weight of requests that
	// give none (0: plain sampling); Guidable says whether "guidance" can
	// be positive (the label condition has a null row).
	Guidance float64 `json:"guidance"`
	Guidable bool    `json:"guidable"`
	// Candidates is the number of attempts per word of "text" requests
	// that give none (see SynthesizeRequest.Candidates).
	Candidates int `json:"candidates,omitempty"`
	// Generator is "int8" for a model stored as int8 (weight products in
	// 8 bits, cache.NewInt8), "float32" otherwise (cache.New).
	Generator string `json:"generator"`
	// Local is a vocoder's local conditioning: mel channels, hop,
	// upsampling and, when recorded, the mel parameters its frames are
	// computed with (nil for a model without; POST /v1/vocode serves
	// models with it).
	Local *wavenet.LocalConfig `json:"local_conditioning,omitempty"`
	// Config is the full hyperparameter set (GET /v1/models/{id} only).
	Config *wavenet.Config `json:"config,omitempty"`
	// Stored marks a model of the shared model store (made by a job) that
	// this replica has not loaded: only its id is given; GET
	// /v1/models/{id} or any request naming it loads it.
	Stored bool `json:"stored,omitempty"`
}

func (s *Server) modelInfo(id string, m *synth.Bundle, full bool) ModelInfo {
	cfg := m.Model.Config
	info := ModelInfo{
		ID: id, SampleRate: cfg.SampleRate, ReceptiveField: cfg.ReceptiveField(),
		ReceptiveFieldMillis: 1000 * float64(cfg.ReceptiveField()) / float64(cfg.SampleRate),
		QuantizationChannels: cfg.QuantizationChannels, Layers: len(cfg.Dilations),
		Parameters: m.Model.NumParams(), Conditions: cfg.Conditions, MaxStreams: s.opts.MaxStreams,
		Generator: "float32", Local: cfg.Local,
	}
	if m.Int8 {
		info.Generator = "int8"
	}
	if info.Conditions == nil {
		info.Conditions = []wavenet.Condition{}
	}
	if lc := cfg.LabelCondition(); lc >= 0 {
		info.LabelCondition = cfg.Conditions[lc].Name
		info.Guidance, info.Guidable = m.DefaultGuidance(), cfg.HasNull(lc)
	}
	if tc := cfg.LabelCondition(); tc >= 0 {
		info.TextCondition = cfg.Conditions[tc].Name
		info.WordDurations = "default"
		info.Candidates = 1
		if m.Stats != nil {
			info.WordDurations = "model"
		}
		info.Candidates = m.DefaultCandidates()
	}
	if full {
		c := cfg
		info.Config = &c
	}
	return info
}

// FailedModel is a model that did not load (GET /v1/models "failed").
type FailedModel struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

func (s *Server) handleModels(c echo.Context) error {
	out := struct {
		Models []ModelInfo   `json:"models"`
		Failed []FailedModel `json:"failed,omitempty"`
	}{Models: []ModelInfo{}}
	ids, err := s.engine.Available(c.Request().Context())
	if err != nil {
		s.log.Warn("models: the model store cannot be listed", "err", err)
	}
	for _, id := range ids {
		if m, ok := s.engine.Bundle(id); ok {
			out.Models = append(out.Models, s.modelInfo(id, m, false))
		} else {
			out.Models = append(out.Models, ModelInfo{ID: id, Stored: true})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.opts.FailedModels)) {
		out.Failed = append(out.Failed, FailedModel{ID: id, Error: failedText(s.opts.FailedModels[id])})
	}
	return c.JSON(http.StatusOK, out)
}

// failedText is a load error as a client sees it: without the package
// prefixes.
func failedText(err error) string {
	msg := err.Error()
	for _, p := range []string{"synth: ", "wavenet: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}

func (s *Server) handleModel(c echo.Context) error {
	id := c.Param("id")
	if err, failed := s.opts.FailedModels[id]; failed && !s.engine.Loaded(id) {
		return Errorf(http.StatusServiceUnavailable, "model_failed",
			"model %q did not load when the server started (%s); fix its checkpoint and restart the server", id, failedText(err))
	}
	_, m, err := s.engine.Pick(c.Request().Context(), id)
	if errors.Is(err, synth.ErrUnknownModel) {
		return Errorf(http.StatusNotFound, "model_not_found", "unknown model %q; GET /v1/models lists the models", id)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.modelInfo(id, m, true))
}
