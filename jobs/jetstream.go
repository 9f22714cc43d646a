package jobs

import "github.com/nats-io/nats.go/jetstream"

// JetStream returns the store's JetStream context, for the other records
// the service keeps in the same NATS (listening tests).
func (s *Store) JetStream() jetstream.JetStream { return s.js }
