package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// vocTestModel saves a random 8 kHz vocoder (8 mels, hop 16 = 4 x 4,
// n_fft 64) and returns its directory.
func vocTestModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "voc")
	if err := wavenet.Save(context.Background(), dir, wavenettest.Vocoder(t, 4), nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// vocInputs writes the inputs of the vocode tests into a new directory:
// 20 random frames as frames.npy (frames x mels), transposed.npy (mels x
// frames) and jframes.json, and a 0.1 s tone, tone.wav.
func vocInputs(t *testing.T) (dir string, frames [][]float32) {
	t.Helper()
	dir = t.TempDir()
	rng := rand.New(rand.NewPCG(8, 1))
	flat := make([]float32, 20*8)
	tr := make([]float32, len(flat))
	frames = make([][]float32, 20)
	for f := range frames {
		frames[f] = flat[f*8 : (f+1)*8]
		for k := range frames[f] {
			v := float32(rng.NormFloat64() - 4) // log-mel values around log(0.02)
			frames[f][k], tr[k*20+f] = v, v
		}
	}
	var b bytes.Buffer
	if err := audio.EncodeNPY(&b, flat, 20, 8); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("frames.npy", b.Bytes())
	b.Reset()
	if err := audio.EncodeNPY(&b, tr, 8, 20); err != nil {
		t.Fatal(err)
	}
	write("transposed.npy", b.Bytes())
	js, _ := json.Marshal(map[string]any{"mels": frames})
	write("jframes.json", js)
	writeSine(t, filepath.Join(dir, "tone.wav"), 8000, 800)
	return dir, frames
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVocodeCLI: many inputs with --out-dir give one file each under the
// input's base name; the same frames as .npy (either layout) and .json
// give the same bytes, frames*hop samples long.
func TestVocodeCLI(t *testing.T) {
	model := vocTestModel(t)
	in, _ := vocInputs(t)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"--model", model, "--out-dir", out, "--seed", "3", filepath.Join(in, "frames.npy"), filepath.Join(in, "jframes.json"), filepath.Join(in, "tone.wav")}
	if _, stderr, err := runCmd(context.Background(), runVocode, args...); err != nil {
		t.Fatalf("vocode %v: %v\n%s", args, err, stderr)
	}
	npy, js := readFile(t, filepath.Join(out, "frames.wav")), readFile(t, filepath.Join(out, "jframes.wav"))
	tr := filepath.Join(t.TempDir(), "t.wav")
	if _, stderr, err := runCmd(context.Background(), runVocode, "--model", model, "--out", tr, "--seed", "3", "--layout", "mels-by-frames", filepath.Join(in, "transposed.npy")); err != nil {
		t.Fatalf("vocode transposed: %v\n%s", err, stderr)
	}
	if !bytes.Equal(npy, js) || !bytes.Equal(npy, readFile(t, tr)) {
		t.Errorf("the same frames as .npy, .json and transposed .npy gave different audio")
	}
	if c := readWAV(t, filepath.Join(out, "frames.wav")); len(c.Samples) != 20*16 {
		t.Errorf("20 frames of hop 16 gave %d samples, want 320", len(c.Samples))
	}
	// A 0.1 s tone: 1 + 800/16 = 51 centred frames, 816 samples.
	if c := readWAV(t, filepath.Join(out, "tone.wav")); len(c.Samples) != 51*16 {
		t.Errorf("copy synthesis of 800 samples gave %d samples, want 51 frames x 16 = 816", len(c.Samples))
	}
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{filepath.Join(in, "frames.npy")}, "--out FILE"},
		{[]string{"--out", "x.wav", filepath.Join(in, "frames.npy"), filepath.Join(in, "jframes.json")}, "--out-dir"},
		{[]string{"--out-dir", t.TempDir(), filepath.Join(in, "frames.npy"), filepath.Join(in, "transposed.npy"), filepath.Join(t.TempDir(), "frames.json")}, "same output"},
		{[]string{"--out", "x.wav", "--layout", "sideways", filepath.Join(in, "frames.npy")}, "--layout"},
		{[]string{"--out", "x.wav", "--temperature", "0", filepath.Join(in, "frames.npy")}, "--temperature"},
		{[]string{"--out", "x.wav", "--temperature", "-1", filepath.Join(in, "frames.npy")}, "--temperature"},
		{[]string{"--out", filepath.Join(in, "x.wav"), "--layout", "mels-by-frames", filepath.Join(in, "frames.npy")}, "frame 0 has 20 values"},
	} {
		_, _, err := runCmd(context.Background(), runVocode, append([]string{"--model", model}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.say) {
			t.Errorf("vocode %v = %v, want an error saying %q", c.args, err, c.say)
		}
	}
}

// TestVocodeParity: POST /v1/vocode (JSON mels, .npy upload, WAV upload;
// whole and streamed) returns the bytes `wavenet vocode` writes, for both
// methods, two formats and two rates (streamed WAVs: sizes copied as in
// TestParity).
func TestVocodeParity(t *testing.T) {
	model := vocTestModel(t)
	in, frames := vocInputs(t)
	ts := apiServer(t, filepath.Dir(model))
	post := func(query, ctype string, body []byte) []byte {
		t.Helper()
		return postOK(t, ts.URL+"/v1/vocode"+query, ctype, body)
	}
	for _, method := range []string{"wavenet", "griffin-lim"} {
		for _, format := range []string{"wav", "pcm16"} {
			for _, rate := range []int{8000, 16000} {
				flags := []string{"--model", model, "--seed", "5", "--method", method, "--format", format, "--rate", fmt.Sprint(rate)}
				cli := func(input string) []byte {
					t.Helper()
					out := filepath.Join(t.TempDir(), "out")
					if _, stderr, err := runCmd(context.Background(), runVocode, append(flags, "--out", out, filepath.Join(in, input))...); err != nil {
						t.Fatalf("vocode %v %s: %v\n%s", flags, input, err, stderr)
					}
					return readFile(t, out)
				}
				mels, tone := cli("frames.npy"), cli("tone.wav")
				for _, stream := range []bool{false, true} {
					q := fmt.Sprintf("?seed=5&method=%s&format=%s&sample_rate=%d&stream=%v", method, format, rate, stream)
					js, _ := json.Marshal(map[string]any{"mels": frames, "seed": 5, "method": method, "format": format, "sample_rate": rate, "stream": stream})
					for _, c := range []struct {
						name string
						got  []byte
						want []byte
					}{
						{"json", post("", "application/json", js), mels},
						{"npy", post(q, "application/x-npy", readFile(t, filepath.Join(in, "frames.npy"))), mels},
						{"wav", post(q, "audio/wav", readFile(t, filepath.Join(in, "tone.wav"))), tone},
					} {
						got := c.got
						if format == "wav" && stream && len(got) >= 44 && len(c.want) >= 44 {
							copy(got[4:8], c.want[4:8])
							copy(got[40:44], c.want[40:44])
						}
						if len(c.want) < 600 || !bytes.Equal(got, c.want) {
							t.Errorf("%s %s %s %d Hz stream %v: %d bytes from the API, %d from the CLI, or different bytes", c.name, method, format, rate, stream, len(got), len(c.want))
						}
					}
				}
			}
		}
	}
	// --temperature is the API's "temperature": the same bytes, and not
	// those of temperature 1.
	out := filepath.Join(t.TempDir(), "cold.wav")
	if _, stderr, err := runCmd(context.Background(), runVocode, "--model", model, "--seed", "5", "--temperature", "0.5", "--out", out, filepath.Join(in, "frames.npy")); err != nil {
		t.Fatalf("vocode --temperature 0.5: %v\n%s", err, stderr)
	}
	js, _ := json.Marshal(map[string]any{"mels": frames, "seed": 5, "temperature": 0.5})
	js1, _ := json.Marshal(map[string]any{"mels": frames, "seed": 5})
	cold, api := readFile(t, out), post("", "application/json", js)
	if !bytes.Equal(cold, api) || bytes.Equal(cold, post("", "application/json", js1)) {
		t.Errorf("vocode --temperature 0.5 (%d bytes) differs from the API's temperature 0.5 (%d bytes), or equals temperature 1", len(cold), len(api))
	}
}

// TestVocodeEmbedded: without --model, vocode copy-synthesises with the
// embedded vocoder, at its rate, one hop of samples per centred frame.
func TestVocodeEmbedded(t *testing.T) {
	if !models.Has(models.VocoderID) {
		t.Skip("no vocoder embedded")
	}
	in, _ := vocInputs(t)
	out := filepath.Join(t.TempDir(), "tone.wav")
	if _, stderr, err := runCmd(context.Background(), runVocode, "--out", out, filepath.Join(in, "tone.wav")); err != nil {
		t.Fatalf("vocode without --model: %v\n%s", err, stderr)
	}
	m, err := wavenet.LoadFS(models.FS(), models.VocoderID)
	if err != nil {
		t.Fatal(err)
	}
	lc := m.Config.Local
	frames := 1 + 800/lc.Hop // centred frames of the 0.1 s tone at 8 kHz
	c := readWAV(t, out)
	if c.Format.SampleRate != m.Config.SampleRate || len(c.Samples) != frames*lc.Hop {
		t.Errorf("vocode without --model: %d samples at %d Hz, want %d at %d", len(c.Samples), c.Format.SampleRate, frames*lc.Hop, m.Config.SampleRate)
	}
}

// TestVocodeGriffinLimMany: more Griffin-Lim inputs than the engine runs
// at once (one per core) wait their turn instead of failing busy.
func TestVocodeGriffinLimMany(t *testing.T) {
	model := vocTestModel(t)
	in, _ := vocInputs(t)
	n := 2*runtime.GOMAXPROCS(0) + 2
	var args []string
	for i := range n {
		name := filepath.Join(in, fmt.Sprintf("tone%d.wav", i))
		if err := os.WriteFile(name, readFile(t, filepath.Join(in, "tone.wav")), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, name)
	}
	out := t.TempDir()
	if _, stderr, err := runCmd(context.Background(), runVocode, append([]string{"--model", model, "--method", "griffin-lim", "--out-dir", out}, args...)...); err != nil {
		t.Fatalf("vocode --method griffin-lim of %d inputs: %v\n%s", n, err, stderr)
	}
	for i := range n {
		if c := readWAV(t, filepath.Join(out, fmt.Sprintf("tone%d.wav", i))); len(c.Samples) != 51*16 {
			t.Errorf("tone%d.wav: %d samples, want 816", i, len(c.Samples))
		}
	}
}

// vocSpeakerModel saves the test vocoder's configuration conditioned on a
// speaker (ann, bob), with random weights, and returns its directory.
func vocSpeakerModel(t *testing.T) string {
	t.Helper()
	cfg := wavenettest.Vocoder(t, 4).Config
	cfg.Conditions = []wavenet.Condition{{Name: "speaker", Values: []string{"ann", "bob"}}}
	m, err := wavenet.NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 2))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32(rng.Float64() - 0.5)
		}
	}
	dir := filepath.Join(t.TempDir(), "spk")
	if err := wavenet.Save(context.Background(), dir, m, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestVocodeSpeaker: inputs may come before the flags (the README's
// `wavenet vocode IN.wav --out out.wav`); --speaker and --cond pick a
// vocoder's global condition (the API's "speaker" gives the same bytes),
// no flag takes the first value and says so, and an unknown value is a
// usage error listing the model's values. Request errors name flags, not
// JSON fields.
func TestVocodeSpeaker(t *testing.T) {
	model := vocSpeakerModel(t)
	in, frames := vocInputs(t)
	npy := filepath.Join(in, "frames.npy")
	vocode := func(args ...string) ([]byte, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out.wav")
		args = append([]string{npy, "--out", out, "--model", model, "--seed", "2"}, args...)
		_, stderr, err := runCmd(context.Background(), runVocode, args...)
		if err != nil {
			t.Fatalf("vocode %v: %v\n%s", args, err, stderr)
		}
		return readFile(t, out), stderr
	}
	ann, stderr := vocode("--speaker", "ann")
	bob, _ := vocode("--speaker", "bob")
	cond, _ := vocode("--cond", "speaker=bob")
	none, noneErr := vocode()
	if bytes.Equal(ann, bob) || !bytes.Equal(bob, cond) || !bytes.Equal(none, ann) {
		t.Errorf("vocode --speaker ann / bob / --cond speaker=bob / none: want ann != bob, bob = --cond speaker=bob, none = ann (the first value)")
	}
	if !strings.Contains(stderr, "conditions speaker=ann") || !strings.Contains(noneErr, "conditions speaker=ann") {
		t.Errorf("vocode stderr does not report the condition used:\n%s\n%s", stderr, noneErr)
	}
	ts := apiServer(t, filepath.Dir(model))
	js, _ := json.Marshal(map[string]any{"mels": frames, "seed": 2, "speaker": "bob"})
	if api := postOK(t, ts.URL+"/v1/vocode", "application/json", js); !bytes.Equal(api, bob) {
		t.Errorf("POST /v1/vocode speaker bob (%d bytes) differs from vocode --speaker bob (%d bytes)", len(api), len(bob))
	}
	for _, c := range []struct {
		model string
		args  []string
		want  []string
	}{
		{model, []string{"--speaker", "zed"}, []string{"--speaker", `unknown speaker "zed"`, "ann, bob"}},
		{model, []string{"--cond", "speaker=zed"}, []string{"--speaker", "ann, bob"}},
		{model, []string{"--cond", "accent=x"}, []string{"--cond: model ", `has no condition "accent"`}},
		{vocTestModel(t), []string{"--speaker", "ann"}, []string{"--speaker: model", "no speaker condition"}},
		{model, []string{"--format", "mp3"}, []string{`--format is "mp3"`}},
		{model, []string{"--rate", "5"}, []string{"--rate is 5"}},
	} {
		args := append([]string{npy, "--out", filepath.Join(t.TempDir(), "x.wav"), "--model", c.model}, c.args...)
		_, _, err := runCmd(context.Background(), runVocode, args...)
		if !errors.Is(err, ErrUsage) || strings.Contains(err.Error(), "field") {
			t.Errorf("vocode %v = %v, want a usage error naming flags, not fields", c.args, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("vocode %v = %v, want an error containing %q", c.args, err, w)
			}
		}
	}
}
