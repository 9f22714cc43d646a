// Package compressapi serves compression jobs over the REST API as a view
// of the durable jobs (package jobs, kind compress of jobs/kinds):
// POST /v1/models/{id}/compress submits a job that quantizes (int8, fp16,
// bf16) or prunes an embedded model or a model a job made;
// GET /v1/compress/jobs/{id} reports the job's progress and result from
// its record, GET /v1/compress/jobs lists the compress jobs, and
// DELETE /v1/compress/jobs/{id} cancels a job or deletes a finished one
// with its model. Any replica on the same NATS sees the same jobs.
//
// The new model is a job output, served under the job's id by every
// replica (kinds.ModelSource); the jobs' retention (serve --keep-jobs,
// --job-max-age) deletes old jobs with their models. Quantization and
// one-shot pruning need no training, so this package does not import
// gorgonia.
package compressapi
