// Package jobsapi serves the durable jobs of package jobs over REST:
// POST /v1/jobs submits {"kind", ...the kind's fields}, GET /v1/jobs
// lists, GET /v1/jobs/{id} shows one, DELETE /v1/jobs/{id} cancels a job
// not finished or deletes a finished one with its outputs, GET
// /v1/jobs/{id}/events streams its record as server-sent events
// (https://html.spec.whatwg.org/multipage/server-sent-events.html) and
// GET /v1/jobs/{id}/outputs/{name} downloads an output. Every replica
// connected to the same NATS serves the same jobs.
package jobsapi
