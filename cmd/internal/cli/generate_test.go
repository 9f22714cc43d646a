package cli

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/wavenet"
)

// genTestModel saves a random tiny model (dilations 1..8, so a receptive
// field of 17 samples; 8 kHz; Q = 256) to a temporary checkpoint directory.
// With cond set it is conditioned on speaker (alice, bob) and digit (0-9).
func genTestModel(t *testing.T, cond bool) (string, *wavenet.Model) {
	t.Helper()
	cfg := wavenet.Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1, 2, 4, 8},
		ResidualChannels: 8, DilationChannels: 8, SkipChannels: 16, QuantizationChannels: 256, UseBiases: true}
	if cond {
		cfg.Conditions = []wavenet.Condition{
			{Name: "speaker", Values: []string{"alice", "bob"}},
			{Name: "digit", Values: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := wavenet.New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if p.Init == wavenet.InitZero {
			for i := range p.Data {
				p.Data[i] = float32(rng.Float64() - 0.5)
			}
		}
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := wavenet.Save(context.Background(), dir, m, nil); err != nil {
		t.Fatalf("wavenet.Save: %v", err)
	}
	return dir, m
}

func readWAV(t *testing.T, name string) *audio.Clip {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := audio.Decode(f)
	if err != nil {
		t.Fatalf("audio.Decode(%s): %v", name, err)
	}
	return c
}

func writeSine(t *testing.T, name string, rate, n int) {
	t.Helper()
	x := make([]float32, n)
	for i := range x {
		x[i] = 0.5 * float32(math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := audio.Encode(f, x, rate, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func runCmd(ctx context.Context, run func(context.Context, *Env, []string) error, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(ctx, &Env{Stdout: &out, Stderr: &errb}, args)
	return out.String(), errb.String(), err
}

func TestGenerate(t *testing.T) {
	dir, _ := genTestModel(t, true)
	tmp := t.TempDir()
	prime := filepath.Join(tmp, "prime.wav")
	writeSine(t, prime, 16000, 1600) // 0.1 s at another rate: resampled to 8 kHz
	for _, tc := range []struct {
		name    string
		args    []string
		rate, n int
	}{
		// 0.25 s at 8 kHz is 2000 samples.
		{"model rate", []string{"--seconds", "0.25", "--speaker", "bob", "--label", "7"}, 8000, 2000},
		// Resampled 8 -> 16 kHz: twice the samples.
		{"rate 16000", []string{"--seconds", "0.25", "--cond", "speaker=alice", "--cond", "digit=3", "--rate", "16000"}, 16000, 4000},
		{"greedy top-k primed", []string{"--seconds", "0.1", "--speaker", "alice", "--label", "0", "--greedy", "--prime", prime}, 8000, 800},
		{"top-k temperature", []string{"--seconds", "0.1", "--speaker", "alice", "--label", "0", "--top-k", "5", "--temperature", "0.8", "--seed", "9"}, 8000, 800},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(tmp, strings.ReplaceAll(tc.name, " ", "_")+".wav")
			args := append([]string{"--model", dir, "--out", out}, tc.args...)
			if _, stderr, err := runCmd(context.Background(), runGenerate, args...); err != nil {
				t.Fatalf("generate %v: %v\n%s", args, err, stderr)
			}
			c := readWAV(t, out)
			if c.Format.SampleRate != tc.rate || c.Format.BitDepth != 16 || c.Format.Channels != 1 || c.Format.Float {
				t.Errorf("generate %v wrote %v, want %d Hz mono 16-bit PCM", tc.args, c.Format, tc.rate)
			}
			if c.Frames() != tc.n {
				t.Errorf("generate %v wrote %d frames, want %d", tc.args, c.Frames(), tc.n)
			}
		})
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("generate left the temporary file %s behind", e.Name())
		}
	}
}

func TestGenerateSeed(t *testing.T) {
	dir, _ := genTestModel(t, false)
	tmp := t.TempDir()
	gen := func(name, seed string) []byte {
		out := filepath.Join(tmp, name)
		if _, stderr, err := runCmd(context.Background(), runGenerate, "--model", dir, "--seconds", "0.1", "--seed", seed, "--out", out); err != nil {
			t.Fatalf("generate: %v\n%s", err, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := gen("a.wav", "5"), gen("b.wav", "5"), gen("c.wav", "6")
	if !bytes.Equal(a, b) {
		t.Errorf("generate --seed 5 twice gave different files")
	}
	if bytes.Equal(a, c) {
		t.Errorf("generate --seed 5 and --seed 6 gave the same file")
	}
}

func TestGenerateErrors(t *testing.T) {
	dir, _ := genTestModel(t, true)
	out := filepath.Join(t.TempDir(), "out.wav")
	for _, tc := range []struct {
		args []string
		want string // in the error message
	}{
		{[]string{"--model", dir, "--out", out, "--speaker", "carol", "--label", "1"}, "alice, bob"},
		{[]string{"--model", dir, "--out", out, "--speaker", "bob", "--label", "1", "--temperature", "0"}, "temperature"},
		{[]string{"--model", dir, "--out", out, "--speaker", "bob", "--label", "1", "--seconds", "-1"}, "seconds"},
		{[]string{"--model", dir, "--speaker", "bob", "--label", "1"}, "--out"},
		{[]string{"--model", dir, "--out", out, "--cond", "accent=x"}, "no condition"},
	} {
		_, _, err := runCmd(context.Background(), runGenerate, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("generate %v = %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed generate left %s behind", out)
	}
}

// countdownCtx is a context that reports cancellation after its Err method
// has been called n times: generate checks it once per chunk, so the
// interruption happens at a known sample.
type countdownCtx struct {
	context.Context
	n atomic.Int64
}

func (c *countdownCtx) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func (c *countdownCtx) Done() <-chan struct{} { return nil }

func (c *countdownCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// TestGenerateInterrupted cancels after two chunks of a 10 s generation and
// wants a valid WAV of the samples generated so far, and context.Canceled.
func TestGenerateInterrupted(t *testing.T) {
	dir, _ := genTestModel(t, false)
	out := filepath.Join(t.TempDir(), "out.wav")
	ctx := &countdownCtx{Context: context.Background()}
	// One Err call while loading the checkpoint, one before writing the
	// WAV header, then one before writing each chunk: two chunks get out.
	ctx.n.Store(4)
	_, _, err := runCmd(ctx, runGenerate, "--model", dir, "--seconds", "10", "--out", out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted generate = %v, want context.Canceled", err)
	}
	c := readWAV(t, out)
	if c.Frames() == 0 || c.Frames()%genChunk != 0 || c.Frames() >= 80000 {
		t.Errorf("interrupted generate wrote %d frames, want a positive multiple of %d below 80000", c.Frames(), genChunk)
	}
}

// TestDefaultConditions: a condition the flags leave out takes its first
// value, the service's rule (synth.ResolveConditions), and the commands
// say which conditions they used.
func TestDefaultConditions(t *testing.T) {
	dir, _ := genTestModel(t, true) // speaker (alice, bob) and digit (0-9)
	out := filepath.Join(t.TempDir(), "out.wav")
	for _, tc := range []struct {
		run  func(context.Context, *Env, []string) error
		args []string
		want string // in stderr
	}{
		{runGenerate, []string{"--model", dir, "--out", out, "--speaker", "bob", "--seconds", "0.05"}, "generate: conditions speaker=bob,digit=0, seed 1"},
		{runGenerate, []string{"--model", dir, "--out", out, "--label", "7", "--seconds", "0.05"}, "generate: conditions speaker=alice,digit=7, seed 1"},
		{runSay, []string{"4", "--model", dir, "--out", out, "--candidates", "1", "--guidance", "0"}, "say: conditions speaker=alice,digit=text, seed 1"},
	} {
		_, stderr, err := runCmd(context.Background(), tc.run, tc.args...)
		if err != nil || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v = %v, stderr %q; want success and %q", tc.args, err, stderr, tc.want)
		}
	}
}
