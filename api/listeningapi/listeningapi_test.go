package listeningapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/internal/featuretest"
	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/ltest"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// serve serves two tiny random models (m1, m2; FSDD-like conditions)
// and the listening routes over a store in dir, with WAV root wavs. stop
// closes the server and the store (as the test's end does).
func serve(t *testing.T, dir, wavs string) (base string, stop func()) {
	t.Helper()
	js, err := jobs.Open(t.Context(), jobs.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ltest.Open(t.Context(), js.JetStream(), 1)
	if err != nil {
		js.Close()
		t.Fatal(err)
	}
	svc := New(Options{Store: st, WAVRoot: wavs})
	srv, err := api.New(api.Options{
		Models: map[string]*synth.Bundle{
			"m1": {Model: wavenettest.Tiny(t, 1, wavenettest.FSDD())},
			"m2": {Model: wavenettest.Tiny(t, 2, wavenettest.FSDD())},
		},
		Features: []api.Feature{svc.Feature()},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CheckOpenAPI(); err != nil {
		t.Fatal(err)
	}
	svc.SetSynthesizer(ltest.Engine{E: srv.Engine()})
	ts := httptest.NewServer(srv.Handler())
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ts.Close()
			_ = srv.Shutdown(context.Background())
			if err := st.Close(); err != nil {
				t.Error(err)
			}
			js.Close()
		})
	}
	t.Cleanup(stop)
	return ts.URL, stop
}

// call sends body (JSON, if any) with the listener token (if any) and
// returns the status, the answer's body and its headers.
func call(t *testing.T, method, url, listener, body string) (int, []byte, http.Header) {
	t.Helper()
	h := http.Header{}
	if listener != "" {
		h.Set(ListenerHeader, listener)
	}
	return featuretest.DoRaw(t, method, url, body, h)
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return v
}

func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	base, _ := serve(t, dir, "")
	code, b, _ := call(t, "POST", base+"/v1/listening-tests", "", `{"name":"tiny","kind":"mos","models":["m1","m2"],"texts":["4","2"],"seed":7}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/listening-tests = %d %s, want 201", code, b)
	}
	test := decode[ltest.Test](t, b)
	if len(test.Stimuli) != 4 {
		t.Fatalf("test has %d stimuli, want 2 models x 2 texts", len(test.Stimuli))
	}

	// Two listeners: each is issued a token and sees the four stimuli,
	// without model names.
	var views [2]ListenerView
	for i := range views {
		code, b, h := call(t, "GET", base+"/v1/listening-tests/"+test.ID, "", "")
		if code != http.StatusOK || h.Get(ListenerHeader) == "" || !strings.Contains(h.Get("Set-Cookie"), ListenerCookie+"=") {
			t.Fatalf("GET test = %d %s, headers %v: want 200 with a listener token", code, b, h)
		}
		if bytes.Contains(b, []byte(`"m1"`)) || bytes.Contains(b, []byte("model")) {
			t.Errorf("the listener's view names the models: %s", b)
		}
		views[i] = decode[ListenerView](t, b)
		if len(views[i].Stimuli) != 4 {
			t.Fatalf("listener %d sees %d stimuli, want 4", i, len(views[i].Stimuli))
		}
	}
	alice, bob := views[0].Listener, views[1].Listener
	// The same listener gets the same order again.
	_, b, _ = call(t, "GET", base+"/v1/listening-tests/"+test.ID, alice, "")
	if again := decode[ListenerView](t, b); again.Listener != alice || again.Stimuli[0].ID != views[0].Stimuli[0].ID {
		t.Errorf("alice's second view: listener %s first %s, want %s first %s", again.Listener, again.Stimuli[0].ID, alice, views[0].Stimuli[0].ID)
	}

	// Audio: a WAV of the model's rate (tiny preset: 8 kHz).
	for _, it := range views[0].Stimuli {
		code, b, h := call(t, "GET", base+it.Audio, alice, "")
		if code != http.StatusOK || h.Get("Content-Type") != "audio/wav" {
			t.Fatalf("GET %s = %d %s", it.Audio, code, h.Get("Content-Type"))
		}
		clip, err := audio.DecodeAny(bytes.NewReader(b))
		if err != nil || clip.Format.SampleRate != 8000 || len(clip.Samples) == 0 {
			t.Fatalf("GET %s: not a non-empty 8 kHz WAV (%v)", it.Audio, err)
		}
	}

	// Alice rates m1's stimuli 4 and m2's 2; Bob rates everything 3.
	score := map[string]string{"m1": `{"score":4}`, "m2": `{"score":2}`}
	for _, s := range test.Stimuli {
		for _, r := range []struct{ who, body string }{{alice, score[s.Model]}, {bob, `{"score":3}`}} {
			code, b, _ := call(t, "PUT", base+"/v1/listening-tests/"+test.ID+"/ratings/"+s.ID, r.who, r.body)
			if code != http.StatusOK {
				t.Fatalf("PUT rating = %d %s", code, b)
			}
		}
	}
	rejected := []struct {
		name, path, who, body string
		want                  int
	}{
		{"forged listener", "/ratings/s1", "0123456789abcdef0123456789abcdef", `{"score":1}`, http.StatusForbidden},
		{"no listener", "/ratings/s1", "", `{"score":1}`, http.StatusForbidden},
		{"unknown stimulus", "/ratings/s99", alice, `{"score":1}`, http.StatusNotFound},
		{"bad score", "/ratings/s1", alice, `{"score":9}`, http.StatusBadRequest},
		{"unknown field", "/ratings/s1", alice, `{"stars":1}`, http.StatusBadRequest},
	}
	for _, r := range rejected {
		code, b, _ := call(t, "PUT", base+"/v1/listening-tests/"+test.ID+r.path, r.who, r.body)
		if code != r.want || featuretest.ErrorMessage(decode[map[string]any](t, b)) == "" {
			t.Errorf("%s: PUT %s = %d %s, want %d with api's error shape", r.name, r.path, code, b, r.want)
		}
	}
	if code, b, _ := call(t, "PUT", base+"/v1/listening-tests/nope/ratings/s1", alice, `{"score":1}`); code != http.StatusNotFound {
		t.Errorf("PUT rating of an unknown test = %d %s, want 404", code, b)
	}

	// MOS: m1 has 4, 4 (alice) and 3, 3 (bob): mean 3.5, s = sqrt(1/3),
	// half = t(0.975, 3) * s / 2 with t(0.975, 3) = 3.182446 (table).
	code, b, _ = call(t, "GET", base+"/v1/listening-tests/"+test.ID+"/results", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET results = %d %s", code, b)
	}
	res := decode[ltest.Results](t, b)
	if res.Listeners != 2 || len(res.Ratings) != 8 || len(res.MOS) != 2 {
		t.Fatalf("results: %d listeners, %d ratings, %d models; want 2, 8, 2", res.Listeners, len(res.Ratings), len(res.MOS))
	}
	const tol = 1e-5 // the t quantile's table rounding
	half := 3.182446 * 0.5773502691896258 / 2
	if m := res.MOS[0]; m.Model != "m1" || *m.Mean != 3.5 || *m.High-3.5-half > tol || 3.5-*m.Low-half > tol || *m.Low+half-3.5 > tol {
		t.Errorf("m1's MOS %v [%v, %v], want 3.5 +- %v", *m.Mean, *m.Low, *m.High, half)
	}
	if m := res.MOS[1]; m.Model != "m2" || *m.Mean != 2.5 {
		t.Errorf("m2's MOS %v, want 2.5", *m.Mean)
	}
	code, b, h := call(t, "GET", base+"/v1/listening-tests/"+test.ID+"/results?format=csv", "", "")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.HasPrefix(string(b), "model,n,mean,ci95_low,ci95_high\nm1,4,3.500000,") {
		t.Errorf("GET results?format=csv = %d %s %q", code, h.Get("Content-Type"), b)
	}

	code, b, _ = call(t, "GET", base+"/v1/listening-tests/"+test.ID+"/results?format=csv&table=ratings", "", "")
	if lines := strings.Count(string(b), "\n"); code != http.StatusOK || lines != 9 || strings.Contains(string(b), alice) {
		t.Errorf("GET results?format=csv&table=ratings = %d, %d lines (want 200, header + 8), listener tokens hidden:\n%s", code, lines, b)
	}
	for _, q := range []string{"?format=xml", "?format=csv&table=x"} {
		if code, _, _ := call(t, "GET", base+"/v1/listening-tests/"+test.ID+"/results"+q, "", ""); code != http.StatusBadRequest {
			t.Errorf("GET results%s = %d, want 400", q, code)
		}
	}
	code, b, _ = call(t, "GET", base+"/v1/listening-tests", "", "")
	if list := decode[map[string][]Summary](t, b); code != http.StatusOK || len(list["tests"]) != 1 || list["tests"][0].Stimuli != 4 {
		t.Errorf("GET /v1/listening-tests = %d %s", code, b)
	}
	if code, b, _ := call(t, "DELETE", base+"/v1/listening-tests/"+test.ID, "", ""); code != http.StatusNoContent {
		t.Errorf("DELETE = %d %s, want 204", code, b)
	}
	if code, _, _ := call(t, "GET", base+"/v1/listening-tests/"+test.ID+"/results", "", ""); code != http.StatusNotFound {
		t.Errorf("GET results after DELETE = %d, want 404", code)
	}
}

func TestABFromFolderAndRestart(t *testing.T) {
	dir := t.TempDir()
	wavs := filepath.Join(dir, "wavs")
	for _, sys := range []string{"base", "new"} {
		if err := os.MkdirAll(filepath.Join(wavs, "run", sys), 0o755); err != nil {
			t.Fatal(err)
		}
		for i, item := range []string{"one", "two"} {
			w, err := synth.Encode(audio.EncodingWAV, 8000, make([]float32, 80*(i+1)))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(wavs, "run", sys, item+".wav"), w, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	base, stop := serve(t, dir, wavs)
	code, b, _ := call(t, "POST", base+"/v1/listening-tests", "", `{"kind":"ab","dir":"run"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST from a folder = %d %s", code, b)
	}
	test := decode[ltest.Test](t, b)
	_, b, _ = call(t, "GET", base+"/v1/listening-tests/"+test.ID, "", "")
	view := decode[ListenerView](t, b)
	for _, it := range view.Stimuli {
		for _, u := range []string{it.Audio, it.AudioB} {
			if code, _, _ := call(t, "GET", base+u, "", ""); code != http.StatusOK {
				t.Errorf("GET %s = %d", u, code)
			}
		}
		if code, b, _ := call(t, "PUT", base+"/v1/listening-tests/"+test.ID+"/ratings/"+it.ID, view.Listener, `{"choice":"a"}`); code != http.StatusOK {
			t.Fatalf("PUT choice = %d %s", code, b)
		}
	}
	for _, bad := range []string{`{"kind":"ab","dir":"../.."}`, `{"kind":"ab","dir":"none"}`, `{"kind":"mushra","models":["m1"],"texts":["1"]}`, `{"kind":"mos","models":["nope"],"texts":["1"]}`} {
		if code, b, _ := call(t, "POST", base+"/v1/listening-tests", "", bad); code/100 != 4 {
			t.Errorf("POST %s = %d %s, want 4xx", bad, code, b)
		}
	}
	_, before, _ := call(t, "GET", base+"/v1/listening-tests/"+test.ID+"/results", "", "")
	res := decode[ltest.Results](t, before)
	if res.AB == nil || res.AB.Wins[0]+res.AB.Wins[1] != 2 || res.AB.Ties != 0 {
		t.Fatalf("A/B results %s: want 2 preferences, no ties", before)
	}

	// A restart: a new server over the same data directory answers the
	// same results and knows the listener.
	stop()
	base2, _ := serve(t, dir, wavs)
	_, after, _ := call(t, "GET", base2+"/v1/listening-tests/"+test.ID+"/results", "", "")
	if !bytes.Equal(before, after) {
		t.Errorf("results after a restart:\n%s\nwant\n%s", after, before)
	}
	if code, b, _ := call(t, "PUT", base2+"/v1/listening-tests/"+test.ID+"/ratings/s1", view.Listener, `{"choice":"none"}`); code != http.StatusOK {
		t.Errorf("PUT by the same listener after a restart = %d %s, want 200", code, b)
	}
}
