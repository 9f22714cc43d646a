// Package wavenettest builds small random models for the tests of the
// packages above wavenet (synth, api, the commands); only tests import it.
package wavenettest

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
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

// Vocoder returns an untrained 8 kHz vocoder (local conditioning on 8
// mels, hop 16 = 4 x 4, n_fft 64; four layers of 8 channels) whose weights
// are drawn uniformly from [-0.5, 0.5) by a generator seeded (seed, 2), so
// that its output is far from silence and a seed gives the same model.
func Vocoder(t testing.TB, seed uint64) *wavenet.Model {
	t.Helper()
	mp := audio.DefaultMelParams(8000)
	mp.NFFT, mp.WinLength, mp.HopLength, mp.NMels = 64, 64, 16, 8
	cfg := wavenet.Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1, 2, 4, 8},
		ResidualChannels: 8, DilationChannels: 8, SkipChannels: 16, QuantizationChannels: 256, UseBiases: true,
		Local: &wavenet.LocalConfig{Channels: 8, Hop: 16, Scales: []int{4, 4}, Width: 2, Mel: &mp}}
	m, err := wavenet.NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32(rng.Float64() - 0.5)
		}
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
