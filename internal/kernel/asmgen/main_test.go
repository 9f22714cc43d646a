package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestFilesUpToDate checks that every committed .s file of package kernel
// is exactly what its generator writes, so a hand edit or a generator
// change without go generate fails here.
func TestFilesUpToDate(t *testing.T) {
	for _, f := range files {
		path := filepath.Join("..", fileName(f.name))
		have, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := generate(f.gen); !bytes.Equal(have, want) {
			t.Errorf("%s differs from the output of asmgen (%d bytes, want %d): run go generate ./internal/kernel", path, len(have), len(want))
		}
	}
}
