package corpus

import (
	"context"
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	c, err := Load(context.Background(), fixture(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := Inspect(c, InspectOptions{MostlySilent: 0.6})
	// fixture: 18 FSDD files + 3_cat_13 + the silent 4_dan_1 read, 5_eve_2
	// truncated, notes.wav unmatched.
	checks := []struct {
		what      string
		got, want int
	}{
		{"Found", in.Found, 22},
		{"Utterances", in.Utterances, 20},
		{"Silent", len(in.Silent), 1},
		{"MostlySilent", len(in.MostlySilent), 0}, // 0.2 s of 0.5 s silent
		{"Clipped", len(in.Clipped), 0},           // peak 0.5
		{"Rates[8000]", in.Rates[8000], 19},
		{"Rates[16000]", in.Rates[16000], 1},
		{"Codes", in.Codes, 19*4000 + 8000}, // 0.5 s each at the files' own rates
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("Inspect(fixture).%s = %d, want %d", c.what, c.got, c.want)
		}
	}
	if len(in.Labels) == 0 || in.Labels[0].Name != "digit" {
		t.Fatalf("Inspect(fixture).Labels = %+v, want digit first", in.Labels)
	}
	// Digit 0: ann and bob at indices 3, 5 and 12; index 5 is validation.
	if got, want := in.Labels[0].Values[0], (ValueCount{Value: "0", Files: 6, Train: 4, Validation: 2, Duration: 3e9}); got != want {
		t.Errorf("Inspect(fixture) digit 0 = %+v, want %+v", got, want)
	}
	var b strings.Builder
	if err := in.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"22 .wav: 20 read, 1 unreadable, 1 not matching", "label digit: 5 values", "entirely silent files: 1"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("Inspection.WriteText lacks %q:\n%s", s, b.String())
		}
	}
}
