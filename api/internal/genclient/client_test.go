package genclient

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/internal/featuretest"
	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// newServer serves a tiny random model as "default" on loopback and
// returns a generated client of it and the server's base URL.
func newServer(t *testing.T) (*ClientWithResponses, string) {
	t.Helper()
	base := featuretest.Serve(t, api.Options{Models: map[string]*synth.Bundle{"default": {Model: wavenettest.Tiny(t, 1, nil)}}})
	c, err := NewClientWithResponses(base)
	if err != nil {
		t.Fatal(err)
	}
	return c, base
}

func ptr[T any](v T) *T { return &v }

// TestGeneratedClientSynthesizes: the client generated from the document
// lists the model and synthesizes a WAV of the asked length, byte for byte
// the WAV a hand-written POST of the same JSON (same seed) gets; a bad
// request comes back as the document's Error.
func TestGeneratedClientSynthesizes(t *testing.T) {
	c, base := newServer(t)
	ctx := t.Context()

	models, err := c.ListModelsWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if models.JSON200 == nil || models.JSON200.Models == nil || len(*models.JSON200.Models) != 1 || *(*models.JSON200.Models)[0].Id != "default" {
		t.Fatalf("ListModels = %d %s, want 200 with the one model \"default\"", models.StatusCode(), models.Body)
	}

	const n = 400 // samples: a few receptive fields of the tiny model, quick to generate
	req := SynthesizeRequest{NumSamples: ptr(n), Seed: ptr(7), Format: ptr(SynthesizeRequestFormat(audio.EncodingWAV))}
	res, err := c.SynthesizeWithResponse(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusOK {
		t.Fatalf("Synthesize(%d samples) = %d %s, want 200", n, res.StatusCode(), res.Body)
	}
	if got := res.HTTPResponse.Header.Get("X-Num-Samples"); got != strconv.Itoa(n) {
		t.Errorf("Synthesize: X-Num-Samples = %q, want %d", got, n)
	}
	clip, err := audio.Decode(bytes.NewReader(res.Body))
	if err != nil {
		t.Fatalf("Synthesize: body is not a WAV: %v", err)
	}
	if clip.Frames() != n {
		t.Errorf("Synthesize: WAV of %d samples, want %d", clip.Frames(), n)
	}

	body, _ := json.Marshal(map[string]any{"num_samples": n, "seed": 7, "format": "wav"})
	plain, err := http.Post(base+"/v1/synthesize", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	_, err = want.ReadFrom(plain.Body)
	plain.Body.Close()
	if err != nil || !bytes.Equal(res.Body, want.Bytes()) {
		t.Errorf("Synthesize through the generated client: %d bytes differ from a plain POST's %d bytes (err %v)", len(res.Body), want.Len(), err)
	}

	bad, err := c.SynthesizeWithResponse(ctx, SynthesizeRequest{NumSamples: ptr(n), TopK: ptr(-1)})
	if err != nil {
		t.Fatal(err)
	}
	if bad.JSON400 == nil || bad.JSON400.Error.Code == "" || bad.JSON400.Error.Message == "" {
		t.Errorf("Synthesize(top_k -1) = %d %s, want 400 with the Error shape", bad.StatusCode(), bad.Body)
	}
}
