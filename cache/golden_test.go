package cache

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenCodes generates 2000 codes from a fixed random model (seeded
// generator, so the same weights everywhere) with a fixed stream seed and
// compares them with testdata/golden_codes.txt, written by -update. It
// checks that output is reproducible across machines and kernel paths:
// the step's products and activations are bit-identical on AVX-512, AVX2
// and purego, and so are the drawn codes, so any mismatch here means a
// real change in the numerics or the sampler, to be reviewed (and the file
// updated) deliberately. Run it with -tags purego as well. The local
// case does the same for a model with local conditioning, its 2000/6+1
// frames of mels drawn from a fixed seed and pushed one at a time
// (testdata/golden_codes_local.txt).
func TestGoldenCodes(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		testGoldenCodes(t, randomModel(t, testConfig(2), 77), "golden_codes.txt")
	})
	t.Run("local", func(t *testing.T) {
		testGoldenCodes(t, randomLocalModel(t, testLocalConfig(2), 77), "golden_codes_local.txt")
	})
}

func testGoldenCodes(t *testing.T, m *wavenet.Model, file string) {
	g := New(m, 2)
	s, err := g.Join(StreamOptions{Cond: []int{1, 2}, Temperature: 0.9, TopK: 20, Seed: 2024})
	if err != nil {
		t.Fatal(err)
	}
	mels := randomMels(rand.New(rand.NewPCG(77, 77)), 2000/localHop+1)
	var b strings.Builder
	dst := make([]int32, 2)
	for i := 0; i < 2000; i++ {
		if m.Config.Local != nil && g.Buffered(s) == 0 {
			f := i / localHop
			if err := g.PushLocal(s, mels[f*localChannels:(f+1)*localChannels]); err != nil {
				t.Fatal(err)
			}
		}
		dst = g.Step(dst)
		fmt.Fprintf(&b, "%d", dst[s])
		if i%25 == 24 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	name := filepath.Join("testdata", file)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("generated codes differ from %s from line %d:\ngot  %s\nwant %s", name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("generated codes differ from %s in length", name)
	}
}
