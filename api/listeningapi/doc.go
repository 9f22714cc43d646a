// Package listeningapi serves package ltest's listening tests over the
// REST API (/v1/listening-tests/...): an owner makes a test from served
// models and texts (said through the server's synthesis engine, set with
// SetSynthesizer) or from a folder of WAVs under the server's WAV root,
// lists, deletes and reads its results (MOS with 95% confidence
// intervals, A/B preference with an exact binomial test; JSON or CSV);
// a listener gets the test blind (no model names) in an order of their
// own, fetches each stimulus's audio and rates it.
//
// A listener is a random token the server issues on GET
// /v1/listening-tests/{id} when the request carries none (response
// header X-Listener and an HttpOnly cookie wavenet_listener); ratings
// need it back (header or cookie), and a token rates only for itself.
// The owner routes have no separate access control beyond the server's
// API keys.
package listeningapi
