// Package api implements the wavenet synthesis service: an HTTP/JSON REST API
// on echo v4 that turns WaveNet checkpoints into audio (POST /v1/synthesize,
// whole or streamed while generating), scores uploaded WAVs (POST /v1/score,
// bits per sample), lists models (GET /v1/models, /v1/models/{id}), and
// exposes /healthz, /readyz, /metrics (Prometheus) and /openapi.json
// (OpenAPI 3.0, https://spec.openapis.org/oas/v3.0.3).
//
// Concurrent requests for one model share batched fast generators
// (cache.Generator, Fast WaveNet queues, Paine et al. 2016, arXiv:1611.09482):
// per model, a scheduler with Options.Workers shards, each a goroutine
// owning one generator, lets streams join and leave between steps
// (continuous batching, as LLM servers do), with bounded admission:
// Options.MaxStreams slots over all shards plus a wait queue of
// Options.MaxQueue; beyond that, 429 with Retry-After. A request's output
// depends only on its own parameters and seed, not on what it was batched
// with (the tests check batched output against a lone generator).
//
// A "text" request says digits (label values) the way package speech
// (`wavenet say`) does, inside the same scheduler: each word is a stream
// conditioned on (speaker, word) whose end speech.Utterance detects, with
// limits from the model's duration statistics (Options.Speech, loaded by
// LoadSpeechStats or models.Stats), retried with speech's seeds when poor,
// trimmed, and joined with pauses by speech.Concat; for the same model,
// statistics, text and seed the audio equals speech.Say's.
//
// The model table is built by New from Options.Models and can grow while
// serving: Server.AddModel (used by the compression jobs of
// api/compressapi through the binary) builds the new model's
// scheduler as New does, and GET /v1/models lists it at once. Models
// stored as int8 checkpoints (LoadModelsInt8, Options.Int8, WithInt8) are
// generated with cache.NewInt8, whose weight products run in 8 bits.
//
// Other packages contribute routes through Feature (api/detectionapi,
// api/rlapi, api/compressapi); the binary mounts them explicitly in
// Options.Features, and api imports none of them.
package api
