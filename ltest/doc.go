// Package ltest runs listening tests: blind, randomised ratings of
// synthesized speech by human listeners, stored durably, with their
// statistics.
//
// A test is made once from models and texts (each (model, text) said
// through the synthesis engine, package synth, with the test's fixed
// seed) or from a folder of WAVs (one subfolder per system, the same file
// names across systems); the stimuli's WAV bytes are stored with the test,
// so a test does not change when the models do. Two kinds follow
// ITU-T P.800 and common practice in TTS evaluation:
//
//   - KindMOS: an absolute category rating, 1 (bad) to 5 (excellent), of
//     each stimulus (ITU-T P.800 Annex B, the mean opinion score);
//   - KindAB: a preference between two systems saying the same text: the
//     listener picks A, B or no preference. Which system is A is drawn
//     per stimulus at creation (seeded), so A is not always the same
//     system and the listener cannot tell which is which.
//
// Every listener (a random token the server issues, NewListener) sees the
// stimuli in an order of their own (Order: a permutation seeded by the
// listener's token and the test id) and may change only their own
// ratings.
//
// Results (Store.Results) give the MOS per system with a 95% confidence
// interval from Student's t-distribution (MeanCI) and, for A/B tests, the
// preference counts with a two-sided exact binomial test (BinomialTest),
// ties (no preference) excluded. They are written as JSON or CSV
// (Results.WriteCSV).
//
// Storage is NATS JetStream, the service's one durable store: a
// key-value bucket (RecordsBucket) of tests, listeners and ratings and an
// object store (AudioBucket) of the stimuli's WAVs, so replicas on one
// NATS share them. Open binds to them on a caller's connection.
package ltest
