package corpus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/wavenet"
)

func writeWAV(t testing.TB, path string, x []float32, rate int) {
	t.Helper()
	var buf bytes.Buffer
	if err := audio.Encode(&buf, x, rate, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// speech is a 0.5 s "utterance": 0.1 s silence, 0.3 s of a tone, 0.1 s
// silence.
func speech(rate int, freq float64) []float32 {
	x := make([]float32, rate/2)
	for i := rate / 10; i < 4*rate/10; i++ {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

// fixture writes a small FSDD-like directory and returns its path:
// digits 0-2, speakers ann and bob, indices 3, 5 and 12 (5 is validation
// under FSDDSplit), one 16 kHz file, one silent file, one truncated file,
// one name that does not match, and a file in a subdirectory.
func fixture(t testing.TB) string {
	dir := t.TempDir()
	for _, d := range []int{0, 1, 2} {
		for _, s := range []string{"ann", "bob"} {
			for _, i := range []int{3, 5, 12} {
				writeWAV(t, filepath.Join(dir, fmt.Sprintf("%d_%s_%d.wav", d, s, i)), speech(8000, 300+100*float64(d)), 8000)
			}
		}
	}
	writeWAV(t, filepath.Join(dir, "sub", "3_cat_13.wav"), speech(16000, 500), 16000)
	writeWAV(t, filepath.Join(dir, "4_dan_1.wav"), make([]float32, 4000), 8000) // silent
	var buf bytes.Buffer
	audio.Encode(&buf, speech(8000, 200), 8000, audio.PCM16)
	os.WriteFile(filepath.Join(dir, "5_eve_2.wav"), buf.Bytes()[:500], 0o644) // truncated
	writeWAV(t, filepath.Join(dir, "notes.wav"), speech(8000, 200), 8000)     // no match
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("not audio"), 0o644)
	return dir
}

func names(utts []*Utterance) []string {
	var n []string
	for _, u := range utts {
		n = append(n, u.Name)
	}
	return n
}

func TestLoad(t *testing.T) {
	dir := fixture(t)
	c, err := Load(context.Background(), dir, Options{SampleRate: 8000, Trim: true, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(c.Train), 3*2*2+1; got != want {
		t.Errorf("Load: %d training utterances %v, want %d", got, names(c.Train), want)
	}
	if got, want := len(c.Validation), 3*2; got != want {
		t.Errorf("Load: %d validation utterances %v, want %d (index 5)", got, names(c.Validation), want)
	}
	for _, u := range c.Validation {
		if u.Labels["index"] != "5" || !u.Validation {
			t.Errorf("validation utterance %s has labels %v", u.Name, u.Labels)
		}
	}
	if !slices.IsSortedFunc(c.Train, func(a, b *Utterance) int { return cmpString(a.Name, b.Name) }) {
		t.Errorf("Train not sorted by name: %v", names(c.Train))
	}
	wantVocab := map[string][]string{
		"digit":   {"0", "1", "2", "3"},
		"speaker": {"ann", "bob", "cat"},
		"index":   {"3", "5", "12", "13"}, // numeric order
	}
	for k, v := range wantVocab {
		if !slices.Equal(c.Vocab[k], v) {
			t.Errorf("Vocab[%s] = %v, want %v", k, c.Vocab[k], v)
		}
	}
	if !slices.Equal(c.LabelNames, []string{"digit", "speaker", "index"}) {
		t.Errorf("LabelNames = %v, want [digit speaker index]", c.LabelNames)
	}
	if len(c.Silent) != 1 || c.Silent[0].Name != "4_dan_1.wav" || !errors.Is(c.Silent[0].Err, ErrSilent) {
		t.Errorf("Silent = %v, want [4_dan_1.wav: silent]", c.Silent)
	}
	var fe *audio.FormatError
	if len(c.Failed) != 1 || c.Failed[0].Name != "5_eve_2.wav" || !errors.As(c.Failed[0].Err, &fe) || fe.Problem != audio.Truncated {
		t.Errorf("Failed = %v, want [5_eve_2.wav: truncated]", c.Failed)
	}
	if !slices.Equal(c.Unmatched, []string{"notes.wav"}) {
		t.Errorf("Unmatched = %v, want [notes.wav]", c.Unmatched)
	}
	if c.SampleRate != 8000 || c.Levels != 256 {
		t.Errorf("SampleRate, Levels = %d, %d; want 8000, 256", c.SampleRate, c.Levels)
	}
	for _, u := range c.All() {
		// Trimming keeps the 0.3 s tone (2400 samples at 8 kHz) to within a
		// 20 ms frame (160 samples) on each side.
		if n := len(u.Codes); n < 2400 || n > 2400+2*160 {
			t.Errorf("%s: %d codes after trimming, want 2400 to 2720", u.Name, n)
		}
		if u.Source.SilentFraction < 0.3 || u.Source.SilentFraction > 0.5 {
			t.Errorf("%s: SilentFraction %.2f, want about 0.4", u.Name, u.Source.SilentFraction)
		}
	}
	cat := c.Train[slices.IndexFunc(c.Train, func(u *Utterance) bool { return u.Name == "sub/3_cat_13.wav" })]
	if cat.Source.Format.SampleRate != 16000 || cat.Source.Frames != 8000 {
		t.Errorf("sub/3_cat_13.wav source = %+v, %d frames; want 16 kHz, 8000 frames", cat.Source.Format, cat.Source.Frames)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestLoadCodes(t *testing.T) {
	dir := t.TempDir()
	x := make([]float32, 800)
	for i := range x {
		x[i] = 0.5
	}
	writeWAV(t, filepath.Join(dir, "1_amy_0.wav"), x, 8000)
	for _, q := range []int{256, 1024} {
		c, err := Load(context.Background(), dir, Options{Levels: q})
		if err != nil {
			t.Fatal(err)
		}
		u := c.Train[0]
		// 0.5 stored as 16-bit PCM is round(0.5*32767)/32768.
		want := mulaw.EncodeOne(float32(16384.0/32768), q)
		if len(u.Codes) != 800 || u.Codes[0] != want || u.Codes[799] != want || u.Levels != q {
			t.Errorf("Load(Q=%d) codes = %d codes, [0] = %d, want 800 codes of %d", q, len(u.Codes), u.Codes[0], want)
		}
		if c.Split.String() != "index=5,6,7,8,9" {
			t.Errorf("default split = %s, want index=5,6,7,8,9", c.Split)
		}
	}
	// Resampling 8 kHz to 16 kHz doubles the length; normalisation moves
	// the peak to -1 dBFS.
	c, err := Load(context.Background(), dir, Options{SampleRate: 16000, Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Train[0].Codes); n != 1600 {
		t.Errorf("Load(16 kHz) = %d codes, want 1600", n)
	}
	peak := mulaw.Decode(nil, c.Train[0].Codes, 256)
	if p := audio.Peak(peak); math.Abs(20*math.Log10(float64(p))+1) > 0.2 {
		// 0.2 dB: one mu-law step near full scale is 20*log10(1/0.956) = 0.4 dB wide.
		t.Errorf("Load(Normalize) peak %g = %.2f dBFS, want -1 dBFS +- 0.2", p, 20*math.Log10(float64(p)))
	}
}

func TestLoadErrors(t *testing.T) {
	dir := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, dir, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Load(cancelled) error %v, want context.Canceled", err)
	}
	for _, o := range []Options{
		{Pattern: "("},
		{Levels: 1},
		{SampleRate: -1},
		{Split: Split{Label: "colour", Values: []string{"red"}}},
	} {
		if _, err := Load(context.Background(), dir, o); err == nil {
			t.Errorf("Load(%+v) = nil error, want one", o)
		}
	}
	if _, err := Load(context.Background(), filepath.Join(dir, "missing"), Options{}); err == nil {
		t.Errorf("Load(missing dir) = nil error, want one")
	}
}

func TestCustomPatternAndHashSplit(t *testing.T) {
	dir := t.TempDir()
	for i := range 200 {
		writeWAV(t, filepath.Join(dir, fmt.Sprintf("spk%d-utt%03d.wav", i%4, i)), speech(8000, 440)[:400], 8000)
	}
	c, err := Load(context.Background(), dir, Options{Pattern: `^spk(?P<speaker>\d+)-utt\d+\.wav$`})
	if err != nil {
		t.Fatal(err)
	}
	// Default for a pattern without an index group: hash split, 10 %.
	// FNV-1a over 200 names gives 10 % +- a few: 8 to 40 is far outside
	// the binomial spread (sd 4.2) yet catches "none" or "all".
	if n := len(c.Validation); n < 8 || n > 40 || len(c.Train)+n != 200 {
		t.Errorf("hash split: %d validation of %d, want about 20", n, len(c.Train)+n)
	}
	again, _ := Load(context.Background(), dir, Options{Pattern: `^spk(?P<speaker>\d+)-utt\d+\.wav$`, Workers: 1})
	if !slices.Equal(names(c.Validation), names(again.Validation)) {
		t.Errorf("hash split differs between loads")
	}
	if !slices.Equal(c.Vocab["speaker"], []string{"0", "1", "2", "3"}) {
		t.Errorf("Vocab[speaker] = %v", c.Vocab["speaker"])
	}
}

func TestParseSplit(t *testing.T) {
	tests := []struct {
		in   string
		want Split
		ok   bool
	}{
		{"none", Split{None: true}, true},
		{"hash=10", Split{HashPercent: 10}, true},
		{"index=5-9", FSDDSplit, true},
		{"speaker=jackson,theo", Split{Label: "speaker", Values: []string{"jackson", "theo"}}, true},
		{"index=1,3-4", Split{Label: "index", Values: []string{"1", "3", "4"}}, true},
		{"hash=101", Split{}, false},
		{"hash=x", Split{}, false},
		{"index", Split{}, false},
		{"=5", Split{}, false},
		{"index=9-5", Split{}, false},
	}
	for _, tt := range tests {
		got, err := ParseSplit(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseSplit(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && (got.None != tt.want.None || got.HashPercent != tt.want.HashPercent || got.Label != tt.want.Label || !slices.Equal(got.Values, tt.want.Values)) {
			t.Errorf("ParseSplit(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if tt.ok {
			if back, err := ParseSplit(got.String()); err != nil || back.String() != got.String() {
				t.Errorf("ParseSplit(%q.String() = %q) = %v, %v", tt.in, got.String(), back, err)
			}
		}
	}
}

func TestConditions(t *testing.T) {
	c, err := Load(context.Background(), fixture(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	conds, err := c.Conditions("speaker", "digit")
	if err != nil {
		t.Fatal(err)
	}
	want := []wavenet.Condition{{Name: "speaker", Values: []string{"ann", "bob", "cat", "dan"}}, {Name: "digit", Values: []string{"0", "1", "2", "3", "4"}}}
	for i := range want {
		if conds[i].Name != want[i].Name || !slices.Equal(conds[i].Values, want[i].Values) {
			t.Errorf("Conditions(speaker, digit)[%d] = %+v, want %+v", i, conds[i], want[i])
		}
	}
	u := c.Train[slices.IndexFunc(c.Train, func(u *Utterance) bool { return u.Name == "2_bob_12.wav" })]
	idx, err := u.ConditionIndices(conds)
	if err != nil || !slices.Equal(idx, []int{1, 2}) {
		t.Errorf("ConditionIndices(2_bob_12) = %v, %v; want [1 2]", idx, err)
	}
	if _, err := c.Conditions("colour"); err == nil {
		t.Errorf("Conditions(colour) = nil error, want one")
	}
	if _, err := u.ConditionIndices([]wavenet.Condition{{Name: "speaker", Values: []string{"ann"}}}); err == nil {
		t.Errorf("ConditionIndices(speaker not in vocabulary) = nil error, want one")
	}
	cfg, _ := wavenet.Preset("tiny")
	cfg.Conditions = conds
	if err := cfg.Validate(); err != nil {
		t.Errorf("Config with corpus conditions: %v", err)
	}
}

func testUtts() []*Utterance {
	mk := func(name string, n int, base int32) *Utterance {
		u := &Utterance{Name: name}
		for i := range n {
			u.Codes = append(u.Codes, base+int32(i))
		}
		return u
	}
	// Codes are distinct per utterance (base 0, 1000, 2000) so a segment
	// shows where it came from.
	return []*Utterance{mk("a", 50, 0), mk("b", 7, 1000), mk("c", 300, 2000)}
}

func TestSampler(t *testing.T) {
	utts := testUtts()
	const length, pad = 20, 16
	s := NewSampler(utts, 42)
	seen := map[string]int{}
	for range 3000 {
		seg, u := s.Next(nil, length, pad)
		seen[u.Name]++
		if len(seg) != pad+length {
			t.Fatalf("Next = %d codes, want %d", len(seg), pad+length)
		}
		// The segment is a contiguous run of the utterance, with silence
		// (128) outside it.
		var first = -1
		for j, c := range seg {
			if c == 128 {
				continue
			}
			k := int(c - u.Codes[0])
			if first < 0 {
				first = k - j
			}
			if k < 0 || k >= len(u.Codes) || k-j != first {
				t.Fatalf("Next from %s: code %d at %d breaks the run %v", u.Name, c, j, seg)
			}
		}
		// The window (last length codes) starts inside the utterance.
		if w := seg[pad]; w == 128 {
			t.Fatalf("Next from %s: window starts with silence: %v", u.Name, seg)
		}
		if len(u.Codes) <= length && seg[pad] != u.Codes[0] {
			t.Fatalf("Next from short %s: window %v does not start at its beginning", u.Name, seg[pad:])
		}
	}
	// Uniform over 3 utterances: 1000 each, +- 5 sd (sd = 25.8).
	for _, u := range utts {
		if n := seen[u.Name]; n < 870 || n > 1130 {
			t.Errorf("utterance %s drawn %d times of 3000, want about 1000", u.Name, n)
		}
	}
}

func TestSamplerReproducible(t *testing.T) {
	utts := testUtts()
	a, b := NewSampler(utts, 7), NewSampler(utts, 7)
	for i := range 100 {
		x, _ := a.Next(nil, 10, 5)
		y, _ := b.Next(nil, 10, 5)
		if !slices.Equal(x, y) {
			t.Fatalf("draw %d differs between samplers with the same seed: %v vs %v", i, x, y)
		}
	}
	// Save, draw on, restore into a fresh sampler: the continuation matches.
	st := a.State()
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]int32
	for range 50 {
		x, _ := a.Next(nil, 10, 5)
		want = append(want, x)
	}
	var back SamplerState
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	c := NewSampler(utts, 999)
	if err := c.Restore(back); err != nil {
		t.Fatal(err)
	}
	if back.Draws != 100 {
		t.Errorf("State().Draws = %d, want 100", back.Draws)
	}
	for i := range 50 {
		x, _ := c.Next(nil, 10, 5)
		if !slices.Equal(x, want[i]) {
			t.Fatalf("restored draw %d = %v, want %v", i, x, want[i])
		}
	}
	if err := c.Restore(SamplerState{RNG: []byte("junk")}); err == nil {
		t.Errorf("Restore(junk) = nil error, want one")
	}
	// A different seed gives a different sequence.
	d := NewSampler(utts, 8)
	same := 0
	e := NewSampler(utts, 7)
	for range 20 {
		x, _ := d.Next(nil, 10, 5)
		y, _ := e.Next(nil, 10, 5)
		if slices.Equal(x, y) {
			same++
		}
	}
	if same == 20 {
		t.Errorf("seeds 7 and 8 give the same 20 segments")
	}
	dst := make([]int32, 15)
	if n := testing.AllocsPerRun(20, func() { a.Next(dst, 10, 5) }); n != 0 {
		t.Errorf("Next with capacity allocates %v times, want 0", n)
	}
}

func TestSamplerLevels(t *testing.T) {
	s := NewSampler([]*Utterance{{Name: "x", Codes: []int32{3}}}, 1)
	s.SetLevels(1024)
	seg, _ := s.Next(nil, 2, 2)
	want := []int32{512, 512, 3, 512} // silence of Q=1024 is 512
	if !slices.Equal(seg, want) {
		t.Errorf("Next(SetLevels(1024)) = %v, want %v", seg, want)
	}
	s = NewSampler([]*Utterance{{Name: "y", Codes: []int32{3}, Levels: 65}}, 1)
	seg, _ = s.Next(nil, 1, 1)
	if want := []int32{32, 3}; !slices.Equal(seg, want) { // silence of Q=65 is 32
		t.Errorf("Next(Levels 65) = %v, want %v", seg, want)
	}
}

func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	const files = 100
	x := speech(8000, 440) // 0.5 s
	for i := range files {
		writeWAV(b, filepath.Join(dir, fmt.Sprintf("%d_ann_%d.wav", i%10, i)), x, 8000)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(context.Background(), dir, Options{SampleRate: 16000, Trim: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(files*len(x)*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func TestTrimQuietAndSilent(t *testing.T) {
	dir := t.TempDir()
	quiet := speech(8000, 440)
	for i := range quiet {
		quiet[i] *= 0.01 // peak -46 dBFS, like FSDD's quietest speaker
	}
	writeWAV(t, filepath.Join(dir, "1_amy_0.wav"), quiet, 8000)
	hum := make([]float32, 4000)
	for i := range hum {
		hum[i] = 0.0005 * float32(math.Sin(float64(i))) // -69 dBFS: below the -60 dBFS floor
	}
	writeWAV(t, filepath.Join(dir, "2_amy_0.wav"), hum, 8000)
	c, err := Load(context.Background(), dir, Options{Trim: true})
	if err != nil {
		t.Fatal(err)
	}
	// The quiet file keeps its 0.3 s tone (2400 samples, +- one 160-sample
	// frame each side): the relative rule measures from its loudest frame.
	if len(c.Train) != 1 || len(c.Train[0].Codes) < 2400 || len(c.Train[0].Codes) > 2720 {
		t.Errorf("Load(quiet speech) = %v, want 1_amy_0.wav with 2400 to 2720 codes", names(c.Train))
	}
	if len(c.Silent) != 1 || c.Silent[0].Name != "2_amy_0.wav" {
		t.Errorf("Silent = %v, want [2_amy_0.wav]", c.Silent)
	}
	// Absolute rule only: the quiet file is silent at -40 dBFS.
	c, err = Load(context.Background(), dir, Options{Trim: true, TrimDB: -40, TrimRelDB: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Silent) != 2 {
		t.Errorf("Load(TrimDB -40, no relative rule): Silent = %v, want both files", c.Silent)
	}
}

func TestCompactValues(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"5", "6", "7", "9"}, "5-7, 9"},
		{[]string{"1", "2"}, "1, 2"},
		{[]string{"a", "b", "c"}, "a, b, c"},
		{[]string{"3", "4", "5", "x", "7"}, "3-5, x, 7"},
		{[]string{"-1", "0", "1"}, "-1, 0, 1"}, // no signs: "-1" is not a small integer
	}
	for _, tt := range tests {
		if got := CompactValues(tt.in); got != tt.want {
			t.Errorf("CompactValues(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
