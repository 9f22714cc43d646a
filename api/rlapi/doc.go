// Package rlapi serves package rl over the REST API as a view of the
// durable rl jobs (package jobs, kind rl of jobs/kinds): POST /v1/rl/runs
// submits a training run, GET /v1/rl/runs/{id} shows its status from the
// job's record and, once done, its learning curve from the job's
// summary.json output, POST /v1/rl/runs/{id}/act answers with the
// trained policy (the job's policy.json output, loaded by any replica),
// and DELETE /v1/rl/runs/{id} cancels a run or deletes a finished one.
// Any replica on the same NATS sees the same runs; the jobs' retention
// deletes old ones. The package imports rl (and so gorgonia), which
// package api must not: the binary mounts its Feature.
package rlapi
