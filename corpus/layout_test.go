package corpus

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/mulaw"
)

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func load(t testing.TB, path string, o Options) *Corpus {
	t.Helper()
	c, err := Load(context.Background(), path, o)
	if err != nil {
		t.Fatalf("Load(%s, %+v): %v", path, o, err)
	}
	return c
}

func labelsOf(c *Corpus, label string) []string {
	var v []string
	for _, u := range c.All() {
		v = append(v, u.Labels[label])
	}
	return v
}

// A folder of gbm_00.wav-like names, one folder per speaker: the pattern
// is matched against the relative path, so folders can be labels.
func TestLoadTreePattern(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"ann/gbm_00.wav", "ann/gbm_01.wav", "bob/gbm_00.wav", "bob/deep/gbm_07.wav", "bob/notes.wav"} {
		writeWAV(t, filepath.Join(dir, n), speech(8000, 440), 8000)
	}
	c := load(t, dir, Options{Pattern: `^(?P<speaker>[a-z]+)/(?:.*/)?gbm_(?P<take>\d+)\.wav$`, Split: Split{None: true}})
	if c.Layout != Tree {
		t.Errorf("Layout = %q, want tree", c.Layout)
	}
	if got, want := names(c.Train), []string{"ann/gbm_00.wav", "ann/gbm_01.wav", "bob/deep/gbm_07.wav", "bob/gbm_00.wav"}; !slices.Equal(got, want) {
		t.Errorf("Train = %v, want %v", got, want)
	}
	if got, want := labelsOf(c, "speaker"), []string{"ann", "ann", "bob", "bob"}; !slices.Equal(got, want) {
		t.Errorf("speakers = %v, want %v", got, want)
	}
	if got, want := c.Vocab["take"], []string{"00", "01", "07"}; !slices.Equal(got, want) {
		t.Errorf("Vocab[take] = %v, want %v", got, want)
	}
	if !slices.Equal(c.Unmatched, []string{"bob/notes.wav"}) {
		t.Errorf("Unmatched = %v, want [bob/notes.wav]", c.Unmatched)
	}
	// The default FSDD pattern reads none of them, and says what to do.
	if _, err := Load(context.Background(), dir, Options{}); err == nil || !strings.Contains(err.Error(), "none of the 5 audio files") || !strings.Contains(err.Error(), "--pattern") {
		t.Errorf("Load(FSDD pattern on gbm_NN.wav) error %v, want one that asks for a pattern", err)
	}
}

// testdata/vctk was made with sox and flac: p225 holds two 0.2 s 16 kHz
// 16-bit stereo files, p226 one 0.2 s 48 kHz 24-bit mono file.
func TestLoadVCTKFolders(t *testing.T) {
	c := load(t, filepath.Join("testdata", "vctk"), Options{SpeakerFromFolder: true, SampleRate: 16000, Split: Split{None: true}})
	if got, want := names(c.Train), []string{"p225/p225_001.flac", "p225/p225_002.flac", "p226/p226_001.flac"}; !slices.Equal(got, want) {
		t.Fatalf("Train = %v, want %v", got, want)
	}
	if got, want := c.Vocab["speaker"], []string{"p225", "p226"}; !slices.Equal(got, want) {
		t.Errorf("Vocab[speaker] = %v, want %v", got, want)
	}
	if c.SampleRate != 16000 {
		t.Errorf("SampleRate = %d, want 16000", c.SampleRate)
	}
	for i, want := range []audio.Format{
		{SampleRate: 16000, Channels: 2, BitDepth: 16},
		{SampleRate: 16000, Channels: 2, BitDepth: 16},
		{SampleRate: 48000, Channels: 1, BitDepth: 24},
	} {
		u := c.Train[i]
		if u.Source.Format != want || u.Source.Container != audio.FLAC {
			t.Errorf("%s: source %v (%s), want %v (flac)", u.Name, u.Source.Format, u.Source.Container, want)
		}
		// 0.2 s at 16 kHz, the 48 kHz file resampled: 3200 codes, +-1
		// for the resampler's rounding of the length.
		if n := len(u.Codes); n < 3199 || n > 3201 {
			t.Errorf("%s: %d codes, want 3200", u.Name, n)
		}
	}
	in := Inspect(c, InspectOptions{})
	var b strings.Builder
	if err := in.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"16-bit FLAC, 2 ch: 2", "24-bit FLAC, 1 ch: 1", "speaker from first-level folders", "3 .flac: 3 read", "48000 Hz: 1"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("Inspect(vctk).WriteText lacks %q:\n%s", s, b.String())
		}
	}
}

func TestLoadLJSpeech(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, MetadataFile), "LJ001-0001|Printing, in the 1st sense|Printing, in the first sense\n"+
		"LJ001-0002|in being comparatively modern.|in being comparatively modern.\r\n\nLJ001-0003|missing audio|missing audio\n")
	writeWAV(t, filepath.Join(dir, "wavs", "LJ001-0001.wav"), speech(22050, 440), 22050)
	writeWAV(t, filepath.Join(dir, "wavs", "LJ001-0002.wav"), speech(22050, 330), 22050)
	for _, path := range []string{dir, filepath.Join(dir, MetadataFile)} {
		c := load(t, path, Options{Split: Split{None: true}})
		if c.Layout != LJSpeech {
			t.Errorf("Load(%s).Layout = %q, want ljspeech", path, c.Layout)
		}
		if got, want := names(c.Train), []string{"wavs/LJ001-0001.wav", "wavs/LJ001-0002.wav"}; !slices.Equal(got, want) {
			t.Errorf("Load(%s).Train = %v, want %v", path, got, want)
		}
		if len(c.Train) > 0 && c.Train[0].Text != "Printing, in the first sense" {
			t.Errorf("Load(%s): text %q, want the normalized column", path, c.Train[0].Text)
		}
		if len(c.Failed) != 1 || c.Failed[0].Name != "wavs/LJ001-0003.wav" || !os.IsNotExist(c.Failed[0].Err) {
			t.Errorf("Load(%s).Failed = %v, want the missing LJ001-0003", path, c.Failed)
		}
	}
}

func TestLoadManifests(t *testing.T) {
	dir := t.TempDir()
	x := speech(16000, 440)
	writeWAV(t, filepath.Join(dir, "audio", "a.wav"), x, 16000)
	// b.wav is stereo: x on the left, silence on the right; the mixdown is x/2.
	st := &audio.Clip{Format: audio.Format{SampleRate: 16000, Channels: 2}, Samples: make([]float32, 2*len(x))}
	half := make([]float32, len(x))
	for i, v := range x {
		st.Samples[2*i] = v
		half[i] = v / 2
	}
	var buf bytes.Buffer
	if err := audio.EncodeClip(&buf, st, audio.Float32); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "audio", "b.wav"), buf.String())
	writeWAV(t, filepath.Join(dir, "audio", "half.wav"), half, 16000)

	writeFile(t, filepath.Join(dir, "list.csv"), "path,speaker,text,session\naudio/a.wav,ann,\"hello, world\",1\naudio/b.wav,bob,hi,2\n")
	writeFile(t, filepath.Join(dir, "list.jsonl"), `{"path": "audio/a.wav", "speaker": "ann", "session": 1, "text": "hello, world"}`+"\n\n"+
		`{"path": "audio/b.wav", "speaker": "bob", "session": 2, "text": "hi", "note": null}`+"\n")
	for _, name := range []string{"list.csv", "list.jsonl"} {
		c := load(t, filepath.Join(dir, name), Options{Split: Split{None: true}})
		if c.Layout != Manifest {
			t.Errorf("Load(%s).Layout = %q, want manifest", name, c.Layout)
		}
		if got, want := names(c.Train), []string{"audio/a.wav", "audio/b.wav"}; !slices.Equal(got, want) {
			t.Fatalf("Load(%s).Train = %v, want %v", name, got, want)
		}
		if got, want := labelsOf(c, "speaker"), []string{"ann", "bob"}; !slices.Equal(got, want) {
			t.Errorf("Load(%s) speakers = %v, want %v", name, got, want)
		}
		if got, want := labelsOf(c, "session"), []string{"1", "2"}; !slices.Equal(got, want) {
			t.Errorf("Load(%s) sessions = %v, want %v", name, got, want)
		}
		if slices.Contains(c.LabelNames, "text") || c.Train[0].Text != "hello, world" {
			t.Errorf("Load(%s): labels %v, text %q; want text kept apart", name, c.LabelNames, c.Train[0].Text)
		}
		b := c.Train[1]
		if b.Source.Format.Channels != 2 {
			t.Errorf("Load(%s) b.wav source %v, want 2 channels", name, b.Source.Format)
		}
		// Mixdown to mono, then mu-law: the same codes as the mono file of
		// x/2, but for float32 vs 16-bit quantisation (at most one code).
		want := mulaw.Encode(nil, half, DefaultLevels)
		if len(b.Codes) != len(want) {
			t.Fatalf("Load(%s) b.wav: %d codes, want %d", name, len(b.Codes), len(want))
		}
		for i := range want {
			if d := b.Codes[i] - want[i]; d < -1 || d > 1 {
				t.Fatalf("Load(%s) b.wav code %d = %d, want %d (+-1)", name, i, b.Codes[i], want[i])
			}
		}
	}
}

// A 16 kHz and a 22.05 kHz corpus both load at the model's 8 kHz: 0.5 s
// each gives 4000 codes (+-1 for the resampler's length rounding).
func TestLoadResamples(t *testing.T) {
	for _, rate := range []int{16000, 22050} {
		dir := t.TempDir()
		writeWAV(t, filepath.Join(dir, "0_ann_1.wav"), speech(rate, 440), rate)
		c := load(t, dir, Options{SampleRate: 8000})
		u := c.All()[0]
		if n := len(u.Codes); n < 3999 || n > 4001 || c.SampleRate != 8000 || u.Source.Format.SampleRate != rate {
			t.Errorf("Load(%d Hz corpus at 8000): %d codes, corpus %d Hz, source %d Hz; want 4000, 8000, %d", rate, n, c.SampleRate, u.Source.Format.SampleRate, rate)
		}
	}
}

func TestLayoutErrors(t *testing.T) {
	dir := t.TempDir()
	writeWAV(t, filepath.Join(dir, "a.wav"), speech(8000, 440), 8000)
	writeFile(t, filepath.Join(dir, "nopath.csv"), "file,speaker\na.wav,ann\n")
	writeFile(t, filepath.Join(dir, "bad.jsonl"), `{"path": "a.wav"}`+"\n"+`{"path": "a.wav", "speaker": ["x"]}`+"\n")
	writeFile(t, filepath.Join(dir, "trunc.jsonl"), `{"path": "a.wav"`+"\n")
	writeFile(t, filepath.Join(dir, "empty.csv"), "path,speaker\n")
	good := filepath.Join(dir, "good.csv")
	writeFile(t, good, "path\na.wav\n")
	for _, tc := range []struct {
		path string
		o    Options
		want string // part of the message that says how to fix it
	}{
		{filepath.Join(dir, "missing"), Options{}, "want a directory of audio files"},
		{dir, Options{Layout: Manifest}, "give its path"},
		{good, Options{Layout: Tree}, "--layout manifest"},
		{dir, Options{Layout: LJSpeech}, "directory with metadata.csv"},
		{good, Options{Pattern: `^(?P<x>.)`}, "folder trees only"},
		{filepath.Join(dir, "nopath.csv"), Options{}, `no "path" column`},
		{filepath.Join(dir, "bad.jsonl"), Options{}, "line 2"},
		{filepath.Join(dir, "trunc.jsonl"), Options{}, "one JSON object per line"},
		{filepath.Join(dir, "empty.csv"), Options{}, "lists no files"},
		{good, Options{Split: Split{Label: "speaker", Values: []string{"a"}}}, "not a label of the manifest corpus"},
	} {
		_, err := Load(context.Background(), tc.path, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "corpus: ") {
			t.Errorf("Load(%s, %+v) error %v, want one with %q", filepath.Base(tc.path), tc.o, err, tc.want)
		}
	}
	if c := load(t, good, Options{}); len(c.All()) != 1 {
		t.Errorf("Load(good.csv) read %d files, want 1", len(c.All()))
	}
}

func TestParseLayout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Layout
		ok   bool
	}{
		{"", Auto, true}, {"auto", Auto, true}, {"tree", Tree, true}, {"LJSpeech", LJSpeech, true},
		{"manifest", Manifest, true}, {"vctk", Auto, false},
	} {
		got, err := ParseLayout(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseLayout(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FSDD names read as .flac too, with extensions in any case (the VCTK
// fixture's FLAC copied under FSDD names).
func TestFSDDPatternFLAC(t *testing.T) {
	dir := t.TempDir()
	flac, err := os.ReadFile(filepath.Join("testdata", "vctk", "p225", "p225_001.flac"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "0_bob_1.flac"), string(flac))
	writeFile(t, filepath.Join(dir, "1_ann_6.FLAC"), string(flac))
	writeWAV(t, filepath.Join(dir, "2_ann_7.WAV"), speech(8000, 440), 8000)
	c := load(t, dir, Options{})
	if got, want := names(c.All()), []string{"0_bob_1.flac", "1_ann_6.FLAC", "2_ann_7.WAV"}; !slices.Equal(got, want) || len(c.Unmatched) > 0 {
		t.Errorf("Load(FSDD-named .flac, .FLAC, .WAV) = %v (unmatched %v), want %v", got, want, c.Unmatched)
	}
}

// FSDD names take speakers of either case (0_George_5.wav), as the
// classifier's loader always read them; the index stays digits.
func TestFSDDPatternSpeakerCase(t *testing.T) {
	re := regexp.MustCompile(FSDDPattern)
	for _, tc := range []struct {
		name, speaker string
	}{
		{"0_george_5.wav", "george"},
		{"0_George_5.wav", "George"},
		{"9_JACKSON_49.flac", "JACKSON"},
		{"0_george_x.wav", ""},
		{"0_geo7ge_5.wav", ""},
		{"10_george_5.wav", ""},
	} {
		got := ""
		if m := re.FindStringSubmatch(tc.name); m != nil {
			got = m[re.SubexpIndex("speaker")]
		}
		if got != tc.speaker {
			t.Errorf("FSDDPattern on %q: speaker %q, want %q (empty: no match)", tc.name, got, tc.speaker)
		}
	}
}

// List lists what Load loads, with the same split, without reading audio;
// Require names a missing label and how the layout gives it.
func TestListRequire(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"0_ann_1.wav", "1_ann_6.wav", "2_bob_7.wav"} {
		writeWAV(t, filepath.Join(dir, n), speech(8000, 440), 8000)
	}
	writeFile(t, filepath.Join(dir, "broken.wav"), "not audio") // listed as unmatched, never read
	l, err := List(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := load(t, dir, Options{})
	var got, want []string
	for _, f := range l.Files {
		got = append(got, fmt.Sprintf("%s val=%v digit=%s", f.Name, f.Validation, f.Labels["digit"]))
	}
	for _, u := range c.All() {
		want = append(want, fmt.Sprintf("%s val=%v digit=%s", u.Name, u.Validation, u.Labels["digit"]))
	}
	if !slices.Equal(got, want) || l.Split.String() != c.Split.String() || !slices.Equal(l.Unmatched, []string{"broken.wav"}) {
		t.Errorf("List = %v (split %s, unmatched %v), want Load's %v (split %s, unmatched [broken.wav])", got, l.Split, l.Unmatched, want, c.Split)
	}
	if err := l.Require("digit", "speaker"); err != nil {
		t.Errorf("Require(digit, speaker) of FSDD names = %v, want nil", err)
	}
	manifest := filepath.Join(dir, "list.csv")
	writeFile(t, manifest, "path,speaker\n0_ann_1.wav,ann\n")
	lj := filepath.Join(t.TempDir(), "lj")
	writeFile(t, filepath.Join(lj, MetadataFile), "a|hello|hello\n")
	for _, tc := range []struct {
		path, pattern string
		want          []string
	}{
		{dir, `^(?P<speaker>[a-z]+)\.wav$|_(?P<who>[a-z]+)_`, []string{`has no "digit" label (its labels: speaker, who)`, "--pattern with a group (?P<digit>...)", `a "digit" column`}},
		{manifest, "", []string{`has no "digit" label (its labels: speaker)`, `add a "digit" column`}},
		{lj, "", []string{`has no "digit" label (its labels: none)`, "LJSpeech corpus has no labels"}},
	} {
		l, err := List(context.Background(), tc.path, Options{Pattern: tc.pattern})
		if err != nil {
			t.Fatalf("List(%s): %v", tc.path, err)
		}
		err = l.Require("digit", "speaker")
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("List(%s).Require(digit, speaker) = %v, want an error containing %q", tc.path, err, w)
			}
		}
	}
}
