package speech

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// digitCondition is the label condition of the FSDD models: the ten
// digits.
var digitCondition = wavenet.Condition{Name: "digit", Values: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in   string
		skip bool
		want string   // the labels, space-separated
		bad  []string // parts of the error, if any
	}{
		// What ParseText reads is read the same.
		{in: "4 2 7", want: "4 2 7"},
		{in: "4,2,7", want: "4 2 7"},
		{in: "four two seven", want: "4 2 7"},
		{in: "Four. Two! oh; NINE?", want: "4 2 0 9"},
		{in: "four-two", want: "4 2"},
		// Numbers, digit by digit.
		{in: "427", want: "4 2 7"},
		{in: "2026", want: "2 0 2 6"},
		{in: "1,250", want: "1 2 5 0"},
		{in: "1,250,000", want: "1 2 5 0 0 0 0"},
		{in: "1,25", want: "1 2 5"}, // not grouping: a list, as ParseText reads it
		{in: "0", want: "0"},
		{in: "(427).", want: "4 2 7"},
		{in: `"427"`, want: "4 2 7"},
		// Phone numbers.
		{in: "+1 (555) 010-9999", want: "1 5 5 5 0 1 0 9 9 9 9"},
		{in: "555-0199", want: "5 5 5 0 1 9 9"},
		{in: "(555)010-9999", want: "5 5 5 0 1 0 9 9 9 9"},
		{in: "555.010.9999", want: "5 5 5 0 1 0 9 9 9 9"},
		{in: "+44 20 7946 0958", want: "4 4 2 0 7 9 4 6 0 9 5 8"},
		{in: "555 - 0199", want: "5 5 5 0 1 9 9"},
		// Mixed text.
		{in: "Call 555-0199 now", bad: []string{`"Call" (character 0)`, `"now" (character 14)`, "the model cannot say", "allowed: 0, 1, 2"}},
		{in: "Call 555-0199 now", skip: true, want: "5 5 5 0 1 9 9"},
		{in: "Call me at four two seven, please!", skip: true, want: "4 2 7"},
		{in: "Room 101 — floor 1.", skip: true, want: "1 0 1 1"},
		// Numbers that cannot be read, skipping or not.
		{in: "3.5", bad: []string{`"3.5" (character 0): no word for a decimal point (write "3 5"`}},
		{in: "pi is 3.14", skip: true, bad: []string{`"3.14" (character 6): no word for a decimal point`}},
		{in: "1,250.50", bad: []string{`"1,250.50"`, "decimal point"}},
		{in: "-4", bad: []string{`"-4" (character 0): no word for a minus sign`}},
		{in: "(-4)", bad: []string{`"-4" (character 1): no word for a minus sign`}},
		{in: "$5", skip: true, bad: []string{`"$5" (character 0)`}},
		{in: "the 1st", skip: true, bad: []string{`"1st" (character 4)`}},
		{in: "1/2", bad: []string{`"1/2"`}},
		{in: "2+2", bad: []string{`"2+2"`}},
		{in: "4a2", bad: []string{`"4a2"`}},
		{in: "٤٢", bad: []string{`"٤٢" (character 0)`}}, // Arabic-Indic digits are not the model's
		// Words.
		{in: "twelve", bad: []string{`"twelve" (character 0)`}},
		{in: "four twenty", bad: []string{`"twenty" (character 5)`}},
		{in: "Ünïcode 4", bad: []string{`"Ünïcode" (character 0)`}},
		{in: "a b c d e f g h i j k l", bad: []string{`"a" (character 0)`, `"j" (character 18)`, "and 2 more"}},
		// Nothing to say.
		{in: "", bad: []string{"no digit to say"}},
		{in: " ... !", bad: []string{"no digit to say"}},
		{in: "hello world", skip: true, bad: []string{"no digit to say"}},
		{in: strings.Repeat("1", MaxLabels+1), bad: []string{"more than 1000 digit values"}},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in, digitCondition, NormalizeOptions{SkipWords: tt.skip})
		if tt.bad != nil {
			if !IsInputError(err) {
				t.Errorf("Normalize(%q, skip %v) = %q, %v, want an *InputError", tt.in, tt.skip, got.Labels, err)
				continue
			}
			for _, b := range tt.bad {
				if !strings.Contains(err.Error(), b) {
					t.Errorf("Normalize(%q, skip %v) error %q does not contain %q", tt.in, tt.skip, err, b)
				}
			}
			continue
		}
		if err != nil || got.Text() != tt.want {
			t.Errorf("Normalize(%q, skip %v) = %q, %v, want %q", tt.in, tt.skip, got.Text(), err, tt.want)
			continue
		}
		// The text reads back as the labels, and free text has no pauses
		// of its own.
		if back, err := ParseText(got.Text(), digitCondition); err != nil || !slices.Equal(back, got.Labels) || got.Pauses != nil {
			t.Errorf("ParseText(Normalize(%q).Text()) = %q, %v (pauses %v), want %q, no pauses", tt.in, back, err, got.Pauses, got.Labels)
		}
	}
}

func TestNormalizeChanges(t *testing.T) {
	got, err := Normalize("Call +1 (555) 010-9999, 1,250 or four 7", digitCondition, NormalizeOptions{SkipWords: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{Pos: 0, From: "Call", Why: ReadSkipped},
		{Pos: 5, From: "+1", To: "1", Why: ReadPlus},
		{Pos: 9, From: "555", To: "5 5 5", Why: ReadDigits},
		{Pos: 14, From: "010-9999", To: "0 1 0 9 9 9 9", Why: ReadDigits + "; " + ReadPhone},
		{Pos: 24, From: "1,250", To: "1 2 5 0", Why: ReadDigits + "; " + ReadGrouping},
		{Pos: 30, From: "or", Why: ReadSkipped},
		{Pos: 33, From: "four", To: "4", Why: ReadNumberWord},
	}
	if !slices.Equal(got.Changes, want) {
		t.Errorf("Normalize(...).Changes =\n%+v\nwant\n%+v", got.Changes, want)
	}
	// Digits as written are no change.
	if got, err := Normalize("4 2, 7.", digitCondition, NormalizeOptions{}); err != nil || len(got.Changes) != 0 {
		t.Errorf("Normalize(4 2, 7.) = %+v, %v, want no changes", got, err)
	}
}

func TestNormalizeWords(t *testing.T) {
	// A model of word labels: numbers are errors, words are read as
	// ParseText reads them.
	words := wavenet.Condition{Name: "word", Values: []string{"yes", "no"}}
	if got, err := Normalize("Yes, no!", words, NormalizeOptions{}); err != nil || got.Text() != "yes no" {
		t.Errorf("Normalize(Yes, no!) with words yes, no = %q, %v, want yes no", got.Text(), err)
	}
	if _, err := Normalize("yes 42", words, NormalizeOptions{SkipWords: true}); !IsInputError(err) || !strings.Contains(err.Error(), `"42" (character 4): "4" is not a word`) {
		t.Errorf("Normalize(yes 42) with words yes, no = %v, want an *InputError naming 4", err)
	}
	if _, err := Normalize("two", words, NormalizeOptions{}); !IsInputError(err) {
		t.Errorf("Normalize(two) with words yes, no = %v, want an *InputError", err)
	}
}

// Example of an OpenAI-style input: words the model cannot say are
// skipped on request, and the Changes say what was read how.
func ExampleNormalize() {
	s, err := Normalize("Call 555-0199, ext. four", digitCondition, NormalizeOptions{SkipWords: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Text())
	for _, c := range s.Changes {
		fmt.Printf("%d %q -> %q: %s\n", c.Pos, c.From, c.To, c.Why)
	}
	_, err = Normalize("Call 555-0199", digitCondition, NormalizeOptions{})
	fmt.Println(err)
	// Output:
	// 5 5 5 0 1 9 9 4
	// 0 "Call" -> "": skipped: the model cannot say it
	// 5 "555-0199" -> "5 5 5 0 1 9 9": read digit by digit; phone punctuation dropped
	// 15 "ext" -> "": skipped: the model cannot say it
	// 20 "four" -> "4": number word
	// speech: text "Call 555-0199": the model cannot say "Call" (character 0); it says only digit values, numbers digit by digit and number words (zero to nine) (allowed: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
}
