// Package compressapi serves package compress over the REST API:
// POST /v1/models/{id}/compress starts a background job that quantizes
// (int8, fp16, bf16) or prunes a served model into a new model id, which
// is served as soon as the job is done; GET /v1/compress/jobs/{id} reports
// the job's progress and result, GET /v1/compress/jobs lists the jobs.
//
// The new model is handed to the server through a Registry (the server's
// model table), set with SetRegistry once the server exists, since the
// server is built with the feature's routes. Quantization and one-shot
// pruning need no training, so this package does not import gorgonia.
package compressapi
