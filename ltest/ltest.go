package ltest

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// Kind is the kind of a listening test.
type Kind string

// The kinds of test.
const (
	KindMOS Kind = "mos" // a 1-5 rating per stimulus
	KindAB  Kind = "ab"  // a preference between two systems per text
)

// The choices of an A/B rating.
const (
	ChoiceA    = "a"
	ChoiceB    = "b"
	ChoiceNone = "none" // no preference (a tie)
)

// Sentinel errors: the REST layer maps them to 404 and 400.
var (
	ErrNotFound = errors.New("ltest: not found")
	ErrInvalid  = errors.New("ltest: invalid")
)

// invalidf returns an error wrapping ErrInvalid whose text says what is
// wrong.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Spec says how to make a test.
type Spec struct {
	Name string
	Kind Kind
	// Models are the systems: served model ids (Create) or subfolders of
	// the folder (CreateFromDir). KindAB takes exactly two.
	Models []string
	// Texts are said by every model (Create); for CreateFromDir they are
	// filled in from the file names.
	Texts []string
	// Seed is the synthesis seed of every stimulus and the seed of the A/B
	// sides.
	Seed uint64
	// Dir is the folder of WAVs of CreateFromDir, recorded in the test.
	Dir string
}

// Stimulus is one thing a listener rates: a (model, text) of a MOS test,
// or the two models' versions of a text of an A/B test (Model is then A's
// and ModelB B's).
type Stimulus struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Model  string `json:"model"`
	ModelB string `json:"model_b,omitempty"`
}

// Test is a stored listening test. Its stimuli's audio is stored beside
// it (Store.Audio).
type Test struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Kind    Kind       `json:"kind"`
	Models  []string   `json:"models"`
	Texts   []string   `json:"texts"`
	Seed    uint64     `json:"seed"`
	Dir     string     `json:"dir,omitempty"`
	Created time.Time  `json:"created"`
	Stimuli []Stimulus `json:"stimuli"`
}

// Stimulus returns the test's stimulus with id sid.
func (t *Test) Stimulus(sid string) (Stimulus, bool) {
	for _, s := range t.Stimuli {
		if s.ID == sid {
			return s, true
		}
	}
	return Stimulus{}, false
}

// Limits on a spec, so that one request cannot make an unbounded test.
const (
	MaxModels  = 16
	MaxTexts   = 100
	MaxStimuli = 400
	maxName    = 200
	maxText    = 200
)

// check validates s for a test whose systems are its Models and whose
// items are its Texts.
func (s *Spec) check() error {
	if s.Name == "" {
		s.Name = "listening test"
	}
	if len(s.Name) > maxName {
		return invalidf("name: at most %d bytes", maxName)
	}
	switch s.Kind {
	case KindMOS:
		if len(s.Models) < 1 || len(s.Models) > MaxModels {
			return invalidf("models: a MOS test takes 1 to %d models, got %d", MaxModels, len(s.Models))
		}
	case KindAB:
		if len(s.Models) != 2 {
			return invalidf("models: an A/B test takes exactly 2 models, got %d", len(s.Models))
		}
	default:
		return invalidf("kind %q: want %q or %q", s.Kind, KindMOS, KindAB)
	}
	if len(s.Texts) < 1 || len(s.Texts) > MaxTexts {
		return invalidf("texts: want 1 to %d, got %d", MaxTexts, len(s.Texts))
	}
	for i, m := range s.Models {
		if slices.Contains(s.Models[:i], m) {
			return invalidf("models: %q is given twice", m)
		}
	}
	for i, t := range s.Texts {
		if strings.TrimSpace(t) == "" || len(t) > maxText {
			return invalidf("texts[%d]: want 1 to %d bytes that are not all spaces", i, maxText)
		}
		if slices.Contains(s.Texts[:i], t) {
			return invalidf("texts: %q is given twice", t)
		}
	}
	if s.Kind == KindMOS && len(s.Models)*len(s.Texts) > MaxStimuli {
		return invalidf("models x texts is %d stimuli, at most %d", len(s.Models)*len(s.Texts), MaxStimuli)
	}
	return nil
}

// plan returns the test s describes, its stimuli numbered s1, s2, ... in
// (text, model) order; an A/B stimulus's sides are drawn from a generator
// seeded by s.Seed.
func (s *Spec) plan() *Test {
	t := &Test{ID: newID(), Name: s.Name, Kind: s.Kind, Models: s.Models, Texts: s.Texts, Seed: s.Seed, Dir: s.Dir,
		Created: time.Now().UTC().Truncate(time.Second)}
	rng := rand.New(rand.NewPCG(s.Seed, 0x6c74657374)) // "ltest"
	for _, text := range s.Texts {
		if s.Kind == KindAB {
			a, b := 0, 1
			if rng.IntN(2) == 1 {
				a, b = 1, 0
			}
			t.Stimuli = append(t.Stimuli, Stimulus{ID: fmt.Sprintf("s%d", len(t.Stimuli)+1), Text: text,
				Model: s.Models[a], ModelB: s.Models[b]})
			continue
		}
		for _, m := range s.Models {
			t.Stimuli = append(t.Stimuli, Stimulus{ID: fmt.Sprintf("s%d", len(t.Stimuli)+1), Text: text, Model: m})
		}
	}
	return t
}

// audioKey is where the audio of a model saying a text is stored.
func audioKey(sid, side string) string { return sid + "/" + side }

// stimulusAudio returns the audio keys and the (model, text) of every side
// of every stimulus of t.
func stimulusAudio(t *Test) (keys []string, models, texts []string) {
	for _, s := range t.Stimuli {
		keys, models, texts = append(keys, audioKey(s.ID, ChoiceA)), append(models, s.Model), append(texts, s.Text)
		if t.Kind == KindAB {
			keys, models, texts = append(keys, audioKey(s.ID, ChoiceB)), append(models, s.ModelB), append(texts, s.Text)
		}
	}
	return keys, models, texts
}

// Synthesizer says a text with a served model, reproducibly for a seed,
// and returns a WAV file.
type Synthesizer interface {
	Say(ctx context.Context, model, text string, seed uint64) ([]byte, error)
}

// Engine is the Synthesizer of a synth.Engine: a 16-bit WAV at the
// model's rate.
type Engine struct{ E *synth.Engine }

// Say says text with model through the engine.
func (e Engine) Say(ctx context.Context, model, text string, seed uint64) ([]byte, error) {
	syn, err := e.E.Start(ctx, &synth.Request{Model: model, Text: text, Seed: &seed, Format: audio.EncodingWAV})
	if err != nil {
		return nil, err
	}
	defer syn.Close()
	x, err := syn.Audio()
	if err != nil {
		return nil, err
	}
	return synth.Encode(audio.EncodingWAV, syn.Rate, x)
}

// Create makes a test from s, each (model, text) said once by syn with
// s.Seed, and stores it with its audio.
func (st *Store) Create(ctx context.Context, syn Synthesizer, s Spec) (*Test, error) {
	s.Dir = ""
	if err := s.check(); err != nil {
		return nil, err
	}
	t := s.plan()
	said := map[[2]string][]byte{}
	keys, models, texts := stimulusAudio(t)
	wavs := make(map[string][]byte, len(keys))
	for i, k := range keys {
		mt := [2]string{models[i], texts[i]}
		w, ok := said[mt]
		if !ok {
			var err error
			if w, err = syn.Say(ctx, models[i], texts[i], s.Seed); err != nil {
				return nil, fmt.Errorf("ltest: model %q saying %q: %w", models[i], texts[i], err)
			}
			said[mt] = w
		}
		wavs[k] = w
	}
	if err := st.put(t, wavs); err != nil {
		return nil, err
	}
	return t, nil
}

// maxWAVBytes bounds one WAV of a folder.
const maxWAVBytes = 64 << 20

// CreateFromDir makes a test from the WAVs of folder s.Dir of fsys: one
// subfolder per system (s.Models, or every subfolder when empty), each
// holding NAME.wav for every item NAME; the items are the names common
// to all the systems (s.Texts, or all of them when empty). Every file
// must decode as a WAV (audio.DecodeAny).
func (st *Store) CreateFromDir(fsys fs.FS, s Spec) (*Test, error) {
	dir := path.Clean(s.Dir)
	if !fs.ValidPath(dir) {
		return nil, invalidf("dir %q: want a relative path without '..'", s.Dir)
	}
	s.Dir = dir
	if len(s.Models) == 0 {
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, invalidf("dir %q: %v", dir, err)
		}
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				s.Models = append(s.Models, e.Name())
			}
		}
	}
	if len(s.Texts) == 0 {
		common := map[string]int{}
		for _, m := range s.Models {
			names, err := fs.Glob(fsys, path.Join(dir, m, "*.wav"))
			if err != nil || len(names) == 0 {
				return nil, invalidf("dir %q: system %q has no .wav files", dir, m)
			}
			for _, n := range names {
				common[strings.TrimSuffix(path.Base(n), ".wav")]++
			}
		}
		for n, c := range common {
			if c == len(s.Models) {
				s.Texts = append(s.Texts, n)
			}
		}
		slices.Sort(s.Texts)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	t := s.plan()
	keys, models, texts := stimulusAudio(t)
	wavs := make(map[string][]byte, len(keys))
	for i, k := range keys {
		name := path.Join(dir, models[i], texts[i]+".wav")
		if !fs.ValidPath(name) {
			return nil, invalidf("file %q: not a valid path", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, invalidf("file %q: %v", name, err)
		}
		if len(b) > maxWAVBytes {
			return nil, invalidf("file %q: larger than %d bytes", name, maxWAVBytes)
		}
		if _, err := audio.DecodeAny(bytes.NewReader(b)); err != nil {
			return nil, invalidf("file %q: %v", name, err)
		}
		wavs[k] = b
	}
	if err := st.put(t, wavs); err != nil {
		return nil, err
	}
	return t, nil
}

// Order returns the stimulus ids of t in the order listener hears them: a
// permutation drawn from a generator seeded by a hash (FNV-1a, 64 bits)
// of the test id and the listener, so that a listener always gets the
// same order and different listeners usually get different ones.
func Order(t *Test, listener string) []string {
	ids := make([]string, len(t.Stimuli))
	for i, s := range t.Stimuli {
		ids[i] = s.ID
	}
	h := fnv.New64a()
	h.Write([]byte(t.ID))
	h.Write([]byte{0})
	h.Write([]byte(listener))
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

// newID returns 16 random hex digits.
func newID() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newToken returns a new random listener token: 32 hex digits.
func newToken() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}
