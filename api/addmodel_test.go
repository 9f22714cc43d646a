package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/synth" // registers the int8 dequantizer (test only: api itself does not import it)
	"github.com/wavenet-go/wavenet/wavenet"
)

// listedIDs returns the ids GET /v1/models lists.
func listedIDs(t *testing.T, url string) []string {
	t.Helper()
	res, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Models []struct {
			ID string `json:"id"`
		} `json:"models"`
	}
	if err := json.Unmarshal(readAll(t, res), &out); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range out.Models {
		ids = append(ids, m.ID)
	}
	return ids
}

// synthFloat32 asks model id for n samples (seed 42, digit 3, speaker
// jackson) as float32 and decodes them.
func synthFloat32(t *testing.T, url, id string, n int) []float32 {
	t.Helper()
	res := post(t, url+"/v1/synthesize", fmt.Sprintf(
		`{"model": %q, "num_samples": %d, "label": "3", "speaker": "jackson", "seed": 42, "format": "float32"}`, id, n))
	b := readAll(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/synthesize model %s = %d %s, want 200", id, res.StatusCode, b)
	}
	return float32s(b)
}

// int8Reference is reference with cache.NewInt8: what a request to a
// model served with the int8 generator must return.
func int8Reference(t *testing.T, m *wavenet.Model, o cache.StreamOptions, n int) []float32 {
	t.Helper()
	return mulaw.Decode(nil, streamCodes(t, cache.NewInt8(m, 1), o, n), m.Config.QuantizationChannels)
}

func TestAddModelServedAtOnce(t *testing.T) {
	m := tinyModel(t)
	s, ts := newTestServer(t, m, Options{})
	other := m.Clone()
	other.Post2.B[0] += 5 // a different model: code 0 gets more likely
	if err := s.AddModel("added-1", other); err != nil {
		t.Fatalf("AddModel(added-1) = %v, want nil", err)
	}
	if got, ok := s.Model("added-1"); !ok || got != other {
		t.Errorf("Model(added-1) = %p, %v; want %p, true", got, ok, other)
	}
	if got := fmt.Sprint(listedIDs(t, ts.URL)); got != "[added-1 default]" {
		t.Errorf("GET /v1/models ids = %s, want [added-1 default]", got)
	}
	// 200 samples: enough to see the models differ, short enough to be fast.
	const n = 200
	o := cache.StreamOptions{Cond: []int{3, 1}, Temperature: 1, Seed: 42}
	if got, want := synthFloat32(t, ts.URL, "added-1", n), referenceAudio(t, other, o, n); !slices.Equal(got, want) {
		t.Errorf("synthesize added-1 differs from cache.New on the added model")
	}
	if got, want := synthFloat32(t, ts.URL, "default", n), referenceAudio(t, m, o, n); !slices.Equal(got, want) {
		t.Errorf("synthesize default differs from cache.New on the startup model")
	}
}

func TestAddModelErrors(t *testing.T) {
	m := tinyModel(t)
	s, _ := newTestServer(t, m, Options{})
	bad := m.Clone()
	bad.Post2.B = bad.Post2.B[:1]
	cases := []struct {
		name, id string
		m        *wavenet.Model
		is       error // the error must wrap it (nil: any error)
	}{
		{"duplicate of a startup model", "default", m, ErrModelExists},
		{"path", "a/b", m, nil},
		{"dot dot", "..", m, nil},
		{"leading dot", ".x", m, nil},
		{"empty", "", m, nil},
		{"nil model", "nil-model", nil, nil},
		{"bad shapes", "bad", bad, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.AddModel(c.id, c.m)
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("AddModel(%q) = %v, want an error wrapping %v", c.id, err, c.is)
			}
			if c.id != "default" {
				if _, ok := s.Model(c.id); ok {
					t.Errorf("Model(%q) found after a failed AddModel", c.id)
				}
			}
		})
	}
	// A duplicate of an added model.
	if err := s.AddModel("again", m); err != nil {
		t.Fatalf("AddModel(again) = %v, want nil", err)
	}
	if err := s.AddModel("again", m); !errors.Is(err, ErrModelExists) {
		t.Errorf("AddModel(again) twice = %v, want ErrModelExists", err)
	}
	// After Shutdown nothing is added.
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.AddModel("late", m); !errors.Is(err, ErrClosed) {
		t.Errorf("AddModel after Shutdown = %v, want ErrClosed", err)
	}
}

// TestInt8CheckpointUsesInt8Generator saves the tiny model as an int8
// checkpoint (qint8 symmetric per channel) next to its fp32 one, loads the
// directory as --models does, and checks that the int8 model's audio is
// cache.NewInt8's and the fp32 model's is cache.New's.
func TestInt8CheckpointUsesInt8Generator(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(t)
	root := t.TempDir()
	if err := compress.Save(ctx, filepath.Join(root, "f32"), m, compress.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	q := compress.SaveOptions{Format: compress.Int8, DType: compress.QInt8, Scheme: compress.Symmetric, PerChannel: true}
	if err := compress.Save(ctx, filepath.Join(root, "q8"), m, q); err != nil {
		t.Fatal(err)
	}
	bundles, skipped, _, err := synth.LoadModels(ctx, root)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("synth.LoadModels = %v, skipped %v", err, skipped)
	}
	if !bundles["q8"].Int8 || bundles["f32"].Int8 {
		t.Fatalf("synth.LoadModels: int8 q8 %v, f32 %v; want true, false", bundles["q8"].Int8, bundles["f32"].Int8)
	}
	_, ts := newTestServer(t, nil, Options{Models: bundles})
	for id, want := range map[string]string{"q8": "int8", "f32": "float32"} {
		var info ModelInfo
		res, err := http.Get(ts.URL + "/v1/models/" + id)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(readAll(t, res), &info); err != nil || info.Generator != want {
			t.Errorf("GET /v1/models/%s generator = %q (%v), want %q", id, info.Generator, err, want)
		}
	}
	const n = 200 // samples: enough for a divergence to show
	o := cache.StreamOptions{Cond: []int{3, 1}, Temperature: 1, Seed: 42}
	got := synthFloat32(t, ts.URL, "q8", n)
	if want := int8Reference(t, bundles["q8"].Model, o, n); !slices.Equal(got, want) {
		t.Errorf("synthesize q8 differs from cache.NewInt8 on the loaded model")
	}
	if plain := referenceAudio(t, bundles["q8"].Model, o, n); slices.Equal(got, plain) {
		t.Errorf("synthesize q8 equals cache.New's audio: the int8 generator is not in use (or does not change this model)")
	}
	if got, want := synthFloat32(t, ts.URL, "f32", n), referenceAudio(t, bundles["f32"].Model, o, n); !slices.Equal(got, want) {
		t.Errorf("synthesize f32 differs from cache.New on the loaded model")
	}
}

// TestAddModelWithInt8 checks that WithInt8 gives an added model the int8
// generator, as a compress job's int8 model gets it.
func TestAddModelWithInt8(t *testing.T) {
	m := tinyModel(t)
	s, ts := newTestServer(t, m, Options{})
	if err := s.AddModel("q8", m, WithInt8(true)); err != nil {
		t.Fatalf("AddModel(q8, WithInt8) = %v, want nil", err)
	}
	const n = 200 // samples: enough for a divergence to show
	o := cache.StreamOptions{Cond: []int{3, 1}, Temperature: 1, Seed: 42}
	got := synthFloat32(t, ts.URL, "q8", n)
	if want := int8Reference(t, m, o, n); !slices.Equal(got, want) {
		t.Errorf("synthesize q8 differs from cache.NewInt8")
	}
	if plain := referenceAudio(t, m, o, n); slices.Equal(got, plain) {
		t.Errorf("synthesize q8 equals cache.New's audio: the int8 generator is not in use (or does not change this model)")
	}
}

// TestAddModelConcurrent adds models while requests list and use the
// table (run with -race): every add succeeds once, and the listing ends
// with all of them.
func TestAddModelConcurrent(t *testing.T) {
	m := tinyModel(t)
	s, ts := newTestServer(t, m, Options{Workers: 1, MaxStreams: 2})
	const n = 4 // models added at once
	errc := make(chan error, 2*n)
	for i := range n {
		go func() { errc <- s.AddModel(fmt.Sprintf("m%d", i), m) }()
		go func() { errc <- s.AddModel(fmt.Sprintf("m%d", i), m) }() // the same id: one of the two fails
	}
	for range 3 {
		listedIDs(t, ts.URL)
		synthFloat32(t, ts.URL, "default", 10)
	}
	failed := 0
	for range 2 * n {
		if err := <-errc; err != nil {
			if !errors.Is(err, ErrModelExists) {
				t.Errorf("concurrent AddModel = %v, want nil or ErrModelExists", err)
			}
			failed++
		}
	}
	if failed != n {
		t.Errorf("%d concurrent AddModel calls failed, want %d (one per duplicated id)", failed, n)
	}
	if got := fmt.Sprint(listedIDs(t, ts.URL)); got != "[default m0 m1 m2 m3]" {
		t.Errorf("GET /v1/models ids = %s, want [default m0 m1 m2 m3]", got)
	}
}
