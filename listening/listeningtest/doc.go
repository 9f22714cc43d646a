// Package listeningtest writes the FSDD-like corpus that the tests of
// package listening and of the samples, say and score commands train the
// classifier on; only tests import it.
package listeningtest
