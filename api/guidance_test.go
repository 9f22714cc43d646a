package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
)

// TestSynthesizeGuidance serves a model with null rows whose statistics set
// a default guidance weight: a request without "guidance" is guided with
// it (the digit's null row as the guide, the speaker kept), "guidance": 0
// is plain sampling, and each matches the cache generator's stream.
func TestSynthesizeGuidance(t *testing.T) {
	m := tinyModel(t).WithNull()
	st := &speech.Stats{Conditions: []string{"digit", "speaker"}, All: speech.DefaultDuration, Guidance: 1.5}
	_, ts := newTestServer(t, m, Options{Models: map[string]*synth.Bundle{"default": {Model: m, Stats: st}}})
	const n = 400
	plain := cache.StreamOptions{Cond: []int{3, 1}, Temperature: 1, Seed: 42}
	guided := plain
	guided.Guidance, guided.GuideCond = 1.5, []int{10, 1}
	double := plain
	double.Guidance, double.GuideCond = 3, []int{10, 1}
	for _, tc := range []struct {
		name, extra string
		want        cache.StreamOptions
	}{
		{"model default", "", guided},
		{"guidance 0", `, "guidance": 0`, plain},
		{"guidance 3", `, "guidance": 3`, double},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := post(t, ts.URL+"/v1/synthesize", fmt.Sprintf(`{"num_samples": %d, "label": "3", "speaker": "jackson", "seed": 42, "format": "float32"%s}`, n, tc.extra))
			body := readAll(t, res)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("POST = %d %s, want 200", res.StatusCode, body)
			}
			if got, want := float32s(body), referenceAudio(t, m, tc.want, n); !slices.Equal(got, want) {
				t.Errorf("audio differs from the cache generator's stream with guidance %v", tc.want.Guidance)
			}
		})
	}
	if slices.Equal(reference(t, m, plain, n), reference(t, m, guided, n)) {
		t.Fatal("guided and plain references are equal: the test cannot tell them apart")
	}

	res, err := http.Get(ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Models []ModelInfo }
	if err := json.Unmarshal(readAll(t, res), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Models) != 1 || list.Models[0].Guidance != 1.5 || !list.Models[0].Guidable {
		t.Errorf("GET /v1/models = %+v, want guidance 1.5, guidable", list.Models)
	}
}

// TestSynthesizeGuidanceErrors: a weight out of range, or any positive
// weight for a model without a null row, is a 400 that says why.
func TestSynthesizeGuidanceErrors(t *testing.T) {
	_, plainTS := newTestServer(t, tinyModel(t), Options{})
	_, nullTS := newTestServer(t, tinyModel(t).WithNull(), Options{})
	for _, tc := range []struct {
		name, url, guidance, want string
	}{
		{"no null row", plainTS.URL, "1", "null row"},
		{"negative", nullTS.URL, "-1", "want 0 (none) to 100"},
		{"too large", nullTS.URL, "1e9", "want 0 (none) to 100"},
	} {
		res := post(t, tc.url+"/v1/synthesize", `{"label": "3", "speaker": "jackson", "guidance": `+tc.guidance+`}`)
		body := readAll(t, res)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(errorOf(t, body).Message, tc.want) {
			t.Errorf("%s: POST = %d %s, want 400 mentioning %q", tc.name, res.StatusCode, body, tc.want)
		}
	}
	// Without a null row, guidance 0 is plain sampling and allowed.
	res := post(t, plainTS.URL+"/v1/synthesize", `{"label": "3", "speaker": "jackson", "guidance": 0}`)
	if body := readAll(t, res); res.StatusCode != http.StatusOK {
		t.Errorf("guidance 0 without a null row: POST = %d %s, want 200", res.StatusCode, body)
	}
}

// TestSynthesizeTextCandidates: a text request with the model's default
// candidates and guidance says what the word policy says with them when
// the attempts are made one at a time (sayReference; the service runs
// them side by side, and the policy takes them in attempt order).
func TestSynthesizeTextCandidates(t *testing.T) {
	m := tinyModel(t).WithNull()
	st := &speech.Stats{Conditions: []string{"digit", "speaker"}, All: speech.DefaultDuration, Guidance: 0.5, Candidates: 3}
	_, ts := newTestServer(t, m, Options{Models: map[string]*synth.Bundle{"default": {Model: m, Stats: st}}})
	say := func(g float32, cands int) []float32 {
		t.Helper()
		x, _ := sayReference(t, m, st, "4 2 7 1", map[string]string{"speaker": "jackson"}, 11, refOpts{guidance: g, cands: cands})
		return x
	}
	for _, tc := range []struct {
		name, extra string
		want        []float32
	}{
		{"model default", "", say(0.5, 3)},
		{"one plain attempt", `, "guidance": 0, "candidates": 1`, say(0, 1)},
		{"five candidates", `, "candidates": 5`, say(0.5, 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := post(t, ts.URL+"/v1/synthesize", `{"text": "4 2 7 1", "speaker": "jackson", "seed": 11, "format": "float32"`+tc.extra+`}`)
			body := readAll(t, res)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("POST = %d %s, want 200", res.StatusCode, body)
			}
			if !slices.Equal(float32s(body), tc.want) {
				t.Errorf("service said %d samples, the reference %d (or different samples)", len(body)/4, len(tc.want))
			}
		})
	}
	// The choice matters: some word kept an attempt other than the first.
	if _, kept := sayReference(t, m, st, "4 2 7 1", map[string]string{"speaker": "jackson"}, 11, refOpts{cands: 5}); !kept {
		t.Fatal("every word kept its first attempt: the test cannot tell candidates from none")
	}
	for _, tc := range []struct{ body, want string }{
		{`{"label": "3", "speaker": "jackson", "candidates": 2}`, "applies to \"text\""},
		{`{"text": "3", "speaker": "jackson", "candidates": 0}`, "want 1 to"},
	} {
		res := post(t, ts.URL+"/v1/synthesize", tc.body)
		body := readAll(t, res)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(errorOf(t, body).Message, tc.want) {
			t.Errorf("POST %s = %d %s, want 400 mentioning %q", tc.body, res.StatusCode, body, tc.want)
		}
	}
}

// TestTextCandidatesRunSideBySide: on an idle server a word's candidate
// attempts run at once, so some steps advance more than one stream of a
// single request (wavenet_step_batch_size counts attempts); the audio is
// still the reference's (TestSynthesizeTextCandidates).
func TestTextCandidatesRunSideBySide(t *testing.T) {
	m := tinyModel(t).WithNull()
	_, ts := newTestServer(t, m, Options{Workers: 1})
	res := post(t, ts.URL+"/v1/synthesize", `{"text": "4 2", "speaker": "jackson", "seed": 3, "candidates": 4}`)
	if body := readAll(t, res); res.StatusCode != http.StatusOK {
		t.Fatalf("POST = %d %s, want 200", res.StatusCode, body)
	}
	mres, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var single, all float64 = -1, -1
	for _, line := range strings.Split(string(readAll(t, mres)), "\n") {
		if strings.HasPrefix(line, "wavenet_step_batch_size_bucket{") && strings.Contains(line, `le="1"`) {
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &single)
		}
		if strings.HasPrefix(line, "wavenet_step_batch_size_count{") {
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &all)
		}
	}
	if single < 0 || all <= 0 || single >= all {
		t.Errorf("step batch sizes: %v of %v steps advanced one stream; want some steps with several attempts at once", single, all)
	}
}

// TestCandidatesCountAgainstAdmission: a text's candidates multiply its
// cost. With --max-seconds 2 and 4 streams, one word with 32 candidates
// (each attempt up to lead+cap of speech.DefaultDuration, about 1 s at
// 8 kHz: far more than 4 streams of 2 s) is refused with a 400 naming
// candidates, where the same word with 1 candidate is served.
func TestCandidatesCountAgainstAdmission(t *testing.T) {
	m := tinyModel(t).WithNull()
	_, ts := newTestServer(t, m, Options{MaxSeconds: 2, MaxStreams: 4})
	lim := speech.Options{}.Limits(speech.DefaultDuration, 8000)
	if cost := 32 * (lim.Lead + lim.Cap); cost <= 4*2*8000 {
		t.Fatalf("32 attempts of %d samples = %d: not above 4 streams of 2 s; the test cannot tell", lim.Lead+lim.Cap, cost)
	}
	for _, tc := range []struct {
		cands  int
		status int
	}{{1, 200}, {32, 400}} {
		res := post(t, ts.URL+"/v1/synthesize", fmt.Sprintf(`{"text": "4", "speaker": "jackson", "seed": 1, "candidates": %d}`, tc.cands))
		body := readAll(t, res)
		if res.StatusCode != tc.status {
			t.Errorf("text of 1 word, %d candidates = %d %s, want %d", tc.cands, res.StatusCode, body, tc.status)
			continue
		}
		if tc.status == 400 && !strings.Contains(errorOf(t, body).Message, "fewer candidates") {
			t.Errorf("text of 1 word, %d candidates: message %q, want it to say to send fewer candidates", tc.cands, errorOf(t, body).Message)
		}
	}
}
