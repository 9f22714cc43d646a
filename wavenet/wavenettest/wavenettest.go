// Package wavenettest builds small random models for the tests of the
// packages above wavenet (synth, api, the commands); only tests import it.
package wavenettest

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// FSDD are the conditions of FSDD-like test models: digit (0-9), then
// speaker (george, jackson).
func FSDD() []wavenet.Condition {
	return []wavenet.Condition{
		{Name: "digit", Values: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{Name: "speaker", Values: []string{"george", "jackson"}},
	}
}

// Tiny returns an untrained model of the "tiny" preset (8 kHz, 5 layers,
// receptive field 33) with conditions conds, its weights drawn from a
// generator seeded (seed, seed+1), so that a seed gives the same model.
func Tiny(t testing.TB, seed uint64, conds []wavenet.Condition) *wavenet.Model {
	t.Helper()
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Conditions = conds
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(seed, seed+1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// SaveModels saves m as a checkpoint directory once per id (id/config.json
// and id/model.safetensors) under a new temporary directory, a models
// directory, and returns it.
func SaveModels(t testing.TB, m *wavenet.Model, ids ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, id := range ids {
		if err := wavenet.Save(context.Background(), filepath.Join(root, id), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
