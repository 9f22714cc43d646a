package synth

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Request is one synthesis: a length of audio under fixed conditions, or a
// text said word by word. Every field is optional: the zero Request gives
// one second of 16-bit WAV from the default model.
type Request struct {
	// Model is a served model id (default: "default", or the only model).
	Model string
	// Seconds of audio to generate, or NumSamples at the model's rate (at
	// most one of the two; default 1 s). Not with Text.
	Seconds    *float64
	NumSamples *int
	// Speaker and Label set the condition named "speaker" and the model's
	// label condition (wavenet.Config.LabelCondition); Conditions sets any
	// condition by name. Conditions not given take their first value.
	Speaker    string
	Label      string
	Conditions map[string]string
	// Text is a sequence of label values said one after another
	// (speech.ParseText: digits, number words, any case, punctuation),
	// each word generated until the model's output shows its end
	// (speech.Word) and joined with PauseSeconds of silence (default
	// speech.DefaultPause) and 5 ms fades. LabelSeconds caps the samples
	// of each attempt at a word.
	Text         string
	LabelSeconds *float64
	PauseSeconds *float64
	// Pauses, for a text, give each word its own silence instead of
	// PauseSeconds: one entry per label of the text (speech.Script.Pauses),
	// the silence before it (the first included), each 0 to
	// speech.MaxPause; TrailingPause is silence after the last word. Not
	// with PauseSeconds.
	Pauses        []time.Duration
	TrailingPause time.Duration
	// Speed plays the output that many times faster without changing its
	// pitch (audio.TimeStretch, audio.MinSpeed to audio.MaxSpeed; 0 means
	// 1). A streamed text is stretched word by word (each word with the
	// pause before it); any other streamed request with a speed other
	// than 1 is sent at once when it is all generated, since the stretch
	// needs the whole audio.
	Speed float64
	// GainDB scales the output by 10^(GainDB/20), clipped to [-1, 1]
	// (MinGainDB to MaxGainDB; 0: unchanged).
	GainDB float64
	// Temperature divides the logits (default 1; 0 means greedy).
	Temperature *float64
	// TopK restricts sampling to the k most likely codes (0: all).
	TopK int
	// Guidance is the classifier-free guidance weight on the label
	// (default: the model's, Bundle.DefaultGuidance).
	Guidance *float64
	// Candidates (text only) is how many attempts are made at each word
	// (default: the model's, Bundle.DefaultCandidates).
	Candidates *int
	// Seed makes the output reproducible (default: random). Text word i
	// uses Seed + i.
	Seed *uint64
	// Format is the output encoding: audio.EncodingWAV (default), or any
	// other of audio.Encodings().
	Format audio.Encoding
	// SampleRate resamples the output to MinOutputRate-MaxOutputRate Hz
	// (0: the model's rate).
	SampleRate int
	// Prime is the history the stream starts from (mu-law codes at the
	// model's rate, e.g. a recording's: generate --prime); not with Text.
	Prime []int32
	// ZeroStart starts every attempt at a text's words from zero history
	// instead of speech.PrimeCodes' silence.
	ZeroStart bool

	// Vocoding, for a model with local conditioning (a vocoder,
	// wavenet.Config.Local): exactly one of Mels, Recording and MelStream
	// gives the mel frames, and the audio is frames*hop samples long (not
	// with Seconds, NumSamples, Text or Prime).
	//
	// Mels are the frames, each of n_mels values (the model's
	// Local.Channels), in the model's log-mel scale.
	Mels [][]float32
	// Recording is audio at RecordingRate Hz whose mels are computed with
	// the model's Local.Mel parameters (copy synthesis), after resampling
	// to the model's rate.
	Recording     []float32
	RecordingRate int
	// MelStream delivers frames as they arrive (streaming input): audio
	// is generated while later frames are still to come; the request ends
	// when the channel is closed and its frames are vocoded. The length is
	// not known in advance (Synthesis.Samples is -1).
	MelStream <-chan [][]float32
	// Method is how mel frames become audio: MethodWaveNet (default, the
	// model) or MethodGriffinLim (the classical baseline from the same
	// frames: audio.GriffinLim with the model's Local.Mel parameters,
	// Seed its initial phases; not with MelStream).
	Method string

	// streamFirst is the first receive from MelStream (Start waits for
	// it, so that a stream joins the batch with frames to step on), and
	// streamEnded says the stream was closed then.
	streamFirst [][]float32
	streamEnded bool
}

// The vocoding methods of Request.Method.
const (
	MethodWaveNet    = "wavenet"
	MethodGriffinLim = "griffin-lim"
)

// RequestError is a request the engine cannot serve as given. Msg says
// what is wrong and how to fix it; Field names the request field ("" if
// none); Err, if set, is a sentinel cause (ErrUnknownModel, ErrNoModel).
type RequestError struct {
	Field string
	Msg   string
	Err   error
}

func (e *RequestError) Error() string { return "synth: " + e.Msg }

func (e *RequestError) Unwrap() error { return e.Err }

func badRequest(field, format string, args ...any) *RequestError {
	return &RequestError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Bounds of the output rate.
const (
	MinOutputRate = 1000
	MaxOutputRate = 192000
)

// Bounds of Request.GainDB (Google Cloud Text-to-Speech's volumeGainDb).
const (
	MinGainDB = -96
	MaxGainDB = 16
)

// MaxGuidance bounds the guidance weight of a request.
const MaxGuidance = 100

// plan is a validated request.
type plan struct {
	model    *served
	segs     []segment
	samples  int // generated samples at the model rate, pauses included
	seed     uint64
	format   audio.Encoding
	rate     int    // output rate
	outCount int    // output samples after resampling (text: an upper bound)
	conds    string // "name=value,..." of the conditions used (the text's label shown as "text")
	text     bool
	stream   bool      // vocoding frames that arrive as generated: length unknown
	pauses   []int     // text: samples of silence before each word (the first included)
	trailing int       // text: samples of silence after the last word
	speed    float64   // audio.TimeStretch speed (1: none)
	gain     float32   // output gain factor (1: none)
	direct   []float32 // the audio computed at planning (griffin-lim), at the model's rate
	items    []speech.Item
	// cost is the samples the request's streams may generate (a text:
	// each word's candidates times the samples of an attempt; guide
	// streams, which every guided request has, are not counted), and
	// units the admissions it takes: cost over one stream of
	// Options.MaxSeconds, rounded up (see Engine.Start).
	cost  int64
	units int
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (e *Engine) pickModel(ctx context.Context, id string) (*served, error) {
	if id == "" {
		if m, ok := e.lookup("default"); ok {
			return m, nil
		}
		all := e.served()
		if len(all) == 1 {
			return all[0], nil
		}
		if len(all) == 0 {
			return nil, &RequestError{Field: "model", Err: ErrNoModel, Msg: "the server has no model loaded; start it with --models DIR"}
		}
		return nil, badRequest("model", "field \"model\" is required when several models are served (%s); GET /v1/models lists them", strings.Join(e.IDs(), ", "))
	}
	m, ok := e.lookup(id)
	if ok {
		e.touch(id)
		return m, nil
	}
	if e.opts.Source != nil && ValidModelID(id) {
		return e.fromSource(ctx, id)
	}
	return nil, unknownModel(id, e.IDs())
}

// unknownModel is the error of a request naming a model not served.
func unknownModel(id string, served []string) error {
	return &RequestError{Field: "model", Err: ErrUnknownModel,
		Msg: fmt.Sprintf("unknown model %q; GET /v1/models lists the models (%s)", id, strings.Join(served, ", "))}
}

func (e *Engine) plan(ctx context.Context, r *Request) (*plan, error) {
	m, err := e.pickModel(ctx, r.Model)
	if err != nil {
		return nil, err
	}
	cfg := m.b.Model.Config
	vocode := r.Mels != nil || r.Recording != nil || r.MelStream != nil
	switch {
	case cfg.Local == nil && vocode:
		return nil, badRequest("mels", "model %q is not a vocoder (it has no local conditioning): mel frames and recordings are vocoded by a model trained with --local mel; GET /v1/models lists each model's mel parameters", m.id)
	case cfg.Local != nil && !vocode:
		return nil, badRequest("mels", "model %q is a vocoder (local conditioning on %d mel channels): send it mel frames (POST /v1/vocode, wavenet vocode) or a recording for copy synthesis", m.id, cfg.Local.Channels)
	case r.Method != "" && r.Method != MethodWaveNet && r.Method != MethodGriffinLim:
		return nil, badRequest("method", "field \"method\" is %q; want %q (the model) or %q (the classical baseline)", r.Method, MethodWaveNet, MethodGriffinLim)
	case r.Method == MethodGriffinLim && !vocode:
		return nil, badRequest("method", "method %q inverts mel frames: send \"mels\" or a recording to a vocoder", r.Method)
	case vocode && r.Text != "":
		return nil, badRequest("text", "a vocoder says mel frames, not text: drop \"text\"")
	}
	rate := cfg.SampleRate
	maxSec := e.opts.MaxSeconds
	maxN := int(math.Floor(maxSec * float64(rate)))
	p := &plan{model: m, format: r.Format, rate: r.SampleRate, text: r.Text != ""}

	// Conditioning.
	if r.Text != "" && r.Label != "" {
		return nil, badRequest("text", "give \"label\" or \"text\", not both")
	}
	if r.Text != "" && len(r.Prime) > 0 {
		return nil, badRequest("prime", "a text is said from silence: drop the prime")
	}
	var items []speech.Item
	var cond []int
	lc := cfg.LabelCondition()
	if r.Text != "" {
		given := map[string]string{}
		for k, v := range r.Conditions {
			given[k] = v
		}
		if r.Speaker != "" {
			given["speaker"] = r.Speaker
		}
		if items, err = speech.Items(cfg, r.Text, given); err != nil {
			return nil, err
		}
		cond = items[0].Cond
	} else if cond, err = resolveConditions(m.id, cfg, r.Conditions, r.Speaker, r.Label); err != nil {
		return nil, err
	}
	var used []string
	for i, c := range cfg.Conditions {
		v := c.Values[cond[i]]
		if i == lc && r.Text != "" {
			v = "text"
		}
		used = append(used, c.Name+"="+v)
	}
	p.conds = strings.Join(used, ",")

	// Sampling.
	opts := streamOptions{Cond: cond, Temperature: 1}
	if r.Temperature != nil {
		t := *r.Temperature
		switch {
		case !finite(t) || t < 0:
			return nil, badRequest("temperature", "field \"temperature\" is %v; want a finite number >= 0 (0 means greedy, 1 the model's distribution)", t)
		case t == 0:
			opts.Greedy = true
		case t > 100 || t < 1e-3:
			return nil, badRequest("temperature", "field \"temperature\" is %v; want 0 (greedy) or a value from 0.001 to 100", t)
		default:
			opts.Temperature = float32(t)
		}
	}
	if r.TopK < 0 || r.TopK > cfg.QuantizationChannels {
		return nil, badRequest("top_k", "field \"top_k\" is %d; want 0 (all codes) to %d", r.TopK, cfg.QuantizationChannels)
	}
	opts.TopK = r.TopK
	guide, err := guidance(m, lc, r.Guidance)
	if err != nil {
		return nil, err
	}
	cands, err := candidates(m, lc, r)
	if err != nil {
		return nil, err
	}
	if r.Seed != nil {
		p.seed = *r.Seed
	} else {
		p.seed = rand.Uint64() & (1<<53 - 1) // exact in JavaScript numbers too
	}
	opts.Seed = p.seed

	// Length.
	if vocode {
		if err := e.planVocode(ctx, p, r, opts, maxN); err != nil {
			return nil, err
		}
	} else if r.Text != "" {
		if err := e.planText(p, r, items, opts, guide, cands, maxN); err != nil {
			return nil, err
		}
	} else {
		n := rate // 1 s
		switch {
		case r.Seconds != nil && r.NumSamples != nil:
			return nil, badRequest("seconds", "give \"seconds\" or \"num_samples\", not both")
		case r.Seconds != nil:
			sec := *r.Seconds
			if !finite(sec) || sec <= 0 || sec > maxSec {
				return nil, badRequest("seconds", "field \"seconds\" is %v; want more than 0 and at most %g (this server's limit)", sec, maxSec)
			}
			n = max(1, int(math.Round(sec*float64(rate))))
		case r.NumSamples != nil:
			n = *r.NumSamples
			if n <= 0 || n > maxN {
				return nil, badRequest("num_samples", "field \"num_samples\" is %d; want 1 to %d (%g s at %d Hz, this server's limit)", n, maxN, maxSec, rate)
			}
		}
		opts.guide(cfg, lc, guide, 1)
		p.segs = []segment{{opts: opts, n: n, prime: r.Prime}}
		p.samples = n
	}

	if !r.text() && (r.Pauses != nil || r.TrailingPause != 0) {
		return nil, badRequest("pauses", "per-word pauses apply to a text: send \"text\" or drop the pauses")
	}
	p.speed = 1
	if r.Speed != 0 {
		if !(r.Speed >= audio.MinSpeed && r.Speed <= audio.MaxSpeed) {
			return nil, badRequest("speed", "field \"speed\" is %v; want %v to %v (1: as generated)", r.Speed, audio.MinSpeed, audio.MaxSpeed)
		}
		p.speed = r.Speed
	}
	p.gain = 1
	if r.GainDB != 0 {
		if !(r.GainDB >= MinGainDB && r.GainDB <= MaxGainDB) {
			return nil, badRequest("gain_db", "gain %v dB; want %v to %v", r.GainDB, MinGainDB, MaxGainDB)
		}
		p.gain = float32(math.Pow(10, r.GainDB/20))
	}
	if err := p.planOutput(rate); err != nil {
		return nil, err
	}
	if err := e.planCost(p, maxN); err != nil {
		return nil, err
	}
	return p, nil
}

// planCost sets p's cost and units, an admission being one stream of
// maxN samples, and refuses a request that costs more than all the
// model's generation slots together.
func (e *Engine) planCost(p *plan, maxN int) error {
	for _, s := range p.segs {
		n := int64(s.n)
		if s.word != nil {
			n *= int64(max(1, s.word.Candidates))
		}
		p.cost += n
	}
	p.units = int(max(1, (p.cost+int64(maxN)-1)/int64(maxN)))
	if p.units <= e.opts.MaxStreams {
		return nil
	}
	rate := float64(p.model.b.Model.Config.SampleRate)
	if p.text {
		cands := 1
		if len(p.segs) > 0 && p.segs[0].word != nil {
			cands = max(1, p.segs[0].word.Candidates)
		}
		return badRequest("candidates", "text of %d labels with %d candidates each may generate %.0f s of audio, more than this server generates for one request (%d streams of %g s); send fewer candidates or less text",
			len(p.segs), cands, float64(p.cost)/rate, e.opts.MaxStreams, e.opts.MaxSeconds)
	}
	return badRequest("seconds", "the request may generate %.0f s of audio, more than this server generates for one request (%d streams of %g s); ask for less", float64(p.cost)/rate, e.opts.MaxStreams, e.opts.MaxSeconds)
}

// planOutput checks the output format and rate of p, whose model runs at
// rate Hz, and counts the output samples.
func (p *plan) planOutput(rate int) error {
	if p.format == "" {
		p.format = audio.EncodingWAV
	}
	if !slices.Contains(audio.Encodings(), p.format) {
		names := make([]string, 0, len(audio.Encodings()))
		for _, e := range audio.Encodings() {
			names = append(names, string(e))
		}
		return badRequest("format", "field \"format\" is %q; want one of %s", p.format, quoteList(names))
	}
	if p.rate == 0 {
		p.rate = rate
	}
	if p.rate < MinOutputRate || p.rate > MaxOutputRate {
		return badRequest("sample_rate", "field \"sample_rate\" is %d; want %d to %d Hz, or 0 (or leave it out) for the model's %d Hz", p.rate, MinOutputRate, MaxOutputRate, rate)
	}
	p.outCount = p.samples
	if p.speed != 1 { // audio.TimeStretch's length
		p.outCount = int(math.Round(float64(p.samples) / p.speed))
	}
	if p.rate != rate {
		if _, err := audio.NewStreamResampler(rate, p.rate); err != nil {
			return badRequest("sample_rate", "field \"sample_rate\": %d Hz from the model's %d Hz is not a ratio this server resamples (%s); use a common rate such as 8000, 16000, 22050, 44100 or 48000",
				p.rate, rate, strings.TrimPrefix(err.Error(), "audio: "))
		}
		p.outCount = audio.ResampledLen(p.outCount, rate, p.rate)
	}
	return nil
}

// planText plans the words of a text request: one word segment each,
// said by speech.Word's policy.
func (e *Engine) planText(p *plan, r *Request, items []speech.Item, opts streamOptions, guide float32, cands, maxN int) error {
	m := p.model
	cfg := m.b.Model.Config
	rate, lc := cfg.SampleRate, cfg.LabelCondition()
	if r.Seconds != nil || r.NumSamples != nil {
		return badRequest("text", "with \"text\", each word lasts as long as the model says it (label_seconds can cap it); drop \"seconds\" and \"num_samples\"")
	}
	var capN int
	ps := speech.DefaultPause.Seconds()
	if r.LabelSeconds != nil {
		ls := *r.LabelSeconds
		if !finite(ls) || ls < 0.01 || ls > 10 {
			return badRequest("label_seconds", "field \"label_seconds\" is %v; want 0.01 to 10 (or leave it out: the model's duration statistics decide)", ls)
		}
		capN = max(1, int(math.Round(ls*float64(rate))))
	}
	if r.PauseSeconds != nil {
		ps = *r.PauseSeconds
	}
	if !finite(ps) || ps < 0 || ps > 10 {
		return badRequest("pause_seconds", "field \"pause_seconds\" is %v; want 0 to 10", ps)
	}
	if err := p.planPauses(r, len(items), int(math.Round(ps*float64(rate))), rate); err != nil {
		return err
	}
	attempts := speech.DefaultAttempts
	if opts.Greedy {
		attempts, cands = 1, 1 // greedy attempts are all the same
	}
	prime := speech.PrimeCodes(cfg)
	if r.ZeroStart {
		prime = nil
	}
	p.items = items
	for i, it := range items {
		o := opts
		o.Cond = it.Cond
		o.Seed = p.seed + uint64(i)
		o.guide(cfg, lc, guide, cands)
		d, _ := m.b.Stats.Lookup(cfg, it.Cond)
		lim := speech.Options{}.Limits(d, rate)
		n, kept := lim.Lead+lim.Cap, lim.Cap // per attempt: generated, kept at most
		if capN > 0 {
			n, kept = capN, min(kept, capN)
		}
		p.segs = append(p.segs, segment{opts: o, n: n, wordPrime: prime, word: &speech.WordOptions{
			Q: cfg.QuantizationChannels, Rate: rate, Duration: d, Seed: o.Seed,
			Candidates: cands, Attempts: attempts, Cap: capN}})
		p.samples += kept + p.pauses[i]
	}
	p.samples += p.trailing
	if p.samples > maxN {
		return badRequest("text", "text of %d labels may need up to %.2f s of audio, more than this server's limit of %g s; send less text (or lower label_seconds/pause_seconds)",
			len(items), float64(p.samples)/float64(rate), e.opts.MaxSeconds)
	}
	return nil
}

// planPauses sets the silence before each of the n words of a text
// request and after the last: r.Pauses and r.TrailingPause when given,
// else pause samples between every two words.
func (p *plan) planPauses(r *Request, n, pause, rate int) error {
	if r.Pauses != nil || r.TrailingPause != 0 {
		switch {
		case r.PauseSeconds != nil:
			return badRequest("pause_seconds", "give \"pause_seconds\" or per-word pauses, not both")
		case r.Pauses != nil && len(r.Pauses) != n:
			return badRequest("pauses", "%d pauses for a text of %d labels; want one per label (the silence before it)", len(r.Pauses), n)
		case r.TrailingPause < 0 || r.TrailingPause > speech.MaxPause:
			return badRequest("pauses", "trailing pause %v; want 0 to %v", r.TrailingPause, speech.MaxPause)
		}
		for i, d := range r.Pauses {
			if d < 0 || d > speech.MaxPause {
				return badRequest("pauses", "pause %d is %v; want 0 to %v", i, d, speech.MaxPause)
			}
		}
	}
	p.pauses = speech.PauseSamples(r.Pauses, rate)
	if p.pauses == nil {
		p.pauses = make([]int, n)
		for i := 1; i < n; i++ {
			p.pauses[i] = pause
		}
	}
	p.trailing = int(math.Round(r.TrailingPause.Seconds() * float64(rate)))
	return nil
}

func (r *Request) text() bool { return r.Text != "" }

// ResolveConditions turns condition values given by name (plus the
// "speaker" and "label" shorthands) into the indices of model id's config
// cfg, the first value of each condition not given; errors are
// *RequestError.
func ResolveConditions(id string, cfg wavenet.Config, named map[string]string, speaker, label string) ([]int, error) {
	return resolveConditions(id, cfg, named, speaker, label)
}

func resolveConditions(id string, cfg wavenet.Config, named map[string]string, speaker, label string) ([]int, error) {
	cond := make([]int, len(cfg.Conditions))
	given := map[string]string{}
	for k, v := range named {
		if cfg.Condition(k) < 0 {
			return nil, badRequest("conditions", "conditions: model %q has no condition %q (its conditions: %s)", id, k, condNames(cfg))
		}
		given[k] = v
	}
	if speaker != "" {
		if cfg.Condition("speaker") < 0 {
			return nil, badRequest("speaker", "\"speaker\": model %q has no speaker condition (its conditions: %s)", id, condNames(cfg))
		}
		given["speaker"] = speaker
	}
	lc := cfg.LabelCondition()
	if label != "" {
		if lc < 0 {
			return nil, badRequest("label", "\"label\": model %q has no label condition (its conditions: %s)", id, condNames(cfg))
		}
		given[cfg.Conditions[lc].Name] = label
	}
	for i, c := range cfg.Conditions {
		v, ok := given[c.Name]
		if !ok {
			continue
		}
		idx, err := c.Index(v)
		if err != nil {
			return nil, badRequest(c.Name, "%s", strings.TrimPrefix(err.Error(), "wavenet: "))
		}
		cond[i] = idx
	}
	return cond, nil
}

func condNames(cfg wavenet.Config) string {
	if len(cfg.Conditions) == 0 {
		return "none"
	}
	names := make([]string, len(cfg.Conditions))
	for i, c := range cfg.Conditions {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// guidance is the guidance weight of a request to m whose label condition
// is lc: the request's, else the model's default.
func guidance(m *served, lc int, req *float64) (float32, error) {
	if req == nil {
		return float32(m.b.DefaultGuidance()), nil
	}
	g := *req
	if !finite(g) || g < 0 || g > MaxGuidance {
		return 0, badRequest("guidance", "field \"guidance\" is %v; want 0 (none) to %d", g, MaxGuidance)
	}
	if g > 0 && !m.b.Model.Config.HasNull(lc) {
		return 0, badRequest("guidance", "field \"guidance\" needs a model whose label condition has a null row (trained with conditioning dropout); model %q has none: leave guidance out or send 0", m.id)
	}
	return float32(g), nil
}

// candidates is the number of candidates per word of a request to m whose
// label condition is lc: the request's, else the model's default.
func candidates(m *served, lc int, r *Request) (int, error) {
	if r.Candidates == nil {
		if r.Text == "" {
			return 1, nil
		}
		return m.b.DefaultCandidates(), nil
	}
	n := *r.Candidates
	switch {
	case n < 1 || n > speech.MaxCandidates:
		return 0, badRequest("candidates", "field \"candidates\" is %d; want 1 to %d", n, speech.MaxCandidates)
	case n > 1 && r.Text == "":
		return 0, badRequest("candidates", "field \"candidates\" applies to \"text\" requests (each word's best attempt is kept); send text, or leave candidates out")
	case n > 1 && !m.b.Model.Config.HasNull(lc):
		return 0, badRequest("candidates", "field \"candidates\" needs a model whose label condition has a null row (trained with conditioning dropout); model %q has none: leave it out or send 1", m.id)
	}
	return n, nil
}

// guide sets o's guidance to weight g against the null row of condition
// lc, the other conditions kept, and gives o the guide stream that scores
// its attempts when there are several candidates; g = 0 with one
// candidate leaves o unguided.
func (o *streamOptions) guide(cfg wavenet.Config, lc int, g float32, cands int) {
	if g == 0 && cands <= 1 {
		return
	}
	o.Guidance = g
	o.GuideCond = slices.Clone(o.Cond)
	o.GuideCond[lc] = cfg.Conditions[lc].NullIndex()
}
