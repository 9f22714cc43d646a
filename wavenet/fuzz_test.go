package wavenet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzLoadConfigJSON: any bytes give a valid Config or an error, never a
// panic.
func FuzzLoadConfigJSON(f *testing.F) {
	for _, name := range []string{"ibab_wavenet_params.json", "ibab_wavenet_params_2016.json", "golden/config.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := LoadConfigJSON(bytes.NewReader(b))
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("LoadConfigJSON accepted an invalid config: %v", verr)
			}
		}
	})
}

// FuzzLoadWeights: any model.safetensors next to the golden config loads
// or fails with a *CheckpointError; a model that loads runs Forward and
// its header gives StoredDType. Run it
// with -fuzzminimizetime 2s: minimizing each new 2.4 KB input for the
// default 60 s looks like a stalled fuzzer.
func FuzzLoadWeights(f *testing.F) {
	cfg, err := os.ReadFile(filepath.Join("testdata", "golden", "config.json"))
	if err != nil {
		f.Fatal(err)
	}
	w, err := os.ReadFile(filepath.Join("testdata", "golden", "model.safetensors"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w)
	f.Add(w[:len(w)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		fsys := fstest.MapFS{ConfigFile: {Data: cfg}, WeightsFile: {Data: b}}
		m, err := LoadFS(fsys, ".")
		if _, derr := StoredDType(fsys, "."); err == nil && derr != nil {
			t.Fatalf("LoadFS loads the weights, StoredDType fails on their header: %v", derr)
		}
		if err != nil {
			if _, ok := err.(*CheckpointError); !ok {
				t.Fatalf("LoadFS error %v (%T), want *CheckpointError", err, err)
			}
			return
		}
		if _, err := m.Forward(context.Background(), nil, goldenCodes, []int{0}); err != nil {
			t.Fatalf("Forward on a loaded model: %v", err)
		}
	})
}
