package speech

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/wavenet"
)

// InputError reports a request that does not fit the model: an unknown
// condition value, a missing condition or text that is not made of label
// values. Allowed lists what would be accepted.
type InputError struct {
	What    string   // "speaker", "text", ...: the condition or field concerned
	Value   string   // the offending value ("" for a missing one)
	Allowed []string // accepted values
	Msg     string   // what is wrong, if not an unknown value
}

func (e *InputError) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = fmt.Sprintf("unknown %s %q", e.What, e.Value)
	}
	return fmt.Sprintf("speech: %s (allowed: %s)", msg, strings.Join(e.Allowed, ", "))
}

// LabelCondition returns the index of the condition that text sets, one
// value per word: the condition named "digit", else the only condition not
// named "speaker"; -1 if there is none.
func LabelCondition(cfg wavenet.Config) int {
	if i := cfg.Condition("digit"); i >= 0 {
		return i
	}
	found := -1
	for i, c := range cfg.Conditions {
		if c.Name != "speaker" {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

// MaxLabels bounds the number of labels of one text.
const MaxLabels = 1000

// ParseText splits text into values of c. Words are separated by spaces or
// commas ("4 2 7", "4,2,7"); a word that is not a value but whose every
// character is a one-character value is split into characters ("427").
// Anything else is an *InputError listing the allowed values.
func ParseText(text string, c wavenet.Condition) ([]string, error) {
	bad := func(v, msg string) error {
		return &InputError{What: c.Name, Value: v, Allowed: slices.Clone(c.Values), Msg: msg}
	}
	words := strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
	if len(words) == 0 {
		return nil, bad("", fmt.Sprintf("text %q has no %s to say", text, c.Name))
	}
	var out []string
	for _, w := range words {
		if slices.Contains(c.Values, w) {
			out = append(out, w)
		} else {
			for _, r := range w {
				if !slices.Contains(c.Values, string(r)) {
					return nil, bad(string(r), fmt.Sprintf("text %q: %q is not a %s", text, string(r), c.Name))
				}
				out = append(out, string(r))
			}
		}
		if len(out) > MaxLabels {
			return nil, bad("", fmt.Sprintf("text has more than %d %s values", MaxLabels, c.Name))
		}
	}
	return out, nil
}

// Item is one utterance to generate.
type Item struct {
	Cond []int  // one index per model condition
	Seed uint64 // seed of the first attempt
}

// GenOptions configure Generate.
type GenOptions struct {
	Temperature float32 // sampling temperature [1]
	TopK        int     // sample among the TopK most likely codes (0: all)
	Greedy      bool    // most likely code (Temperature, TopK and seeds ignored)
	// Stats gives each utterance's length statistics; nil means
	// DefaultDuration for every one.
	Stats   *Stats
	Options Options
	// Attempts is how often an utterance is generated at most: a retry
	// (with another seed) is made when nothing was said (no onset), no end
	// (silence or dip) was found before the cap, or the kept part is
	// shorter than a quarter of the median. 0 means 3; the best attempt is
	// kept.
	Attempts int
	// MaxStreams bounds the streams stepped together [16].
	MaxStreams int
	// ZeroStart starts every stream from zero history. By default a
	// stream is primed with a receptive field of silence codes
	// (PrimeCodes), the left context of training windows, and a retry
	// after an attempt with no onset starts from zero history. On the
	// FSDD model at step 14200 (600 digits, 10 per speaker and digit),
	// priming lifted digit recognition from 45% to 57%; early in
	// training (step 3800) it left 40% of the streams silent, which the
	// zero-history retry now catches.
	ZeroStart bool
	// Guidance, when positive, draws every code with classifier-free
	// guidance on the label (cache.StreamOptions.Guidance): the label
	// condition's null row (a model trained with conditioning dropout) is
	// the guide, the other conditions are kept. Each stream then costs two.
	// 0 is plain sampling.
	Guidance float32
	// Candidates, when above 1, generates that many attempts of every
	// utterance side by side (seeded as retries are) and keeps, among
	// those of the best quality, the one that the model itself finds says
	// the most about its label: the highest cache.Generator.GuideScore
	// against the label's null row, the attempt's log-likelihood ratio
	// log p(audio | label) - log p(audio | no label). It needs a model
	// trained with conditioning dropout, and each attempt costs two
	// streams. 0 or 1: one attempt (and retries).
	Candidates int
	// Progress, if set, is called from time to time with the samples
	// generated (or skipped by an early end) out of the total budget.
	Progress func(done, total int64)
}

// Part is one generated utterance.
type Part struct {
	Audio     []float32 // trimmed audio in [-1, 1] at the model's rate
	Generated int       // samples generated by the kept attempt
	Onset     int       // sample of the detected onset in the kept attempt (-1: none)
	Reason    EndReason // how the kept attempt ended
	Attempts  int       // attempts made
	Seed      uint64    // seed of the kept attempt
	// Score is the kept attempt's GuideScore in nats (see
	// GenOptions.Candidates); 0 when generated without a guide.
	Score     float64
	Duration  Duration // the statistics used
	StatsFrom string   // "group", "all" or "default" (see Stats.Lookup)
}

// quality ranks attempts: an end found (silence or dip) after a plausible
// length is best, then a capped one (a whole word, perhaps with more after
// it), then a short one, then nothing.
func quality(p *Part, median float64, rate int) int {
	switch {
	case (p.Reason == Silence || p.Reason == Dip) && float64(len(p.Audio)) >= 0.25*median*float64(rate):
		return 3
	case p.Reason == Cap && len(p.Audio) > 0:
		return 2
	case len(p.Audio) > 0:
		return 1
	}
	return 0
}

// PrimeCodes returns the history Generate primes each stream with unless
// GenOptions.ZeroStart is set (see cache.Generator.Prime): a receptive
// field of silence codes, the left context the trainer pads an
// utterance's first window with.
func PrimeCodes(cfg wavenet.Config) []int32 {
	p := make([]int32, cfg.ReceptiveField())
	for i := range p {
		p[i] = mulaw.Silence(cfg.QuantizationChannels)
	}
	return p
}

// retrySeed is the seed of attempt a (0-based) of an item seeded s.
func retrySeed(s uint64, a int) uint64 { return s + uint64(a)*0x9E3779B97F4A7C15 }

// Generate generates every item as an independent stream of one batched
// cache.Generator (at most MaxStreams at a time), stops each at its
// detected end and returns the trimmed parts in the order of items. It
// returns ctx.Err() if ctx ends.
func Generate(ctx context.Context, m *wavenet.Model, items []Item, o GenOptions) ([]Part, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if err := m.CheckShapes(); err != nil {
		return nil, fmt.Errorf("speech: %w", err)
	}
	cfg := m.Config
	for _, it := range items {
		if err := m.CheckInput(nil, it.Cond); err != nil {
			return nil, fmt.Errorf("speech: %w", err)
		}
	}
	if o.Temperature == 0 {
		o.Temperature = 1
	}
	if !o.Greedy && (!(o.Temperature > 0) || math.IsInf(float64(o.Temperature), 0)) {
		return nil, fmt.Errorf("speech: temperature %v, want a positive number", o.Temperature)
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 16
	}
	rate, q := cfg.SampleRate, cfg.QuantizationChannels
	lc, per := LabelCondition(cfg), 1
	if g := o.Guidance; g != 0 && (!(g > 0) || math.IsInf(float64(g), 0)) {
		return nil, fmt.Errorf("speech: guidance %v, want 0 (none) or a positive number", g)
	}
	if o.Candidates < 0 || o.Candidates > MaxCandidates {
		return nil, fmt.Errorf("speech: %d candidates, want 0 to %d", o.Candidates, MaxCandidates)
	}
	cands := max(1, o.Candidates)
	if o.Greedy {
		cands = 1 // greedy attempts are all the same
	}
	if o.Guidance > 0 || cands > 1 {
		if !cfg.HasNull(lc) {
			return nil, errors.New("speech: guidance and candidates need a model whose label condition has a null row (train with --cond-dropout)")
		}
		per = 2
	}

	type stream struct {
		item, attempt int
		utt           *Utterance
		seed          uint64
	}
	parts := make([]Part, len(items))
	durs := make([]Duration, len(items))
	var total, done int64
	for i, it := range items {
		d, from := o.Stats.Lookup(cfg, it.Cond)
		durs[i] = d
		parts[i] = Part{Onset: -1, Duration: d, StatsFrom: from}
		l := o.Options.Limits(d, rate)
		total += int64(l.Lead + l.Cap)
	}
	report := func() {
		if o.Progress != nil {
			o.Progress(done, total)
		}
	}

	g := cache.New(m, per*min(len(items), o.MaxStreams))
	prime := PrimeCodes(cfg)
	type job struct {
		item, attempt int
		zero          bool // start from zero history
	}
	queue := make([]job, 0, cands*len(items))
	launched := make([]int, len(items)) // attempts queued per item
	// Finished attempts are taken in attempt order (held in waiting until
	// the earlier ones finish), so that the kept attempt and the retries
	// do not depend on which stream of the batch ended first: the service,
	// which makes the attempts one after another, keeps the same one.
	taken := make([]int, len(items)) // attempts of each item taken
	waiting := make([]map[int]Part, len(items))
	for i := range items {
		for a := range cands {
			queue = append(queue, job{i, a, o.ZeroStart})
		}
		launched[i] = cands
		if a := cands - 1; a > 0 {
			l := o.Options.Limits(durs[i], rate)
			total += int64(a * (l.Lead + l.Cap))
		}
	}
	active := map[int]*stream{}
	var slots []int // active slots in join order, for a deterministic loop
	var codes []int32
	steps := 0
	for {
		for len(queue) > 0 && per*len(active) < g.MaxStreams() {
			j := queue[0]
			queue = queue[1:]
			seed := retrySeed(items[j.item].Seed, j.attempt)
			so := cache.StreamOptions{Cond: items[j.item].Cond, Temperature: o.Temperature,
				TopK: o.TopK, Seed: seed, Greedy: o.Greedy}
			if per == 2 {
				so.Guidance = o.Guidance
				so.GuideCond = slices.Clone(so.Cond)
				so.GuideCond[lc] = cfg.Conditions[lc].NullIndex()
			}
			slot, err := g.Join(so)
			if err != nil {
				return nil, fmt.Errorf("speech: %w", err)
			}
			if !j.zero {
				if err := g.Prime(ctx, slot, prime); err != nil {
					return nil, err
				}
			}
			active[slot] = &stream{item: j.item, attempt: j.attempt, seed: seed,
				utt: NewUtterance(q, rate, durs[j.item], o.Options)}
			slots = append(slots, slot)
		}
		if len(active) == 0 {
			break
		}
		if steps%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			report()
		}
		codes = g.Step(codes)
		steps++
		done += int64(len(active))
		kept := slots[:0]
		for _, slot := range slots {
			s := active[slot]
			if !s.utt.Push(codes[slot]) {
				kept = append(kept, slot)
				continue
			}
			score := g.GuideScore(slot)
			g.Leave(slot)
			delete(active, slot)
			l := s.utt.Limits()
			done += max(0, int64(l.Lead+l.Cap-s.utt.Len()))
			it := s.item
			if waiting[it] == nil {
				waiting[it] = map[int]Part{}
			}
			waiting[it][s.attempt] = Part{Audio: s.utt.Samples(nil), Generated: s.utt.Len(), Onset: s.utt.Onset(), Reason: s.utt.Reason(),
				Seed: s.seed, Score: score, Duration: durs[it], StatsFrom: parts[it].StatsFrom}
			for {
				p, ok := waiting[it][taken[it]]
				if !ok {
					break
				}
				delete(waiting[it], taken[it])
				prev := &parts[it]
				qNew, qPrev := quality(&p, p.Duration.Median, rate), quality(prev, prev.Duration.Median, rate)
				if taken[it] == 0 || qNew > qPrev || (cands > 1 && qNew == qPrev && p.Score > prev.Score) {
					*prev = p
				}
				taken[it]++
				// A retry replaces an attempt that said nothing plausible,
				// up to Attempts-1 of them per utterance.
				if qNew < 3 && !o.Greedy && launched[it] < cands+o.Attempts-1 {
					queue = append(queue, job{it, launched[it], o.ZeroStart || p.Reason == NoOnset})
					launched[it]++
					ld := o.Options.Limits(durs[it], rate)
					total += int64(ld.Lead + ld.Cap)
				}
			}
		}
		slots = kept
	}
	for i := range parts {
		parts[i].Attempts = launched[i]
	}
	done = total
	report()
	return parts, nil
}

// MaxCandidates bounds GenOptions.Candidates.
const MaxCandidates = 32

// DefaultPause is the silence between the labels of a sentence.
const DefaultPause = 150 * time.Millisecond

// fadeMS is the length of the fade at each end of a part, which keeps the
// cut of the trim from clicking.
const fadeMS = 5

// Concat joins parts with pause samples of silence between them, fading
// each part in and out over 5 ms.
func Concat(parts [][]float32, pause, rate int) []float32 {
	n := 0
	for _, p := range parts {
		n += len(p) + pause
	}
	out := make([]float32, 0, n)
	fade := rate * fadeMS / 1000
	for i, p := range parts {
		if i > 0 {
			out = append(out, make([]float32, pause)...)
		}
		start := len(out)
		out = append(out, p...)
		seg := out[start:]
		f := min(fade, len(seg)/2)
		for k := 0; k < f; k++ {
			w := float32(k) / float32(f)
			seg[k] *= w
			seg[len(seg)-1-k] *= w
		}
	}
	return out
}

// Request is a sentence to say.
type Request struct {
	// Text holds the labels to say (see ParseText), e.g. "4 2 7".
	Text string
	// Cond gives the value of every other model condition by name, e.g.
	// {"speaker": "jackson"}.
	Cond map[string]string
	// Seed seeds label i's stream with Seed + i.
	Seed uint64
	// Pause is the silence between labels (0: DefaultPause, negative:
	// none).
	Pause time.Duration
	GenOptions
}

// Result is a said sentence.
type Result struct {
	Audio  []float32 // the sentence at Rate Hz
	Rate   int
	Labels []string // the labels said, in order
	Parts  []Part   // one per label
	Starts []int    // sample of Audio where each part starts
}

// Items maps a request to the items Generate takes, checking every value
// against the model; errors are *InputError.
func Items(cfg wavenet.Config, req Request) ([]Item, []string, error) {
	lc := LabelCondition(cfg)
	if lc < 0 {
		names := make([]string, len(cfg.Conditions))
		for i, c := range cfg.Conditions {
			names[i] = c.Name
		}
		return nil, nil, &InputError{What: "conditions", Allowed: names,
			Msg: "the model has no label condition to say text with (its conditions are listed)"}
	}
	labels, err := ParseText(req.Text, cfg.Conditions[lc])
	if err != nil {
		return nil, nil, err
	}
	base := make([]int, len(cfg.Conditions))
	for name := range req.Cond {
		if i := cfg.Condition(name); i < 0 || i == lc {
			var allowed []string
			for j, c := range cfg.Conditions {
				if j != lc {
					allowed = append(allowed, c.Name)
				}
			}
			return nil, nil, &InputError{What: "condition", Value: name, Allowed: allowed}
		}
	}
	for i, c := range cfg.Conditions {
		if i == lc {
			continue
		}
		v, ok := req.Cond[c.Name]
		if !ok {
			return nil, nil, &InputError{What: c.Name, Allowed: slices.Clone(c.Values),
				Msg: fmt.Sprintf("the model is conditioned on %s: give one", c.Name)}
		}
		h, err := c.Index(v)
		if err != nil {
			return nil, nil, &InputError{What: c.Name, Value: v, Allowed: slices.Clone(c.Values)}
		}
		base[i] = h
	}
	items := make([]Item, len(labels))
	for i, l := range labels {
		cond := slices.Clone(base)
		cond[lc], _ = cfg.Conditions[lc].Index(l)
		items[i] = Item{Cond: cond, Seed: req.Seed + uint64(i)}
	}
	return items, labels, nil
}

// Say generates the sentence of req: every label as its own stream of one
// batched generator, each stopped at its end and trimmed, joined with
// pauses.
func Say(ctx context.Context, m *wavenet.Model, req Request) (*Result, error) {
	items, labels, err := Items(m.Config, req)
	if err != nil {
		return nil, err
	}
	parts, err := Generate(ctx, m, items, req.GenOptions)
	if err != nil {
		return nil, err
	}
	rate := m.Config.SampleRate
	pause := req.Pause
	if pause == 0 {
		pause = DefaultPause
	}
	pauseN := max(0, int(pause.Seconds()*float64(rate)))
	audios := make([][]float32, len(parts))
	starts := make([]int, len(parts))
	at := 0
	for i, p := range parts {
		audios[i] = p.Audio
		if i > 0 {
			at += pauseN
		}
		starts[i] = at
		at += len(p.Audio)
	}
	return &Result{Audio: Concat(audios, pauseN, rate), Rate: rate, Labels: labels, Parts: parts, Starts: starts}, nil
}

// IsInputError reports whether err is an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
