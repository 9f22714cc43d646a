package wavenet

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenModel is a small model whose weights are multiples of 1/128
// between -100/128 and 100/128, from a formula (no RNG, no libm), so the
// same bits come out on every machine: filter width 3, two layers, biases
// and one condition, which exercises every tensor kind of the format.
func goldenModel(t *testing.T) *Model {
	t.Helper()
	m, err := NewZero(Config{FilterWidth: 3, SampleRate: 8000, Dilations: []int{1, 2},
		ResidualChannels: 2, DilationChannels: 3, SkipChannels: 4, QuantizationChannels: 5, UseBiases: true,
		Conditions: []Condition{{Name: "speaker", Values: []string{"a", "b"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for pi, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32((pi*131+i*71)%201-100) / 128
		}
	}
	return m
}

// goldenCodes are 12 codes over 0..4. The golden model's receptive field
// is (3-1)*(1+2) + 1 + (3-1) = 9, so rows 0..7 see padding and rows 8..11
// do not.
var goldenCodes = []int32{0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 2, 4}

// TestGoldenCheckpoint pins the checkpoint format: Save must produce the
// shipped bytes (config.json and model.safetensors reviewed in the diff
// when -update rewrites them), the shipped files must load, and Forward on
// them must give the shipped logits. A change to any of these is a format
// or numerics change that needs a deliberate -update.
func TestGoldenCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join("testdata", "golden")
	m := goldenModel(t)
	files, err := (&Checkpoint{Model: m}).encode()
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.Forward(ctx, nil, goldenCodes, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := json.MarshalIndent(logits, "", " ")
		if err := os.WriteFile(filepath.Join(dir, "logits.json"), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range files {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%v (run go test -update to create the golden files)", err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("Save(golden model) %s differs from testdata/golden/%s (%d bytes, want %d)", name, name, len(b), len(want))
		}
	}
	loaded, err := Load(ctx, dir)
	if err != nil {
		t.Fatalf("Load(testdata/golden): %v", err)
	}
	sameWeights(t, loaded, m)
	b, err := os.ReadFile(filepath.Join(dir, "logits.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want []float32
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	got, err := loaded.Forward(ctx, nil, goldenCodes, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Forward(golden) gave %d logits, want %d", len(got), len(want))
	}
	// The shipped logits themselves agree with the naive reference.
	naive := naiveForward(m, goldenCodes, []int{1})
	for i := range want {
		if w := naive[i/5][i%5]; math.Abs(float64(want[i])-w) > 1e-5 {
			t.Fatalf("testdata/golden/logits.json [%d] = %v, naive reference %v", i, want[i], w)
		}
	}
	// 1e-5: float32 with a different summation order (SIMD kernels) moves
	// the last bits only.
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("Forward(golden) [%d] = %v, want %v (testdata/golden/logits.json)", i, got[i], want[i])
		}
	}
}
