// Package kinds holds the job kinds that package jobs runs: batch
// synthesis ("synthesize": a list of POST /v1/synthesize bodies rendered
// to audio files by the service's synth engine), compression
// ("compress": quantize or prune a model, embedded or made by another
// job, into a new model), training ("train": a WaveNet run on a
// corpus the worker can read, its run directory, checkpoints included,
// copied to the object store as it is written so that a redelivered job
// resumes from the last checkpoint) and reinforcement learning ("rl": an
// agent of package rl trained on an environment; its summary, policy
// and learning curve as outputs). Handlers builds the jobs.Handler of
// each kind; Validate checks a request before it is submitted.
//
// A model made by a job is stored as the outputs model/config.json,
// model/model.safetensors (and model/speech.json when the source had
// one): the checkpoint directory format of package wavenet.
package kinds
