// Package jobs runs wavenet's long jobs (training, compression,
// reinforcement learning, batch synthesis) durably on NATS JetStream, as
// the design's "One durable store" decision says: a job is a message on
// a work-queue stream (one subject per kind), its record (state,
// progress, attempts, outputs) a value in a key-value bucket, and its
// outputs (models, checkpoints, WAVs, PNGs) objects in an object store,
// so every process connected to the same NATS sees the same jobs.
//
// Open starts an embedded nats-server (JetStream file storage under
// Options.DataDir, loopback only) or connects to Options.URL. A Store
// submits, lists, cancels and deletes jobs; Store.Work pulls them with a
// bounded concurrency and runs the Handler of their kind. A job is
// acknowledged only after its outputs are stored and its record says
// succeeded, so a worker killed mid-job leaves the message to be
// redelivered (after Options.AckWait) and finished by another worker,
// and a redelivered job already finished is acknowledged without running
// again. The package knows no job kind: those live in jobs/kinds.
//
// References: JetStream work-queue streams, key-value and object stores
// (https://docs.nats.io/nats-concepts/jetstream).
package jobs
