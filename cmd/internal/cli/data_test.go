package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
)

var updateData = flag.Bool("update-data", false, "rewrite testdata/data_inspect.golden")

// inspectFixture writes a small corpus: digits 0-1 from speakers ann and
// bob at indices 3, 5 and 20 (0.5 s each: 0.1 s silence, 0.3 s tone, 0.1 s
// silence), one clipped 16 kHz file, one digitally silent file, one
// truncated file and one file whose name does not match.
func inspectFixture(t *testing.T) string {
	dir := t.TempDir()
	write := func(name string, x []float32, rate int) {
		var buf bytes.Buffer
		if err := audio.Encode(&buf, x, rate, audio.PCM16); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	speech := func(rate int, amp float64) []float32 {
		x := make([]float32, rate/2)
		for i := rate / 10; i < 4*rate/10; i++ {
			x[i] = float32(amp * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		}
		return x
	}
	for _, d := range []int{0, 1} {
		for _, s := range []string{"ann", "bob"} {
			for _, i := range []int{3, 5, 20} {
				write(fmt.Sprintf("%d_%s_%d.wav", d, s, i), speech(8000, 0.3), 8000)
			}
		}
	}
	write("2_cat_21.wav", speech(16000, 1.5), 16000) // clipped: amplitude 1.5
	write("2_cat_22.wav", make([]float32, 800), 8000)
	var buf bytes.Buffer
	audio.Encode(&buf, speech(8000, 0.3), 8000, audio.PCM16)
	os.WriteFile(filepath.Join(dir, "2_cat_23.wav"), buf.Bytes()[:100], 0o644)
	write("take2.wav", speech(8000, 0.3), 8000)
	return dir
}

func runDataCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")}
	err = commands["data"].Run(context.Background(), env, args)
	return out.String(), errb.String(), err
}

func TestDataInspectGolden(t *testing.T) {
	dir := inspectFixture(t)
	// Flags after the directory work too.
	out, _, err := runDataCmd(t, "inspect", dir, "--quiet", "--rate", "16000")
	if err != nil {
		t.Fatalf("data inspect %s: %v", dir, err)
	}
	out = strings.ReplaceAll(out, dir, "DIR")
	golden := filepath.Join("testdata", "data_inspect.golden")
	if *updateData {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestDataInspectGolden -update-data ./internal/cli/ to create it)", err)
	}
	if out != string(want) {
		t.Errorf("data inspect output differs from %s (rerun with -update-data and review the diff):\n%s", golden, out)
	}
	for _, s := range []string{
		"16 .wav: 14 read, 1 unreadable, 1 not matching",
		"2_cat_23.wav  audio: wav: truncated",
		"take2.wav",
		"2_cat_21.wav",
		"1 file entirely silent",
		"sample rates    8000 Hz: 13, 16000 Hz: 1",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("data inspect output lacks %q:\n%s", s, out)
		}
	}
}

func TestDataInspectErrors(t *testing.T) {
	dir := inspectFixture(t)
	tests := []struct {
		args  []string
		usage bool
	}{
		{nil, true},
		{[]string{"list"}, true},
		{[]string{"inspect"}, true},
		{[]string{"inspect", dir, dir}, true},
		{[]string{"inspect", "--split", "bogus", dir}, true},
		{[]string{"inspect", "--mostly-silent", "2", dir}, true},
		{[]string{"inspect", "--pattern", "(", dir}, false},
		{[]string{"inspect", "--quiet", filepath.Join(dir, "nope")}, false},
	}
	for _, tt := range tests {
		_, _, err := runDataCmd(t, tt.args...)
		if err == nil {
			t.Errorf("data %q = nil error, want one", tt.args)
			continue
		}
		if got := errors.Is(err, ErrUsage); got != tt.usage {
			t.Errorf("data %q error %v: usage error = %v, want %v", tt.args, err, got, tt.usage)
		}
	}
	if _, _, err := runDataCmd(t, "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("data --help error %v, want flag.ErrHelp", err)
	}
}
