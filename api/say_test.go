package api

import (
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/synth"
)

// TestSynthesizeTextDefaultModel says a few digits with the embedded
// default model and its duration statistics, through the service and
// through sayReference (the word policy, one attempt at a time), and
// wants the same audio.
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
	b, err := synth.LoadFS(models.FS(), models.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, st := b.Model, b.Stats
	_, ts := newTestServer(t, nil, Options{Models: map[string]*synth.Bundle{"default": b}})
	speaker := m.Config.Conditions[0].Values[0]
	start := time.Now()
	want, _ := sayReference(t, m, st, "4 2", map[string]string{"speaker": speaker}, 11, refOpts{guidance: float32(st.Guidance), cands: st.Candidates}) // the service's defaults
	t.Logf("the reference took %v", time.Since(start))
	res := post(t, ts.URL+"/v1/synthesize", `{"text": "4 2", "speaker": "`+speaker+`", "seed": 11, "format": "float32"}`)
	body := readAll(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("text request = %d %s, want 200", res.StatusCode, body)
	}
	got := float32s(body)
	if len(got) != len(want) {
		t.Fatalf("service said %d samples, the reference %d", len(got), len(want))
	}
	for k := range got {
		if got[k] != want[k] {
			t.Fatalf("sample %d = %v, want %v as the reference", k, got[k], want[k])
		}
	}
}
