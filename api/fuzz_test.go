package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wavenet-go/wavenet/synth"
)

// FuzzSynthesizeRequest feeds arbitrary bodies to the request decoder and
// planner: they must never panic, and every accepted plan must respect the
// server's limits. Seed corpus: testdata/fuzz/FuzzSynthesizeRequest.
func FuzzSynthesizeRequest(f *testing.F) {
	f.Add([]byte(`{"seconds": 1, "label": "3", "format": "mulaw", "sample_rate": 16000}`))
	f.Add([]byte(`{"text": "one 2 three", "label_seconds": 0.2, "pause_seconds": 0.1, "temperature": 0}`))
	m := tinyModel(f)
	s, err := New(Options{Models: map[string]*synth.Bundle{"default": {Model: m}}, MaxSeconds: 2, Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Shutdown(f.Context())
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/synthesize", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		c := s.echo.NewContext(req, httptest.NewRecorder())
		var r SynthesizeRequest
		if err := decodeJSON(c, &r); err != nil {
			if toError(err).Status >= 500 {
				t.Fatalf("decode %q: %v maps to %d, want a 4xx", body, err, toError(err).Status)
			}
			return
		}
		syn, err := s.engine.Start(t.Context(), r.request())
		if err != nil {
			if st := toError(err).Status; st >= 500 {
				t.Fatalf("plan %q: %v maps to %d, want a 4xx", body, err, st)
			}
			return
		}
		syn.Close()
		// 2 s (MaxSeconds) at 8 kHz, or at the fastest output rate.
		maxOut := 2 * 192000
		if syn.Samples == 0 || syn.Samples > maxOut || syn.Rate <= 0 {
			t.Fatalf("plan of %q: %d output samples at %d Hz; want 1 to %d (or -1 for a text)", body, syn.Samples, syn.Rate, maxOut)
		}
	})
}
