// Package rlapi serves package rl over the REST API: training runs as
// background jobs (POST /v1/rl/runs), their status and learning curve
// (GET /v1/rl/runs/{id}), acting with a trained policy
// (POST /v1/rl/runs/{id}/act) and deleting a run (DELETE /v1/rl/runs/{id}).
// New returns the routes as an api.Feature that the binary mounts (rl
// imports gorgonia, which package api must not).
package rlapi
