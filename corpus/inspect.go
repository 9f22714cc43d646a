package corpus

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wavenet-go/wavenet/audio"
)

// InspectOptions configure Inspect.
type InspectOptions struct {
	// Pattern is the pattern a Tree was loaded with, as the report shows
	// it (empty means the corpus's own, Corpus.Pattern).
	Pattern string
	// SampleRate is the rate asked of Load (0: the files' own rate).
	SampleRate int
	// MostlySilent is the share of silent frames from which a file is
	// listed as mostly silent (a fraction from 0 to 1).
	MostlySilent float64
	// Top lists at most this many files per problem (0: all).
	Top int
}

// Inspection is the report of `wavenet data inspect`: what a corpus holds
// (files, durations, rates, formats, labels) and what is wrong with it
// (unreadable, unmatched, silent, clipped and quiet files).
type Inspection struct {
	Corpus  *Corpus
	Options InspectOptions

	Found            int // audio files found (or listed): read, unreadable and unmatched
	Utterances       int // files read
	Total            time.Duration
	Shortest         *Utterance // nil when nothing was read
	Longest          *Utterance
	Rates            map[int]int    // files per sample rate of the source
	Formats          map[string]int // files per "16-bit PCM, 1 ch" or "24-bit FLAC, 2 ch"
	Extensions       map[string]int // files found per extension (".wav", ".flac")
	Texts            int            // utterances with a transcript
	Codes            int            // model samples held
	Clipped          []*Utterance   // files with full-scale samples, most clipped first
	ClippedSamples   int
	Silent           []*Utterance // entirely silent files
	MostlySilent     []*Utterance // at least Options.MostlySilent silent (but not entirely), most silent first
	Quiet            []*Utterance // peak below -20 dBFS
	MeanSilentFrames float64      // mean share of silent frames per file
	Labels           []LabelCounts
}

// LabelCounts are the files per value of one label, in vocabulary order.
type LabelCounts struct {
	Name   string
	Values []ValueCount
}

// ValueCount is how many files (training, validation) and how much audio
// a label value has.
type ValueCount struct {
	Value                    string
	Files, Train, Validation int
	Duration                 time.Duration
}

// QuietDB is the peak level (dBFS) below which Inspect calls a file quiet.
const QuietDB = -20

// Inspect computes the statistics of c.
func Inspect(c *Corpus, opts InspectOptions) *Inspection {
	if opts.Pattern == "" {
		opts.Pattern = c.Pattern
	}
	all := c.All()
	in := &Inspection{Corpus: c, Options: opts, Utterances: len(all),
		Found: len(all) + len(c.Failed) + len(c.Unmatched), Rates: map[int]int{}, Formats: map[string]int{}, Extensions: map[string]int{}}
	for _, n := range c.Unmatched {
		in.Extensions[strings.ToLower(path.Ext(n))]++
	}
	for _, f := range c.Failed {
		in.Extensions[strings.ToLower(path.Ext(f.Name))]++
	}
	for _, u := range all {
		in.Extensions[strings.ToLower(path.Ext(u.Name))]++
		if u.Text != "" {
			in.Texts++
		}
		d := u.Source.Duration
		in.Total += d
		if in.Shortest == nil || d < in.Shortest.Source.Duration {
			in.Shortest = u
		}
		if in.Longest == nil || d > in.Longest.Source.Duration {
			in.Longest = u
		}
		sf := u.Source.Format
		in.Rates[sf.SampleRate]++
		kind := "PCM"
		switch {
		case u.Source.Container == audio.FLAC:
			kind = "FLAC"
		case sf.Float:
			kind = "float"
		}
		in.Formats[fmt.Sprintf("%d-bit %s, %d ch", sf.BitDepth, kind, sf.Channels)]++
		in.Codes += len(u.Codes)

		if u.Source.Clipped > 0 {
			in.Clipped = append(in.Clipped, u)
			in.ClippedSamples += u.Source.Clipped
		}
		switch {
		case u.Source.SilentFraction >= 1:
			in.Silent = append(in.Silent, u)
		case u.Source.SilentFraction >= opts.MostlySilent:
			in.MostlySilent = append(in.MostlySilent, u)
		}
		if u.Source.Peak > 0 && db(u.Source.Peak) < QuietDB {
			in.Quiet = append(in.Quiet, u)
		}
		in.MeanSilentFrames += u.Source.SilentFraction
	}
	if len(all) > 0 {
		in.MeanSilentFrames /= float64(len(all))
	}
	slices.SortStableFunc(in.MostlySilent, func(a, b *Utterance) int {
		return cmp.Compare(b.Source.SilentFraction, a.Source.SilentFraction)
	})
	slices.SortStableFunc(in.Clipped, func(a, b *Utterance) int { return cmp.Compare(b.Source.Clipped, a.Source.Clipped) })
	for _, name := range c.LabelNames {
		in.Labels = append(in.Labels, labelCounts(c, all, name))
	}
	return in
}

func labelCounts(c *Corpus, all []*Utterance, name string) LabelCounts {
	lc := LabelCounts{Name: name, Values: make([]ValueCount, len(c.Vocab[name]))}
	index := map[string]int{}
	for i, v := range c.Vocab[name] {
		lc.Values[i].Value = v
		index[v] = i
	}
	for _, u := range all {
		i, ok := index[u.Labels[name]]
		if !ok { // an optional group that did not match
			continue
		}
		k := &lc.Values[i]
		k.Files++
		k.Duration += u.Source.Duration
		if u.Validation {
			k.Validation++
		} else {
			k.Train++
		}
	}
	return lc
}

// WriteText writes the report as `wavenet data inspect` prints it: a
// summary table, one table per label, then the problem lists.
func (in *Inspection) WriteText(out io.Writer) error {
	c, opts := in.Corpus, in.Options
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	exts := countList(in.Extensions, func(e string) string { return e })
	switch c.Layout {
	case Tree, Auto:
		fmt.Fprintf(w, "directory\t%s\n", c.Dir)
		how := "pattern over relative paths, else base names"
		if c.SpeakerFromFolder {
			how += "; speaker from first-level folders"
		}
		fmt.Fprintf(w, "layout\ttree (%s)\n", how)
		fmt.Fprintf(w, "pattern\t%s\n", cmp.Or(opts.Pattern, "(none: every .wav and .flac file)"))
		if len(in.Extensions) == 1 {
			exts = strings.SplitN(exts, ":", 2)[0] // "22 .wav"
		} else {
			exts = "audio files (" + exts + ")"
		}
		fmt.Fprintf(w, "files\t%d %s: %d read, %d unreadable, %d not matching the pattern\n", in.Found, exts, in.Utterances, len(c.Failed), len(c.Unmatched))
	default:
		what := "manifest"
		if c.Layout == LJSpeech {
			what = "metadata"
		}
		fmt.Fprintf(w, "%s\t%s\n", what, c.Dir)
		fmt.Fprintf(w, "layout\t%s (labels: %s; %d with text)\n", c.Layout, cmp.Or(strings.Join(c.LabelNames, ", "), "none"), in.Texts)
		fmt.Fprintf(w, "files\t%d listed (%s): %d read, %d unreadable or missing\n", in.Found, exts, in.Utterances, len(c.Failed))
	}
	if in.Utterances > 0 {
		fmt.Fprintf(w, "total duration\t%s (%.2f h)\n", fmtDur(in.Total), in.Total.Hours())
		fmt.Fprintf(w, "per file\tmin %s (%s), mean %s, max %s (%s)\n", fmtDur(in.Shortest.Source.Duration), in.Shortest.Name,
			fmtDur(in.Total/time.Duration(in.Utterances)), fmtDur(in.Longest.Source.Duration), in.Longest.Name)
	}
	fmt.Fprintf(w, "sample rates\t%s\n", countList(in.Rates, func(r int) string { return fmt.Sprintf("%d Hz", r) }))
	fmt.Fprintf(w, "formats\t%s\n", countList(in.Formats, func(s string) string { return s }))
	rateNote := "the files' own rate"
	if opts.SampleRate > 0 {
		rateNote = fmt.Sprintf("%d Hz", opts.SampleRate)
	}
	if c.SampleRate > 0 || opts.SampleRate > 0 {
		fmt.Fprintf(w, "model samples\t%d at %s, %.1f MB as int32 codes (Q=%d)\n", in.Codes, rateNote, float64(4*in.Codes)/1e6, c.Levels)
	} else {
		fmt.Fprintf(w, "model samples\t%d at mixed rates: pass --rate to resample to the model's rate\n", in.Codes)
	}
	fmt.Fprintf(w, "split\t%s: %d train (%s), %d validation (%s)\n", c.Split, len(c.Train), fmtDur(dur(c.Train)), len(c.Validation), fmtDur(dur(c.Validation)))
	fmt.Fprintf(w, "clipping\t%s (%s) with full-scale samples, %s in all\n", plural(len(in.Clipped), "file"), pct(len(in.Clipped), in.Utterances), plural(in.ClippedSamples, "sample"))
	rule := fmt.Sprintf("below %g dBFS", c.TrimDB)
	if c.TrimRelDB > 0 {
		rule += fmt.Sprintf(" or %g dB below the file's loudest frame", c.TrimRelDB)
	}
	fmt.Fprintf(w, "silence\t%g ms frames %s: %.1f%% of frames on average\n", c.FrameMS, rule, 100*in.MeanSilentFrames)
	fmt.Fprintf(w, "\t%s entirely silent (trimming would leave nothing), %d more at least %.0f%% silent\n",
		plural(len(in.Silent), "file"), len(in.MostlySilent), 100*opts.MostlySilent)
	fmt.Fprintf(w, "quiet\t%s with peak below %d dBFS\n", plural(len(in.Quiet), "file"), QuietDB)
	if err := w.Flush(); err != nil {
		return err
	}
	for _, lc := range in.Labels {
		if err := lc.writeText(out); err != nil {
			return err
		}
	}
	return in.writeProblems(out)
}

// writeProblems lists unreadable, unmatched, silent, mostly silent and
// clipped files, at most Options.Top of each.
func (in *Inspection) writeProblems(out io.Writer) error {
	c, top := in.Corpus, in.Options.Top
	limit := func(n int) int {
		if top > 0 && n > top {
			return top
		}
		return n
	}
	section := func(title string, n int, line func(w io.Writer, i int)) error {
		fmt.Fprintf(out, "\n%s: %d", title, n)
		if limit(n) < n {
			fmt.Fprintf(out, " (first %d; --top 0 lists all)", limit(n))
		}
		fmt.Fprintln(out)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for i := range limit(n) {
			line(tw, i)
		}
		return tw.Flush()
	}
	var err error
	if n := len(c.Failed); n > 0 {
		err = cmp.Or(err, section("unreadable files", n, func(w io.Writer, i int) {
			fmt.Fprintf(w, "  %s\t%v\n", c.Failed[i].Name, c.Failed[i].Err)
		}))
	}
	if n := len(c.Unmatched); n > 0 {
		err = cmp.Or(err, section("files not matching the pattern (not used)", n, func(w io.Writer, i int) {
			fmt.Fprintf(w, "  %s\n", c.Unmatched[i])
		}))
	}
	if n := len(in.Silent); n > 0 {
		err = cmp.Or(err, section("entirely silent files", n, func(w io.Writer, i int) {
			u := in.Silent[i]
			fmt.Fprintf(w, "  %s\tpeak %.1f dBFS\n", u.Name, db(u.Source.Peak))
		}))
	}
	if n := len(in.MostlySilent); n > 0 {
		err = cmp.Or(err, section("mostly silent files", n, func(w io.Writer, i int) {
			u := in.MostlySilent[i]
			fmt.Fprintf(w, "  %s\t%.0f%% silent\t%s\tpeak %.1f dBFS\n", u.Name, 100*u.Source.SilentFraction, fmtDur(u.Source.Duration), db(u.Source.Peak))
		}))
	}
	if n := len(in.Clipped); n > 0 {
		err = cmp.Or(err, section("files with clipping", n, func(w io.Writer, i int) {
			u := in.Clipped[i]
			fmt.Fprintf(w, "  %s\t%s\t%s of the file\n", u.Name, plural(u.Source.Clipped, "sample"), pct(u.Source.Clipped, u.Source.Frames*u.Source.Format.Channels))
		}))
	}
	return err
}

// writeText prints one label's vocabulary with per-value counts: a table
// for up to 12 values, a compact list for more.
func (lc LabelCounts) writeText(out io.Writer) error {
	fmt.Fprintf(out, "\nlabel %s: %d values\n", lc.Name, len(lc.Values))
	if len(lc.Values) <= 12 {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "  value\tfiles\ttrain\tvalid\tduration\t\n")
		for _, k := range lc.Values {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%s\t\n", k.Value, k.Files, k.Train, k.Validation, fmtDur(k.Duration))
		}
		return tw.Flush()
	}
	// Many values: group values that have the same file count.
	byCount := map[int][]string{}
	for _, k := range lc.Values {
		byCount[k.Files] = append(byCount[k.Files], k.Value)
	}
	ns := make([]int, 0, len(byCount))
	for n := range byCount {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	var err error
	for _, n := range ns {
		vs := byCount[n]
		_, werr := fmt.Fprintf(out, "  %d files each (%d values): %s\n", n, len(vs), CompactValues(vs))
		err = cmp.Or(err, werr)
	}
	return err
}

// fmtDur prints a duration rounded to 0.1 s (or 1 ms below a second).
func fmtDur(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func pct(n, total int) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

// plural prints "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func db(p float32) float64 { return 20 * math.Log10(float64(p)) }

func dur(utts []*Utterance) time.Duration {
	var d time.Duration
	for _, u := range utts {
		d += u.Source.Duration
	}
	return d
}

// countList prints "a: 3, b: 1", most frequent first.
func countList[K cmp.Ordered](m map[K]int, name func(K) string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", name(k), m[k])
	}
	return strings.Join(parts, ", ")
}

// CompactValues prints label values with integer runs of three or more as
// ranges: 5 6 7 9 -> "5-7, 9".
func CompactValues(vs []string) string {
	var parts []string
	for i := 0; i < len(vs); {
		j := i
		a, err := smallInt(vs[i])
		for err == nil && j+1 < len(vs) {
			b, errB := smallInt(vs[j+1])
			if errB != nil || b != a+(j+1-i) {
				break
			}
			j++
		}
		if j-i >= 2 {
			parts = append(parts, vs[i]+"-"+vs[j])
		} else {
			parts = append(parts, vs[i:j+1]...)
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// smallInt parses a label value of up to 9 decimal digits (no sign).
func smallInt(s string) (int, error) {
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}
