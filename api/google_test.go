package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// googleCase is one request/response pair of testdata/google_golden.json.
type googleCase struct {
	Name     string          `json:"name"`
	Request  json.RawMessage `json:"request"`
	Status   int             `json:"status"`
	Response any             `json:"response"`
}

// summarizeAudio replaces a response's audioContent (whose samples
// depend on the generator's floating point, checked against
// /v1/synthesize in TestGoogleMatchesSynthesize) by what it is.
func summarizeAudio(t *testing.T, enc string, content []byte) string {
	t.Helper()
	switch enc {
	case "LINEAR16", "FLAC", "MULAW", "ALAW":
		clip, err := audio.DecodeAny(bytes.NewReader(content))
		if err != nil {
			t.Fatalf("%s audioContent: %v", enc, err)
		}
		f := clip.Format
		return fmt.Sprintf("%s file: %d Hz, %d channel, %d-bit, samples: %v", audio.Detect(content), f.SampleRate, f.Channels, f.BitDepth, len(clip.Samples) > 0)
	}
	return fmt.Sprintf("raw %s bytes: %v", enc, len(content) > 0)
}

// TestGoogleGolden posts the requests of testdata/google_golden.json
// (seed 9 in X-Seed) and compares status and body with the file's;
// refresh with go test ./api -run GoogleGolden -update.
func TestGoogleGolden(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{})
	path := filepath.Join("testdata", "google_golden.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []googleCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for i, c := range cases {
		res := postWith(t, ts.URL+"/v1/text:synthesize", string(c.Request), map[string]string{"X-Seed": "9"})
		body := readAll(t, res)
		var got any
		if res.StatusCode == http.StatusOK {
			var r GoogleSynthesizeResponse
			var req GoogleSynthesizeRequest
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("%s: %s: %v", c.Name, body, err)
			}
			if err := json.Unmarshal(c.Request, &req); err != nil {
				t.Fatal(err)
			}
			got = map[string]any{"audioContent": summarizeAudio(t, req.AudioConfig.AudioEncoding, r.AudioContent)}
		} else if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: %s: %v", c.Name, body, err)
		}
		if *update {
			cases[i].Status, cases[i].Response = res.StatusCode, got
			continue
		}
		if res.StatusCode != c.Status || !reflect.DeepEqual(got, c.Response) {
			t.Errorf("%s: POST /v1/text:synthesize %s\n = %d %v\nwant %d %v (run with -update if the change is intended)", c.Name, c.Request, res.StatusCode, got, c.Status, c.Response)
		}
	}
	if *update {
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false) // SSML stays readable
		enc.SetIndent("", "  ")
		if err := enc.Encode(cases); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGoogleMatchesSynthesize: LINEAR16 audioContent is /v1/synthesize's
// audio of the same text, speaker and seed, and speakingRate stretches it
// (audio.TimeStretch: round(n/rate) samples).
func TestGoogleMatchesSynthesize(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{})
	ref := referenceSpeech(t, ts.URL, 0)
	for _, rate := range []float64{0, 0.5, 2} {
		res := postWith(t, ts.URL+"/v1/text:synthesize", fmt.Sprintf(`{"input": {"ssml": "<speak>4<break time=\"150ms\"/>2</speak>"}, "voice": {"languageCode": "en-US", "name": "en-US-default-jackson"},
			"audioConfig": {"audioEncoding": "LINEAR16", "speakingRate": %v}}`, rate), map[string]string{"X-Seed": "9"})
		body := readAll(t, res)
		var r GoogleSynthesizeResponse
		if res.StatusCode != http.StatusOK || json.Unmarshal(body, &r) != nil {
			t.Fatalf("speakingRate %v: %d %s", rate, res.StatusCode, body)
		}
		got, tol := decodeAudio(t, audio.EncodingWAV, r.AudioContent)
		if rate == 0 {
			// <break time="150ms"/> is speech.DefaultPause, the pause
			// between the words of /v1/synthesize's text.
			sameAudio(t, "LINEAR16", got, ref, tol)
		} else if want := int(float64(len(ref))/rate + 0.5); len(got) != want {
			t.Errorf("speakingRate %v: %d samples, want %d", rate, len(got), want)
		}
	}
}

// TestGoogleVoicesMatchModels: GET /v1/voices lists every speaker of
// every model GET /v1/models shows with a text condition, at its rate;
// languageCode filters.
func TestGoogleVoicesMatchModels(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{Models: map[string]*synth.Bundle{"default": {Model: m}, "other": {Model: m}}})
	var models struct{ Models []ModelInfo }
	if code := getJSON(t, ts.URL+"/v1/models", &models); code != 200 {
		t.Fatalf("GET /v1/models = %d", code)
	}
	var want []GoogleVoice
	for _, mi := range models.Models {
		if mi.TextCondition == "" {
			continue
		}
		for _, c := range mi.Conditions {
			if c.Name != "speaker" {
				continue
			}
			for _, v := range c.Values {
				want = append(want, GoogleVoice{LanguageCodes: []string{"en-US"}, Name: "en-US-" + mi.ID + "-" + v,
					SSMLGender: "SSML_VOICE_GENDER_UNSPECIFIED", NaturalSampleRateHertz: mi.SampleRate})
			}
		}
	}
	if len(want) != 4 { // 2 models x (george, jackson)
		t.Fatalf("/v1/models shows %d (model, speaker) pairs, want 4", len(want))
	}
	for q, n := range map[string]int{"": 4, "?languageCode=en-US": 4, "?languageCode=en": 4, "?languageCode=de-DE": 0} {
		var got struct{ Voices []GoogleVoice }
		if code := getJSON(t, ts.URL+"/v1/voices"+q, &got); code != 200 {
			t.Fatalf("GET /v1/voices%s = %d", q, code)
		}
		if w := want[:n]; !reflect.DeepEqual(got.Voices, w) && !(n == 0 && len(got.Voices) == 0) {
			t.Errorf("GET /v1/voices%s = %+v, want %+v", q, got.Voices, w)
		}
	}
}

// TestGoogleErrorShape: errors outside the handlers (auth, bad JSON) are
// Google's shape too, and a Bearer key is accepted.
func TestGoogleErrorShape(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{APIKeys: []string{"k"}})
	ok := `{"input": {"text": "1"}, "voice": {"languageCode": "en-US"}, "audioConfig": {"audioEncoding": "LINEAR16"}}`
	for _, tc := range []struct {
		name, body, key, status string
		code                    int
		msg                     string
	}{
		{"no key", ok, "", "UNAUTHENTICATED", 401, "missing API key"},
		{"bad json", `{"input": x}`, "k", "INVALID_ARGUMENT", 400, "not valid JSON"},
		{"unknown field", `{"inputs": {}}`, "k", "INVALID_ARGUMENT", 400, `unknown field "inputs"`},
	} {
		h := map[string]string{}
		if tc.key != "" {
			h["Authorization"] = "Bearer " + tc.key
		}
		res := postWith(t, ts.URL+"/v1/text:synthesize", tc.body, h)
		body := readAll(t, res)
		var e struct {
			Error struct {
				Code            int
				Message, Status string
			}
		}
		if err := json.Unmarshal(body, &e); err != nil || res.StatusCode != tc.code || e.Error.Code != tc.code ||
			e.Error.Status != tc.status || !strings.Contains(e.Error.Message, tc.msg) {
			t.Errorf("%s: %d %s; want %d {code %d, status %s, message saying %q}", tc.name, res.StatusCode, body, tc.code, tc.code, tc.status, tc.msg)
		}
	}
	res := postWith(t, ts.URL+"/v1/text:synthesize", ok, map[string]string{"Authorization": "Bearer k"})
	if body := readAll(t, res); res.StatusCode != http.StatusOK {
		t.Errorf("with Bearer key: %d %s, want 200", res.StatusCode, body)
	}
	// The colon is literal: no other path reaches the route.
	res = postWith(t, ts.URL+"/v1/textXsynthesize", ok, map[string]string{"Authorization": "Bearer k"})
	if readAll(t, res); res.StatusCode != http.StatusNotFound {
		t.Errorf("POST /v1/textXsynthesize = %d, want 404", res.StatusCode)
	}
}
