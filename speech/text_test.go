package speech

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// testConfig is a tiny 8 kHz model (dilations 1-8: receptive field 17)
// conditioned on speaker (alice, bob) and digit (0-9), with ch residual
// and dilation channels.
func testConfig(ch int) wavenet.Config {
	return wavenet.Config{FilterWidth: 2, SampleRate: testRate, Dilations: []int{1, 2, 4, 8},
		ResidualChannels: ch, DilationChannels: ch, SkipChannels: 16, QuantizationChannels: 256, UseBiases: true,
		Conditions: []wavenet.Condition{
			{Name: "speaker", Values: []string{"alice", "bob"}},
			{Name: "digit", Values: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		}}
}

func TestParseText(t *testing.T) {
	digits := wavenet.Condition{Name: "digit", Values: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	tests := []struct {
		in   string
		want []string
		bad  string // part of the error, if any
	}{
		{"4 2 7", []string{"4", "2", "7"}, ""},
		{"427", []string{"4", "2", "7"}, ""},
		{"4,2,7", []string{"4", "2", "7"}, ""},
		{" 4, 27\t0 ", []string{"4", "2", "7", "0"}, ""},
		{"4a2", nil, `"a" is not a digit`},
		{"4-2", nil, `"-" is not a digit`},
		{"four two seven", []string{"4", "2", "7"}, ""},
		{"Four. Two! oh; NINE?", []string{"4", "2", "0", "9"}, ""},
		{"four2", nil, `"f" is not a digit`},
		{"", nil, "no digit"},
		{" , ", nil, "no digit"},
	}
	for _, tt := range tests {
		got, err := ParseText(tt.in, digits)
		if tt.bad != "" {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.bad) || !strings.Contains(err.Error(), "allowed: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9") {
				t.Errorf("ParseText(%q) = %v, want an *InputError with %q and the allowed digits", tt.in, err, tt.bad)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseText(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	// Multi-character values are words.
	words := wavenet.Condition{Name: "word", Values: []string{"yes", "no"}}
	if got, err := ParseText("yes No,YES", words); err != nil || !slices.Equal(got, []string{"yes", "no", "yes"}) {
		t.Errorf("ParseText(yes No,YES) = %q, %v, want [yes no yes] (case folded to the values)", got, err)
	}
	// Number words are digits only when the digits are values.
	if _, err := ParseText("two", words); err == nil {
		t.Errorf("ParseText(two) with values yes, no = nil error, want an *InputError")
	}
}

func TestItems(t *testing.T) {
	cfg := testConfig(16)
	items, err := Items(cfg, "four 2", map[string]string{"speaker": "bob"})
	if err != nil {
		t.Fatal(err)
	}
	// bob is speaker index 1; digits 4 and 2 are their own indices.
	want := []Item{{Label: "4", Cond: []int{1, 4}}, {Label: "2", Cond: []int{1, 2}}}
	if len(items) != len(want) {
		t.Fatalf("Items(four 2, bob) = %v, want %v", items, want)
	}
	for i := range want {
		if items[i].Label != want[i].Label || !slices.Equal(items[i].Cond, want[i].Cond) {
			t.Errorf("Items(four 2, bob)[%d] = %+v, want %+v", i, items[i], want[i])
		}
	}
	// A condition not given takes its first value (alice: 0).
	if items, err := Items(cfg, "7", nil); err != nil || !slices.Equal(items[0].Cond, []int{0, 7}) {
		t.Errorf("Items(7, no speaker) = %+v, %v, want cond [0 7]", items, err)
	}
	for _, c := range []map[string]string{{"speaker": "carol"}, {"accent": "x"}, {"digit": "1"}} {
		if _, err := Items(cfg, "1", c); !IsInputError(err) {
			t.Errorf("Items(1, %v) = %v, want an *InputError", c, err)
		}
	}
}

func TestConcat(t *testing.T) {
	a := slices.Repeat([]float32{1}, 100)
	out := Concat([][]float32{a, a}, 10, testRate)
	if len(out) != 210 {
		t.Fatalf("len(Concat(100, 100, pause 10)) = %d, want 210", len(out))
	}
	// 5 ms fades are 40 samples at 8 kHz: ramps at both ends of each part,
	// full level in the middle, silence in the pause.
	if out[0] != 0 || out[20] != 0.5 || out[50] != 1 || out[98] != 1.0/40 || out[99] != 0 || out[105] != 0 || out[110] != 0 || out[160] != 1 {
		t.Errorf("Concat = %v..., want 40-sample fades and a silent pause", out[:12])
	}
	if a[0] != 1 {
		t.Error("Concat changed its input")
	}
}
