package cli

import (
	"flag"
	"io"
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/synth"
)

// TestInterspersed checks the positional arguments and flag values
// interspersed returns: flags before, between and after the inputs, and
// after "--" (the getopt rule) every argument positional, even "-x" and
// "--model"; "--" as a flag's value is a value, not the terminator.
func TestInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		pos   []string
		model string
		rate  float64
		raw   bool
	}{
		{args: []string{"a.wav", "b.wav"}, pos: []string{"a.wav", "b.wav"}},
		{args: []string{"--model", "m", "a.wav"}, pos: []string{"a.wav"}, model: "m"},
		{args: []string{"a.wav", "--model", "m"}, pos: []string{"a.wav"}, model: "m"},
		{args: []string{"a.wav", "--raw", "b.wav", "-model=m", "c.wav"}, pos: []string{"a.wav", "b.wav", "c.wav"}, model: "m", raw: true},
		{args: []string{"--", "b.wav", "-a.wav"}, pos: []string{"b.wav", "-a.wav"}},
		{args: []string{"--raw", "--", "-x", "--model", "m"}, pos: []string{"-x", "--model", "m"}, raw: true},
		{args: []string{"a.wav", "--", "-x", "--", "--model"}, pos: []string{"a.wav", "-x", "--", "--model"}},
		{args: []string{"a.wav", "--model", "m", "--", "--raw"}, pos: []string{"a.wav", "--raw"}, model: "m"},
		{args: []string{"--rate", "-3.5", "a.wav", "--rate", "-2"}, pos: []string{"a.wav"}, rate: -2},
		{args: []string{"--model", "--", "a.wav", "--raw"}, pos: []string{"a.wav"}, model: "--", raw: true},
		{args: []string{"--model", "--model", "--", "-x.wav"}, pos: []string{"-x.wav"}, model: "--model"},
		{args: []string{"-", "--raw"}, pos: []string{"-"}, raw: true},
		{args: nil},
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		model := fs.String("model", "", "")
		rate := fs.Float64("rate", 0, "")
		raw := fs.Bool("raw", false, "")
		pos, err := interspersed(fs, tc.args)
		if err != nil {
			t.Errorf("interspersed(%q): %v", tc.args, err)
			continue
		}
		if !slices.Equal(pos, tc.pos) || *model != tc.model || *rate != tc.rate || *raw != tc.raw {
			t.Errorf("interspersed(%q) = %q, --model %q, --rate %v, --raw %v; want %q, %q, %v, %v",
				tc.args, pos, *model, *rate, *raw, tc.pos, tc.model, tc.rate, tc.raw)
		}
	}
}

// TestInterspersedUndefined checks that a flag not defined is still an
// error before "--".
func TestInterspersedUndefined(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if pos, err := interspersed(fs, []string{"b.wav", "-a.wav"}); err == nil {
		t.Errorf("interspersed(%q) = %q, want an error (flag -a.wav not defined)", []string{"b.wav", "-a.wav"}, pos)
	}
}

// TestFlagMsg checks that a request error reads in the words of the
// command line: the field becomes its flag, the colon after it kept.
func TestFlagMsg(t *testing.T) {
	for _, tc := range []struct {
		field, msg, want string
	}{
		{"conditions", `conditions: model "vocoder" has no condition "a" (its conditions: speaker)`,
			`--cond: model "vocoder" has no condition "a" (its conditions: speaker)`},
		{"speaker", `"speaker": model "m" has no speaker condition (its conditions: none)`,
			`--speaker: model "m" has no speaker condition (its conditions: none)`},
		{"sample_rate", `field "sample_rate" is 5; want 4000 to 48000 Hz`, `--rate is 5; want 4000 to 48000 Hz`},
		{"sample_rate", `field "sample_rate": 7 Hz is not a ratio`, `--rate: 7 Hz is not a ratio`},
		{"accent", `unknown accent "x"; want one of a, b`, `--cond accent=VALUE: unknown accent "x"; want one of a, b`},
		{"mels", `model "m" is not a vocoder`, `model "m" is not a vocoder`},
	} {
		if got := flagMsg(&synth.RequestError{Field: tc.field, Msg: tc.msg}); got != tc.want {
			t.Errorf("flagMsg(field %q, %q) = %q, want %q", tc.field, tc.msg, got, tc.want)
		}
	}
}
