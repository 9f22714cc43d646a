package speech

import (
	"slices"
	"testing"
)

// checkScript fails t unless Normalize or ParseSSML of in returned either
// an *InputError or a Script the model can say: 1 to MaxLabels labels,
// all values of the digit condition, that ParseText reads back from its
// Text; with pauses (SSML), one per label, each 0 to MaxPause, as is the
// trailing silence.
func checkScript(t *testing.T, fn, in string, s Script, err error, pauses bool) {
	t.Helper()
	if err != nil {
		if !IsInputError(err) {
			t.Fatalf("%s(%q) error %v is not an *InputError", fn, in, err)
		}
		return
	}
	if len(s.Labels) == 0 || len(s.Labels) > MaxLabels {
		t.Fatalf("%s(%q) = %d labels, want 1 to %d", fn, in, len(s.Labels), MaxLabels)
	}
	for _, l := range s.Labels {
		if !slices.Contains(digitCondition.Values, l) {
			t.Fatalf("%s(%q) gave %q, not a digit", fn, in, l)
		}
	}
	if back, err := ParseText(s.Text(), digitCondition); err != nil || !slices.Equal(back, s.Labels) {
		t.Fatalf("ParseText(%s(%q).Text()) = %q, %v, want %q", fn, in, back, err, s.Labels)
	}
	if !pauses {
		if s.Pauses != nil || s.Trailing != 0 {
			t.Fatalf("%s(%q) has pauses %v, trailing %v; want none", fn, in, s.Pauses, s.Trailing)
		}
		return
	}
	if len(s.Pauses) != len(s.Labels) {
		t.Fatalf("%s(%q) = %d labels, %d pauses; want one pause per label", fn, in, len(s.Labels), len(s.Pauses))
	}
	for _, d := range append(slices.Clone(s.Pauses), s.Trailing) {
		if d < 0 || d > MaxPause {
			t.Fatalf("%s(%q) has a pause of %v, want 0 to %v", fn, in, d, MaxPause)
		}
	}
}

// FuzzNormalize: free text comes from outside (an OpenAI-style "input").
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Call +1 (555) 010-9999 now", "1,250", "2026", "3.5", "-4", "four-two", "555.010.9999", "(427).", "1,25", "", "\xff", "٤٢", "$5", "1,250.50", "+", "--1"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, skip bool) {
		s, err := Normalize(text, digitCondition, NormalizeOptions{SkipWords: skip})
		checkScript(t, "Normalize", text, s, err, false)
	})
}

// FuzzParseSSML: an SSML document comes from outside (Google-style
// input.ssml).
func FuzzParseSSML(f *testing.F) {
	for _, s := range []string{
		`<speak>4 <break time="500ms"/>2</speak>`,
		`<speak><p><s>four</s><s>2</s></p></speak>`,
		`<speak><say-as interpret-as="telephone">+1 (555) 010-9999</say-as></speak>`,
		`<speak><say-as interpret-as="cardinal">1,250</say-as><break strength="x-strong"/></speak>`,
		`<speak><say-as interpret-as="characters">4&#50;</say-as></speak>`,
		`<speak><break time="10s"/>1<break time="10s"/></speak>`,
		`<speak>4<audio/></speak>`, `<speak>4`, `<!DOCTYPE x><speak/>`, "", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := ParseSSML(doc, digitCondition)
		checkScript(t, "ParseSSML", doc, s, err, true)
	})
}
