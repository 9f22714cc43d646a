package speech

import (
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// FuzzParseText: text comes from outside (the service's "text", say's
// arguments). Whatever it is, ParseText returns either labels that are all
// values of the condition, at most MaxLabels of them, or an *InputError;
// it never panics.
func FuzzParseText(f *testing.F) {
	for _, s := range []string{"4 2 7", "four two seven", "Four. Two!", "427", "oh, nine", "", " ,;", "x", "4\u00a02", "\xff\xfe", "eleven"} {
		f.Add(s)
	}
	c := wavenet.Condition{Name: "digit", Values: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	f.Fuzz(func(t *testing.T, text string) {
		labels, err := ParseText(text, c)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("ParseText(%q) error %v is not an *InputError", text, err)
			}
			return
		}
		if len(labels) == 0 || len(labels) > MaxLabels {
			t.Fatalf("ParseText(%q) = %d labels, want 1 to %d", text, len(labels), MaxLabels)
		}
		for _, l := range labels {
			if !slices.Contains(c.Values, l) {
				t.Fatalf("ParseText(%q) gave %q, not a digit", text, l)
			}
		}
	})
}
