package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

// storeSource is a synth.SourceDeleter of at most one model.
type storeSource struct {
	id *string // "" once deleted
	m  *wavenet.Model
}

func (s storeSource) IDs(context.Context) ([]string, error) {
	if *s.id == "" {
		return nil, nil
	}
	return []string{*s.id}, nil
}

func (s storeSource) Delete(_ context.Context, id string) error {
	if id != *s.id || id == "" {
		return fmt.Errorf("store: %q: %w", id, synth.ErrUnknownModel)
	}
	*s.id = ""
	return nil
}

func (s storeSource) Load(_ context.Context, id string) (*synth.Bundle, error) {
	if id != *s.id || id == "" {
		return nil, fmt.Errorf("store: %q: %w", id, synth.ErrUnknownModel)
	}
	return &synth.Bundle{Model: s.m}, nil
}

// TestModelSource: GET /v1/models lists a model of the shared store as
// stored (not loaded); GET /v1/models/{id} loads and describes it, after
// which the list describes it in full; synthesis with it works; an id
// in neither place is a 404.
func TestModelSource(t *testing.T) {
	m := tinyModel(t)
	held := "made-by-job"
	_, ts := newTestServer(t, m, Options{ModelSource: storeSource{&held, tinyModel(t)}})
	list := func() map[string]ModelInfo {
		res, err := http.Get(ts.URL + "/v1/models")
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Models []ModelInfo }
		if err := json.Unmarshal(readAll(t, res), &out); err != nil {
			t.Fatal(err)
		}
		by := map[string]ModelInfo{}
		for _, mi := range out.Models {
			by[mi.ID] = mi
		}
		return by
	}
	if mi, ok := list()["made-by-job"]; !ok || !mi.Stored || mi.SampleRate != 0 {
		t.Fatalf("before loading: %+v (listed %v), want a stored entry with only its id", mi, ok)
	}
	res, err := http.Get(ts.URL + "/v1/models/made-by-job")
	if err != nil {
		t.Fatal(err)
	}
	var mi ModelInfo
	if err := json.Unmarshal(readAll(t, res), &mi); err != nil || res.StatusCode != http.StatusOK || mi.Stored || mi.SampleRate == 0 {
		t.Fatalf("GET /v1/models/made-by-job: %d %+v %v, want 200 with its description", res.StatusCode, mi, err)
	}
	if mi := list()["made-by-job"]; mi.Stored || mi.Parameters == 0 {
		t.Errorf("after loading: %+v, want the full description", mi)
	}
	res = post(t, ts.URL+"/v1/synthesize", `{"model": "made-by-job", "num_samples": 200}`)
	if b := readAll(t, res); res.StatusCode != http.StatusOK {
		t.Errorf("synthesize with the stored model: %d %s", res.StatusCode, b)
	}
	res, err = http.Get(ts.URL + "/v1/models/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	if readAll(t, res); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/models/nowhere: %d, want 404", res.StatusCode)
	}
	// DELETE deletes it from the store (for every replica); the models
	// the server started with stay.
	del := func(id string) int {
		req, _ := http.NewRequest(http.MethodDelete, ts.URL+"/v1/models/"+id, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, res)
		return res.StatusCode
	}
	if code := del("made-by-job"); code != http.StatusNoContent || held != "" {
		t.Errorf("DELETE /v1/models/made-by-job: %d, store holds %q; want 204 and deleted", code, held)
	}
	if _, ok := list()["made-by-job"]; ok {
		t.Error("a deleted model is still listed")
	}
	if code := del("made-by-job"); code != http.StatusNotFound {
		t.Errorf("DELETE of a deleted model: %d, want 404", code)
	}
	if code := del("default"); code != http.StatusConflict {
		t.Errorf("DELETE /v1/models/default: %d, want 409", code)
	}
}
