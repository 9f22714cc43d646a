package corpus

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/wavenet"
)

// FSDDPattern is the default file-name pattern: the Free Spoken Digit
// Dataset's {digit}_{speaker}_{index}.wav, or .flac (extensions in any
// case), the speaker letters of either case (0_George_5.wav, as
// classify.ParseName reads it) and the index digits.
const FSDDPattern = `^(?P<digit>\d)_(?P<speaker>[A-Za-z]+)_(?P<index>\d+)\.(?i:wav|flac)$`

// FSDDSplit holds out FSDD recordings with index 5 to 9 for validation
// (indices 0-4 are the dataset's own test set, absent from a training
// directory).
var FSDDSplit = Split{Label: "index", Values: []string{"5", "6", "7", "8", "9"}}

// Defaults for Options' zero values.
const (
	DefaultLevels      = 256
	DefaultTrimDB      = audio.DefaultTrimDB      // frame RMS below this is always silence (dBFS)
	DefaultTrimRelDB   = audio.DefaultTrimRelDB   // frames this far below a file's loudest frame are silence
	DefaultFrameMS     = audio.DefaultFrameMS     // frame length for trimming and silence stats
	DefaultNormalizeDB = audio.DefaultNormalizeDB // peak level after normalisation (dBFS)
	DefaultHashPercent = 10                       // validation share for custom patterns
)

// Options configure Load. The zero value loads FSDD at the files' own rate
// with 256 mu-law levels, no trimming and the FSDD split.
type Options struct {
	// Layout is how the corpus lists its files (Auto: detected from the
	// path, see DetectLayout).
	Layout Layout
	// Pattern, for a Tree, is a regular expression matched against each
	// file's slash-separated path relative to the directory, or failing
	// that its base name; its named groups become the labels. Files that
	// match neither are listed in Corpus.Unmatched. Empty means
	// FSDDPattern (or every file with SpeakerFromFolder).
	Pattern string
	// SpeakerFromFolder, for a Tree, takes the "speaker" label from each
	// file's first-level folder: VCTK read from wav48/ (p225/p225_001.flac).
	SpeakerFromFolder bool
	// SampleRate is the model's rate; files at other rates are resampled.
	// Zero keeps each file's own rate.
	SampleRate int
	// Levels is the number of mu-law levels Q (0 means DefaultLevels).
	Levels int
	// Split decides which utterances are validation. The zero Split means
	// FSDDSplit when the pattern has an "index" group, else a hash split
	// with DefaultHashPercent.
	Split Split
	// Trim removes leading and trailing silent frames of FrameMS. A frame
	// is silent when its RMS level is below TrimDB (an absolute floor, in
	// dBFS) or more than TrimRelDB below the file's loudest frame. The
	// relative rule is what works on real corpora: FSDD's loudest frames
	// range from -48 to -7 dBFS between files, so no absolute threshold
	// fits all of them. The same rule gives Stats.SilentFraction.
	Trim bool
	// TrimDB is the absolute floor (0 means DefaultTrimDB). A file with
	// no frame above it is silent: with Trim it is listed in
	// Corpus.Silent instead of loaded.
	TrimDB float64
	// TrimRelDB is the relative threshold in dB (0 means
	// DefaultTrimRelDB, negative turns the relative rule off).
	TrimRelDB float64
	// FrameMS is the frame length in milliseconds (0 means DefaultFrameMS).
	FrameMS float64
	// RemoveDC subtracts each file's mean before anything else.
	RemoveDC bool
	// Normalize scales each file so that its peak is at NormalizeDB dBFS
	// (0 means DefaultNormalizeDB) after trimming and resampling.
	Normalize   bool
	NormalizeDB float64
	// Mel, when set, computes each utterance's log-mel frames
	// (Utterance.Mel) for local conditioning, from the processed float
	// samples at the corpus rate, just before mu-law encoding: the audio
	// the codes quantise, as a recording given for copy synthesis is
	// analysed (not from the decoded codes, whose quantisation noise
	// would fill the quiet bands the mels' floor keeps). Its sample rate
	// must be SampleRate.
	Mel *audio.MelParams
	// Workers is the number of files decoded in parallel (0 means
	// GOMAXPROCS).
	Workers int
	// Progress, if set, is called after each file with the number of files
	// done and the total. It is called from one goroutine at a time.
	Progress func(done, total int)
}

// Preprocess is the audio processing of o (trimming, levels), as a model
// records it in its config (wavenet.Config.Preprocess).
func (o Options) Preprocess() audio.Preprocess {
	return audio.Preprocess{RemoveDC: o.RemoveDC, Trim: o.Trim, TrimDB: o.TrimDB, TrimRelDB: o.TrimRelDB,
		FrameMS: o.FrameMS, Normalize: o.Normalize, NormalizeDB: o.NormalizeDB}.WithDefaults()
}

// Split assigns utterances to the validation set by a label rule or by a
// hash of the file name. Both are deterministic.
type Split struct {
	// Label and Values: an utterance whose label Label has one of Values
	// is validation.
	Label  string
	Values []string
	// HashPercent, used when Label is empty: an utterance is validation
	// when FNV-1a(name) mod 100 < HashPercent.
	HashPercent int
	// None puts everything in the training set.
	None bool
}

// ParseSplit reads a split from text: "none", "hash=10" (percent), or
// "LABEL=V1,V2,..." where a value may be an integer range "5-9".
func ParseSplit(s string) (Split, error) {
	s = strings.TrimSpace(s)
	if s == "none" {
		return Split{None: true}, nil
	}
	name, vals, ok := strings.Cut(s, "=")
	if !ok || name == "" || vals == "" {
		return Split{}, fmt.Errorf("corpus: split %q: want none, hash=PERCENT or LABEL=VALUES (e.g. index=5-9)", s)
	}
	if name == "hash" {
		p, err := strconv.Atoi(vals)
		if err != nil || p < 0 || p > 100 {
			return Split{}, fmt.Errorf("corpus: split %q: hash percent must be an integer from 0 to 100", s)
		}
		return Split{HashPercent: p}, nil
	}
	sp := Split{Label: name}
	for _, v := range strings.Split(vals, ",") {
		lo, hi, isRange := strings.Cut(v, "-")
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if isRange && errA == nil && errB == nil {
			if b < a || b-a > 100000 {
				return Split{}, fmt.Errorf("corpus: split %q: bad range %q", s, v)
			}
			for i := a; i <= b; i++ {
				sp.Values = append(sp.Values, strconv.Itoa(i))
			}
			continue
		}
		sp.Values = append(sp.Values, v)
	}
	return sp, nil
}

func (s Split) String() string {
	switch {
	case s.None:
		return "none"
	case s.Label != "":
		return s.Label + "=" + strings.Join(s.Values, ",")
	}
	return fmt.Sprintf("hash=%d", s.HashPercent)
}

// IsZero reports whether s is the zero Split: the corpus's default.
func (s Split) IsZero() bool {
	return !s.None && s.Label == "" && s.HashPercent == 0 && s.Values == nil
}

// Validation reports whether an utterance belongs to the validation set.
func (s Split) Validation(name string, labels map[string]string) bool {
	switch {
	case s.None:
		return false
	case s.Label != "":
		return slices.Contains(s.Values, labels[s.Label])
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32()%100) < s.HashPercent
}

// Stats describe a file as it was read, before any processing.
type Stats struct {
	Container audio.Container // wav or flac
	Format    audio.Format
	Frames    int // sample frames per channel
	Duration  time.Duration
	Peak      float32 // largest |sample| over all channels
	Clipped   int     // samples at full scale (audio.Clipped at the file's bit depth)
	// SilentFraction is the share of FrameMS frames (of the mono mix)
	// below TrimDB.
	SilentFraction float64
}

// Utterance is one file of the corpus.
type Utterance struct {
	Name       string            // path relative to the corpus directory (as a manifest lists it), with '/'
	Labels     map[string]string // named groups of the pattern, or a manifest's columns
	Text       string            // transcript, from an LJSpeech metadata.csv or a manifest's text column
	Validation bool
	Codes      []int32 // mu-law codes at the corpus rate
	Levels     int     // mu-law levels Q of Codes
	// Mel holds the log-mel frames of the samples the codes encode
	// ((frames, n_mels) row-major, Options.Mel's frames: with centred
	// frames, 1 + len(Codes)/hop), nil unless Options.Mel was set.
	Mel    []float32
	Source Stats
}

// FileError is a file that could not be used, and why.
type FileError struct {
	Name string
	Err  error
}

func (e FileError) Error() string { return e.Name + ": " + e.Err.Error() }

// ErrSilent is the reason recorded for files that are silent (or empty)
// after trimming.
var ErrSilent = errors.New("corpus: silent after trimming")

// Corpus is a loaded directory or manifest.
type Corpus struct {
	Dir     string // the path given to Load: a directory, a manifest or metadata.csv
	Layout  Layout // the layout read (never Auto)
	Pattern string // a Tree's pattern as used
	// SpeakerFromFolder: a Tree's speaker labels are its first-level folders.
	SpeakerFromFolder bool
	SampleRate        int // rate of the codes; 0 if files differ and no rate was asked for
	Levels            int
	Split             Split
	LabelNames        []string            // the pattern's group names, in pattern order
	Vocab             map[string][]string // sorted values per label (numerically if all are integers)
	Train             []*Utterance        // sorted by name
	Validation        []*Utterance        // sorted by name
	Silent            []FileError         // files silent after trimming: excluded, with ErrSilent
	Failed            []FileError         // unreadable files, with the decoder's error
	Unmatched         []string            // a Tree's audio files whose paths do not match the pattern
	TrimDB            float64             // absolute silence floor used (dBFS)
	TrimRelDB         float64             // relative silence threshold used (dB below the loudest frame; <= 0: off)
	FrameMS           float64
}

// All returns training and validation utterances, sorted by name.
func (c *Corpus) All() []*Utterance {
	all := append(slices.Clip(c.Train), c.Validation...)
	slices.SortFunc(all, func(a, b *Utterance) int { return cmp.Compare(a.Name, b.Name) })
	return all
}

// Samples returns the total number of codes in utts.
func Samples(utts []*Utterance) int {
	n := 0
	for _, u := range utts {
		n += len(u.Codes)
	}
	return n
}

// Conditions returns the global conditions for the given labels, with the
// corpus vocabularies as values: what wavenet.Config.Conditions needs.
func (c *Corpus) Conditions(labels ...string) ([]wavenet.Condition, error) {
	conds := make([]wavenet.Condition, 0, len(labels))
	for _, l := range labels {
		v, ok := c.Vocab[l]
		if !ok {
			return nil, fmt.Errorf("corpus: no label %q (labels: %s)", l, strings.Join(c.LabelNames, ", "))
		}
		conds = append(conds, wavenet.Condition{Name: l, Values: slices.Clone(v)})
	}
	return conds, nil
}

// ConditionIndices returns the utterance's index into each condition's
// Values, in the order of conds.
func (u *Utterance) ConditionIndices(conds []wavenet.Condition) ([]int, error) {
	idx := make([]int, len(conds))
	for i, c := range conds {
		v, ok := u.Labels[c.Name]
		if !ok {
			return nil, fmt.Errorf("corpus: %s has no label %q", u.Name, c.Name)
		}
		j, err := c.Index(v)
		if err != nil {
			return nil, fmt.Errorf("corpus: %s: %w", u.Name, err)
		}
		idx[i] = j
	}
	return idx, nil
}

type job struct {
	name, path string
	labels     map[string]string
	text       string
}

type result struct {
	utt    *Utterance
	err    error
	silent bool
}

// Load reads the corpus at path (a directory or a manifest file) in the
// layout opts.Layout says, or detects (DetectLayout), as described by
// opts. Files that cannot be read are listed in Corpus.Failed, not
// returned as errors.
func Load(ctx context.Context, path string, opts Options) (*Corpus, error) {
	if opts.Levels == 0 {
		opts.Levels = DefaultLevels
	}
	if err := mulaw.CheckLevels(opts.Levels); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if opts.SampleRate < 0 {
		return nil, fmt.Errorf("corpus: sample rate %d Hz, want a positive rate or 0 for the files' own", opts.SampleRate)
	}
	if m := opts.Mel; m != nil {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		if m.SampleRate != opts.SampleRate {
			return nil, fmt.Errorf("corpus: mel frames at %d Hz for a corpus read at %d Hz (set SampleRate to the mel rate)", m.SampleRate, opts.SampleRate)
		}
	}
	p := opts.Preprocess() // the zero thresholds take audio's defaults
	opts.TrimDB, opts.TrimRelDB, opts.FrameMS, opts.NormalizeDB = p.TrimDB, p.TrimRelDB, p.FrameMS, p.NormalizeDB
	if opts.FrameMS < 0 {
		return nil, fmt.Errorf("corpus: frame length %g ms, want a positive length", opts.FrameMS)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	layout, l, err := listSplit(ctx, path, &opts)
	if err != nil {
		return nil, err
	}
	names, jobs := l.names, l.jobs

	c := &Corpus{Dir: path, Layout: layout, Pattern: opts.Pattern, SpeakerFromFolder: opts.SpeakerFromFolder, SampleRate: opts.SampleRate, Levels: opts.Levels, Split: opts.Split,
		LabelNames: names, Vocab: map[string][]string{}, Unmatched: l.unmatched,
		TrimDB: opts.TrimDB, TrimRelDB: max(0, opts.TrimRelDB), FrameMS: opts.FrameMS}

	results := make([]result, len(jobs))
	var (
		wg   sync.WaitGroup
		next = make(chan int)
		mu   sync.Mutex
		done int
	)
	for range min(opts.Workers, max(1, len(jobs))) {
		wg.Go(func() {
			for i := range next {
				results[i] = loadFile(jobs[i], &opts)
				if opts.Progress != nil {
					mu.Lock()
					done++
					opts.Progress(done, len(jobs))
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	rates := map[int]bool{}
	vocab := map[string]map[string]bool{}
	for i, r := range results {
		switch {
		case r.err != nil && r.silent:
			c.Silent = append(c.Silent, FileError{jobs[i].name, r.err})
		case r.err != nil:
			c.Failed = append(c.Failed, FileError{jobs[i].name, r.err})
		default:
			u := r.utt
			u.Validation = opts.Split.Validation(u.Name, u.Labels)
			if u.Validation {
				c.Validation = append(c.Validation, u)
			} else {
				c.Train = append(c.Train, u)
			}
			rates[u.Source.Format.SampleRate] = true
			for k, v := range u.Labels {
				if vocab[k] == nil {
					vocab[k] = map[string]bool{}
				}
				vocab[k][v] = true
			}
		}
	}
	if c.SampleRate == 0 && len(rates) == 1 {
		for r := range rates {
			c.SampleRate = r
		}
	}
	for _, n := range names {
		c.Vocab[n] = sortValues(vocab[n])
	}
	byName := func(a, b *Utterance) int { return cmp.Compare(a.Name, b.Name) }
	slices.SortFunc(c.Train, byName)
	slices.SortFunc(c.Validation, byName)
	slices.Sort(c.Unmatched)
	return c, nil
}

// listSplit lists the corpus at path (list) and settles opts.Split: the
// default for its labels, or an error for a label it does not have.
func listSplit(ctx context.Context, path string, opts *Options) (Layout, *listing, error) {
	layout, l, err := list(ctx, path, opts)
	if err != nil {
		return layout, nil, err
	}
	if opts.Split.IsZero() {
		if slices.Contains(l.names, "index") {
			opts.Split = FSDDSplit
		} else {
			opts.Split = Split{HashPercent: DefaultHashPercent}
		}
	}
	if opts.Split.Label != "" && !slices.Contains(l.names, opts.Split.Label) {
		return layout, nil, fmt.Errorf("corpus: split label %q is not a label of %s (labels: %s)", opts.Split.Label, describe(layout, opts.Pattern), strings.Join(l.names, ", "))
	}
	return layout, l, nil
}

// File is one audio file of a corpus as List finds it, before any audio
// is read.
type File struct {
	Name       string            // as Utterance.Name
	Path       string            // the file to open
	Labels     map[string]string // as Utterance.Labels
	Text       string            // as Utterance.Text
	Validation bool              // in the validation split
}

// Listing is the files of a corpus, listed as Load lists them.
type Listing struct {
	Dir               string // the path given to List
	Layout            Layout // never Auto
	Pattern           string // a Tree's pattern as used
	SpeakerFromFolder bool
	Split             Split
	LabelNames        []string
	Files             []File   // sorted by name
	Unmatched         []string // a Tree's audio files whose paths do not match the pattern
}

// List lists the corpus at path as Load would with opts (its layout,
// pattern, speaker folders and split; the other options do not apply),
// without reading any audio: for commands that read the files themselves
// or only some of them.
func List(ctx context.Context, path string, opts Options) (*Listing, error) {
	layout, l, err := listSplit(ctx, path, &opts)
	if err != nil {
		return nil, err
	}
	ls := &Listing{Dir: path, Layout: layout, Pattern: opts.Pattern, SpeakerFromFolder: opts.SpeakerFromFolder,
		Split: opts.Split, LabelNames: l.names, Unmatched: slices.Sorted(slices.Values(l.unmatched))}
	for _, j := range l.jobs {
		ls.Files = append(ls.Files, File{Name: j.name, Path: j.path, Labels: j.labels, Text: j.text,
			Validation: opts.Split.Validation(j.name, j.labels)})
	}
	slices.SortFunc(ls.Files, func(a, b File) int { return cmp.Compare(a.Name, b.Name) })
	return ls, nil
}

// Require returns an error unless the listing has every label of names,
// one that names the first missing label and how a corpus of its layout
// gives it.
func (l *Listing) Require(names ...string) error {
	return requireLabels(l.Dir, l.Layout, l.LabelNames, names)
}

// Require returns an error unless the corpus has every label of names,
// as Listing.Require.
func (c *Corpus) Require(names ...string) error {
	return requireLabels(c.Dir, c.Layout, c.LabelNames, names)
}

func requireLabels(dir string, layout Layout, have, want []string) error {
	for _, n := range want {
		if slices.Contains(have, n) {
			continue
		}
		labels := strings.Join(have, ", ")
		if labels == "" {
			labels = "none"
		}
		var how string
		switch layout {
		case Tree:
			how = fmt.Sprintf("a folder tree's labels are the named groups of its pattern: give --pattern with a group (?P<%s>...), "+
				"e.g. '^(?P<digit>\\d)_(?P<speaker>[a-z]+)_(?P<index>\\d+)\\.(wav|flac)$' (FSDD names), or list the files in a manifest with a %q column", n, n)
		case LJSpeech:
			how = fmt.Sprintf("an LJSpeech corpus has no labels: list its files in a manifest (.csv or .jsonl) with a %q column", n)
		default:
			how = fmt.Sprintf("a manifest's labels are its columns (keys): add a %q column", n)
		}
		return fmt.Errorf("corpus: %s has no %q label (its labels: %s): %s", dir, n, labels, how)
	}
	return nil
}

// sortValues sorts numerically when every value is an integer, so that
// "10" follows "9", else lexically.
func sortValues(set map[string]bool) []string {
	vals := make([]string, 0, len(set))
	numeric := true
	for v := range set {
		vals = append(vals, v)
		if _, err := strconv.Atoi(v); err != nil {
			numeric = false
		}
	}
	if numeric {
		slices.SortFunc(vals, func(a, b string) int {
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			return cmp.Or(cmp.Compare(x, y), cmp.Compare(a, b))
		})
	} else {
		slices.Sort(vals)
	}
	return vals
}

func loadFile(j job, opts *Options) result {
	raw, err := os.ReadFile(j.path)
	if err != nil {
		return result{err: err}
	}
	clip, err := audio.DecodeAny(bytes.NewReader(raw))
	if err != nil {
		return result{err: err}
	}
	st := Stats{Container: audio.Detect(raw), Format: clip.Format, Frames: clip.Frames(), Duration: clip.Duration(),
		Peak: audio.Peak(clip.Samples), Clipped: audio.Clipped(clip.Samples, bitsForClipping(clip.Format))}
	x := clip.Mono(nil)
	rate := clip.Format.SampleRate
	pre := opts.Preprocess()
	if pre.RemoveDC {
		audio.RemoveDC(x)
		pre.RemoveDC = false
	}
	thr := pre.SilenceThreshold(x, rate)
	if s, n := audio.SilentFrames(x, rate, thr, opts.FrameMS); n > 0 {
		st.SilentFraction = float64(s) / float64(n)
	}
	u := &Utterance{Name: j.name, Labels: j.labels, Text: j.text, Source: st}
	if x, err = pre.Apply(x, rate, opts.SampleRate); err != nil {
		return result{err: err}
	}
	if len(x) == 0 {
		return result{utt: u, err: ErrSilent, silent: true}
	}
	if opts.Mel != nil {
		spec, err := audio.LogMel(nil, x, *opts.Mel)
		if err != nil {
			return result{err: err}
		}
		u.Mel = spec.Data
	}
	u.Codes = mulaw.Encode(nil, x, opts.Levels)
	u.Levels = opts.Levels
	return result{utt: u}
}

func bitsForClipping(f audio.Format) int {
	if f.Float {
		return 0
	}
	return f.BitDepth
}

// describe names what gives a corpus its labels, for messages.
func describe(l Layout, pattern string) string {
	if l == Tree {
		return fmt.Sprintf("pattern %q", pattern)
	}
	return "the " + string(l) + " corpus"
}
