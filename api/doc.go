// Package api implements the wavenet synthesis service: an HTTP/JSON REST API
// on echo v4 that turns WaveNet checkpoints into audio (POST /v1/synthesize,
// whole or streamed while generating), vocodes mel spectrograms with a
// vocoder (POST /v1/vocode: JSON frames, a .npy upload or a recording for
// copy synthesis; or Griffin-Lim), scores uploaded WAVs (POST /v1/score,
// bits per sample), lists models (GET /v1/models, /v1/models/{id}),
// answers as OpenAI's speech API (POST /v1/audio/speech) and Google Cloud
// Text-to-Speech (POST /v1/text:synthesize, GET /v1/voices) do, with
// their shapes and error bodies (errorShapes), and exposes /healthz, /readyz, /metrics (Prometheus) and /openapi.json
// (OpenAPI 3.0, https://spec.openapis.org/oas/v3.0.3). GET / and
// /static/* serve the web page handed in as Options.Page (package web,
// mounted by the binary), outside /v1 and outside the OpenAPI document.
//
// The service is HTTP only: request bodies are mapped to synth.Request
// and served by a synth.Engine (package synth: request planning, the
// continuous-batching scheduler with bounded admission, text said with
// package speech's word policy, output encoding, scoring); errors from
// synth (*synth.RequestError, synth.ErrBusy, synth.ErrShutdown, ...) are
// mapped to statuses and one JSON error shape in one table (toError);
// Prometheus metrics implement synth.Metrics. Beyond Options.MaxStreams
// slots and Options.MaxQueue waiting requests per model, 429 with
// Retry-After. A request's output depends only on its own parameters and
// seed, not on what it was batched with.
//
// The model table is built by New from Options.Models (bundles from
// synth.LoadServed, synth.LoadModels or synth.LoadFS), and can grow while
// serving:
// Server.AddModel (used by the compression jobs of api/compressapi
// through the binary) is synth.Engine.AddModel, and GET /v1/models lists
// the model at once. Models stored as int8 checkpoints (synth.Bundle.Int8,
// WithInt8) are generated with cache.NewInt8.
//
// Other packages contribute routes through Feature (api/detectionapi,
// api/rlapi, api/compressapi); the binary mounts them explicitly in
// Options.Features, and api imports none of them.
package api
