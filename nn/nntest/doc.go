// Package nntest holds test helpers for code built on package nn: they
// take a testing.TB, so only tests import this package and "testing"
// stays out of binaries that import nn.
//
// The gradient check follows the usual recipe (CS231n, "Gradient
// checks"): symbolic gradients against central finite differences.
package nntest
