package api

import (
	"context"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// TestSynthesizeTextDefaultModel says a few digits with the embedded
// default model and its duration statistics, through the service and
// through speech.Say (what `wavenet say` runs), and wants the same audio.
// With a trained model the words end by the detector (silence or dip)
// rather than by the random models' cap, so this covers the ends and
// trims the tiny-model tests do not reach.
func TestSynthesizeTextDefaultModel(t *testing.T) {
	if testing.Short() {
		t.Skip("generates about 2 s of audio with the default model")
	}
	if !models.Available() {
		t.Skip("no default model embedded")
	}
	m, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	st, err := models.Stats()
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, nil, Options{Models: map[string]*wavenet.Model{"default": m},
		Speech: map[string]*speech.Stats{"default": st}})
	speaker := m.Config.Conditions[0].Values[0]
	req := speech.Request{Text: "4 2", Cond: map[string]string{"speaker": speaker}, Seed: 11,
		GenOptions: speech.GenOptions{Stats: st, Guidance: float32(st.Guidance), Candidates: st.Candidates}} // the service's defaults
	start := time.Now()
	want, err := speech.Say(context.Background(), m, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("speech.Say took %v", time.Since(start))
	for i, p := range want.Parts {
		t.Logf("word %s: %.2f s kept of %.2f s generated, end %s, attempts %d, durations from %s",
			want.Labels[i], float64(len(p.Audio))/8000, float64(p.Generated)/8000, p.Reason, p.Attempts, p.StatsFrom)
	}
	res := post(t, ts.URL+"/v1/synthesize", `{"text": "4 2", "speaker": "`+speaker+`", "seed": 11, "format": "float32"}`)
	b := readAll(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("text request = %d %s, want 200", res.StatusCode, b)
	}
	got := float32s(b)
	if len(got) != len(want.Audio) {
		t.Fatalf("service said %d samples, speech.Say %d", len(got), len(want.Audio))
	}
	for k := range got {
		if got[k] != want.Audio[k] {
			t.Fatalf("sample %d = %v, want %v as speech.Say", k, got[k], want.Audio[k])
		}
	}
}
