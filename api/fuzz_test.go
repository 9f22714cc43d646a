package api

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// FuzzSynthesizeRequest feeds arbitrary bodies to the request decoder and
// planner: they must never panic, and every accepted plan must respect the
// server's limits. Seed corpus: testdata/fuzz/FuzzSynthesizeRequest.
func FuzzSynthesizeRequest(f *testing.F) {
	f.Add([]byte(`{"seconds": 1, "label": "3", "format": "mulaw", "sample_rate": 16000}`))
	f.Add([]byte(`{"text": "one 2 three", "label_seconds": 0.2, "pause_seconds": 0.1, "temperature": 0}`))
	m := tinyModel(f)
	s, err := New(Options{Models: map[string]*wavenet.Model{"default": m}, MaxSeconds: 2, Logger: quietLogger()})
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
		p, err := s.planSynthesis(&r)
		if err != nil {
			if st := toError(err).Status; st >= 500 {
				t.Fatalf("plan %q: %v maps to %d, want a 4xx", body, err, st)
			}
			return
		}
		maxN := int(math.Floor(2 * 8000))
		if p.samples <= 0 || p.samples > maxN || p.outCount <= 0 || len(p.segs) == 0 {
			t.Fatalf("plan of %q: %d samples (%d out) in %d segments; want 1 to %d", body, p.samples, p.outCount, len(p.segs), maxN)
		}
		for _, seg := range p.segs {
			if seg.n <= 0 || seg.pauseAfter < 0 || len(seg.opts.Cond) != 2 {
				t.Fatalf("plan of %q: bad segment %+v", body, seg)
			}
		}
	})
}
