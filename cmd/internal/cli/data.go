package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/progress"
)

const dataUsage = "data inspect [flags] DIR"

func runData(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.Stderr, "usage: wavenet %s\n\nsubcommands:\n  inspect   report files, durations, labels, rates, clipping, silence and unreadable files\n", dataUsage)
		if len(args) == 0 {
			return Usagef("missing subcommand (want inspect)")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "inspect":
		return runDataInspect(ctx, env, args[1:])
	}
	return Usagef("unknown data subcommand %q (want inspect)", args[0])
}

// inspectFlags are data inspect's options.
type inspectFlags struct {
	pattern   string
	rate      int
	split     string
	trimDB    float64
	trimRelDB float64
	frameMS   float64
	silent    float64
	levels    int
	top       int
	workers   int
	noBar     bool
	directory string
}

// parseInterspersed parses flags that may come before or after the
// positional arguments (`inspect DIR --rate 16000`), as users type them.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func runDataInspect(ctx context.Context, env *Env, args []string) error {
	var f inspectFlags
	fs := NewFlagSet(env, "data inspect", "data inspect [flags] DIR")
	fs.StringVar(&f.pattern, "pattern", corpus.FSDDPattern, "regular expression for file names; named groups become labels")
	fs.IntVar(&f.rate, "rate", 0, "model sample rate in Hz to report sample counts at (0: the files' own rate)")
	fs.StringVar(&f.split, "split", "", "validation split: none, hash=PERCENT or LABEL=VALUES (default index=5-9 when the pattern has an index group, else hash=10)")
	fs.Float64Var(&f.trimDB, "trim-db", corpus.DefaultTrimDB, "absolute silence floor: frames with RMS below this level (dBFS) are silent")
	fs.Float64Var(&f.trimRelDB, "trim-rel-db", corpus.DefaultTrimRelDB, "relative silence threshold: frames this many dB below the file's loudest frame are silent (negative: off)")
	fs.Float64Var(&f.frameMS, "frame-ms", corpus.DefaultFrameMS, "frame length in milliseconds for the silence statistics")
	fs.Float64Var(&f.silent, "mostly-silent", 0.6, "report files with at least this fraction of silent frames")
	fs.IntVar(&f.levels, "levels", corpus.DefaultLevels, "mu-law quantization levels Q (for the in-memory size estimate)")
	fs.IntVar(&f.top, "top", 10, "list at most this many files per problem (0: all)")
	fs.IntVar(&f.workers, "workers", 0, "files decoded in parallel (0: one per CPU)")
	fs.BoolVar(&f.noBar, "quiet", false, "no progress output on standard error")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return Usagef("want exactly one directory, got %d arguments (usage: wavenet %s)", len(pos), dataUsage)
	}
	f.directory = pos[0]
	opts := corpus.Options{Pattern: f.pattern, SampleRate: f.rate, Levels: f.levels,
		TrimDB: f.trimDB, TrimRelDB: f.trimRelDB, FrameMS: f.frameMS, Workers: f.workers}
	if f.split != "" {
		if opts.Split, err = corpus.ParseSplit(f.split); err != nil {
			return Usagef("%v", err)
		}
	}
	if f.silent < 0 || f.silent > 1 {
		return Usagef("--mostly-silent %g: want a fraction from 0 to 1", f.silent)
	}
	var bar *progress.Bar
	if !f.noBar {
		opts.Progress = func(done, total int) {
			if bar == nil {
				bar = progress.New(env.Stderr, "inspect", "files", int64(total))
			}
			bar.Set(int64(done), "")
		}
	}
	start := time.Now()
	c, err := corpus.Load(ctx, f.directory, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("data inspect: %w", err)
	}
	if bar != nil {
		bar.Finish()
	}
	if !f.noBar {
		fmt.Fprintf(env.Stderr, "loaded %d files in %.2f s\n", len(c.Train)+len(c.Validation)+len(c.Failed), time.Since(start).Seconds())
	}
	return writeInspect(env.Stdout, c, &f)
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

func writeInspect(out io.Writer, c *corpus.Corpus, f *inspectFlags) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	all := c.All()
	found := len(all) + len(c.Failed) + len(c.Unmatched)
	limit := func(n int) int {
		if f.top > 0 && n > f.top {
			return f.top
		}
		return n
	}

	var total time.Duration
	var minU, maxU *corpus.Utterance
	rates := map[int]int{}
	formats := map[string]int{}
	codes := 0
	for _, u := range all {
		d := u.Source.Duration
		total += d
		if minU == nil || d < minU.Source.Duration {
			minU = u
		}
		if maxU == nil || d > maxU.Source.Duration {
			maxU = u
		}
		rates[u.Source.Format.SampleRate]++
		sf := u.Source.Format
		kind := "PCM"
		if sf.Float {
			kind = "float"
		}
		formats[fmt.Sprintf("%d-bit %s, %d ch", sf.BitDepth, kind, sf.Channels)]++
		codes += len(u.Codes)
	}

	fmt.Fprintf(w, "directory\t%s\n", c.Dir)
	fmt.Fprintf(w, "pattern\t%s\n", f.pattern)
	fmt.Fprintf(w, "files\t%d .wav: %d read, %d unreadable, %d not matching the pattern\n", found, len(all), len(c.Failed), len(c.Unmatched))
	if len(all) > 0 {
		fmt.Fprintf(w, "total duration\t%s (%.2f h)\n", fmtDur(total), total.Hours())
		fmt.Fprintf(w, "per file\tmin %s (%s), mean %s, max %s (%s)\n", fmtDur(minU.Source.Duration), minU.Name,
			fmtDur(total/time.Duration(len(all))), fmtDur(maxU.Source.Duration), maxU.Name)
	}
	fmt.Fprintf(w, "sample rates\t%s\n", countList(rates, func(r int) string { return fmt.Sprintf("%d Hz", r) }))
	fmt.Fprintf(w, "formats\t%s\n", countList(formats, func(s string) string { return s }))
	rateNote := "the files' own rate"
	if f.rate > 0 {
		rateNote = fmt.Sprintf("%d Hz", f.rate)
	}
	if c.SampleRate > 0 || f.rate > 0 {
		fmt.Fprintf(w, "model samples\t%d at %s, %.1f MB as int32 codes (Q=%d)\n", codes, rateNote, float64(4*codes)/1e6, c.Levels)
	} else {
		fmt.Fprintf(w, "model samples\t%d at mixed rates: pass --rate to resample to the model's rate\n", codes)
	}
	fmt.Fprintf(w, "split\t%s: %d train (%s), %d validation (%s)\n", c.Split, len(c.Train), fmtDur(dur(c.Train)), len(c.Validation), fmtDur(dur(c.Validation)))

	// Levels: clipping, silence, quiet files.
	var clipped, silent, mostly, quiet []*corpus.Utterance
	clippedSamples := 0
	for _, u := range all {
		if u.Source.Clipped > 0 {
			clipped = append(clipped, u)
			clippedSamples += u.Source.Clipped
		}
		switch {
		case u.Source.SilentFraction >= 1:
			silent = append(silent, u)
		case u.Source.SilentFraction >= f.silent:
			mostly = append(mostly, u)
		}
		if u.Source.Peak > 0 && 20*math.Log10(float64(u.Source.Peak)) < -20 {
			quiet = append(quiet, u)
		}
	}
	var silentFrac float64
	for _, u := range all {
		silentFrac += u.Source.SilentFraction
	}
	if len(all) > 0 {
		silentFrac /= float64(len(all))
	}
	fmt.Fprintf(w, "clipping\t%s (%s) with full-scale samples, %s in all\n", plural(len(clipped), "file"), pct(len(clipped), len(all)), plural(clippedSamples, "sample"))
	rule := fmt.Sprintf("below %g dBFS", c.TrimDB)
	if c.TrimRelDB > 0 {
		rule += fmt.Sprintf(" or %g dB below the file's loudest frame", c.TrimRelDB)
	}
	fmt.Fprintf(w, "silence\t%g ms frames %s: %.1f%% of frames on average\n", c.FrameMS, rule, 100*silentFrac)
	fmt.Fprintf(w, "\t%s entirely silent (trimming would leave nothing), %d more at least %.0f%% silent\n",
		plural(len(silent), "file"), len(mostly), 100*f.silent)
	fmt.Fprintf(w, "quiet\t%s with peak below -20 dBFS\n", plural(len(quiet), "file"))
	if err := w.Flush(); err != nil {
		return err
	}

	for _, name := range c.LabelNames {
		writeLabel(out, name, c)
	}

	section := func(title string, n int) *tabwriter.Writer {
		fmt.Fprintf(out, "\n%s: %d", title, n)
		if limit(n) < n {
			fmt.Fprintf(out, " (first %d; --top 0 lists all)", limit(n))
		}
		fmt.Fprintln(out)
		return tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	}
	if n := len(c.Failed); n > 0 {
		tw := section("unreadable files", n)
		for _, e := range c.Failed[:limit(n)] {
			fmt.Fprintf(tw, "  %s\t%v\n", e.Name, e.Err)
		}
		tw.Flush()
	}
	if n := len(c.Unmatched); n > 0 {
		tw := section("files not matching the pattern (not used)", n)
		for _, name := range c.Unmatched[:limit(n)] {
			fmt.Fprintf(tw, "  %s\n", name)
		}
		tw.Flush()
	}
	if n := len(silent); n > 0 {
		tw := section("entirely silent files", n)
		for _, u := range silent[:limit(n)] {
			fmt.Fprintf(tw, "  %s\tpeak %.1f dBFS\n", u.Name, db(u.Source.Peak))
		}
		tw.Flush()
	}
	if n := len(mostly); n > 0 {
		slices.SortStableFunc(mostly, func(a, b *corpus.Utterance) int {
			return cmp.Compare(b.Source.SilentFraction, a.Source.SilentFraction)
		})
		tw := section("mostly silent files", n)
		for _, u := range mostly[:limit(n)] {
			fmt.Fprintf(tw, "  %s\t%.0f%% silent\t%s\tpeak %.1f dBFS\n", u.Name, 100*u.Source.SilentFraction, fmtDur(u.Source.Duration), db(u.Source.Peak))
		}
		tw.Flush()
	}
	if n := len(clipped); n > 0 {
		slices.SortStableFunc(clipped, func(a, b *corpus.Utterance) int { return cmp.Compare(b.Source.Clipped, a.Source.Clipped) })
		tw := section("files with clipping", n)
		for _, u := range clipped[:limit(n)] {
			fmt.Fprintf(tw, "  %s\t%s\t%s of the file\n", u.Name, plural(u.Source.Clipped, "sample"), pct(u.Source.Clipped, u.Source.Frames*u.Source.Format.Channels))
		}
		tw.Flush()
	}
	return nil
}

// plural prints "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func db(p float32) float64 { return 20 * math.Log10(float64(p)) }

func dur(utts []*corpus.Utterance) time.Duration {
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

// writeLabel prints one label's vocabulary with per-value counts: a table
// for up to 12 values, a compact list for more.
func writeLabel(out io.Writer, name string, c *corpus.Corpus) {
	type count struct {
		files, train, valid int
		d                   time.Duration
	}
	counts := map[string]*count{}
	for _, v := range c.Vocab[name] {
		counts[v] = &count{}
	}
	for _, u := range c.All() {
		k := counts[u.Labels[name]]
		if k == nil { // an optional group that did not match
			continue
		}
		k.files++
		k.d += u.Source.Duration
		if u.Validation {
			k.valid++
		} else {
			k.train++
		}
	}
	vals := c.Vocab[name]
	fmt.Fprintf(out, "\nlabel %s: %d values\n", name, len(vals))
	if len(vals) <= 12 {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "  value\tfiles\ttrain\tvalid\tduration\t\n")
		for _, v := range vals {
			k := counts[v]
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%s\t\n", v, k.files, k.train, k.valid, fmtDur(k.d))
		}
		tw.Flush()
		return
	}
	// Many values: group values that have the same file count.
	byCount := map[int][]string{}
	for _, v := range vals {
		byCount[counts[v].files] = append(byCount[counts[v].files], v)
	}
	ns := make([]int, 0, len(byCount))
	for n := range byCount {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	for _, n := range ns {
		vs := byCount[n]
		fmt.Fprintf(out, "  %d files each (%d values): %s\n", n, len(vs), compactValues(vs))
	}
}

// compactValues prints integer runs as ranges: 5 6 7 9 -> "5-7, 9".
func compactValues(vs []string) string {
	var parts []string
	for i := 0; i < len(vs); {
		j := i
		a, err := atoi(vs[i])
		for err == nil && j+1 < len(vs) {
			b, errB := atoi(vs[j+1])
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

func atoi(s string) (int, error) {
	var n int
	if s == "" || len(s) > 9 {
		return 0, errors.New("not a small integer")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("not a small integer")
		}
		n = 10*n + int(r-'0')
	}
	return n, nil
}
