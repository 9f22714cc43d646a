package api

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// SynthesizeRequest is the body of POST /v1/synthesize. Every field is
// optional: {} gives one second of 16-bit WAV from the default model.
type SynthesizeRequest struct {
	// Model is a model id from GET /v1/models (default: "default", or the
	// only model served).
	Model string `json:"model,omitempty"`
	// Seconds of audio to generate, or NumSamples at the model's sample
	// rate (at most one of the two; default 1 s).
	Seconds    *float64 `json:"seconds,omitempty"`
	NumSamples *int     `json:"num_samples,omitempty"`
	// Speaker and Label set the conditions named "speaker" and the model's
	// label condition (the first one not named "speaker", e.g. "digit").
	// Conditions sets any condition by name. Conditions not given take
	// their first value.
	Speaker    string            `json:"speaker,omitempty"`
	Label      string            `json:"label,omitempty"`
	Conditions map[string]string `json:"conditions,omitempty"`
	// Text is a sequence of label values (the digits of the default voice;
	// words or digits separated by spaces or commas, digit strings are
	// split into digits, number words "zero".."nine" map to digits when the
	// labels are digits) said one after another the way `wavenet say`
	// says them (package speech): each word is generated conditioned on
	// (speaker, word) until the model's output shows its end (how long
	// comes from the model's per (speaker, word) duration statistics,
	// speech.StatsFile in its checkpoint), retried with another seed when
	// nothing plausible came out, trimmed of leading and trailing silence,
	// and the words are joined with PauseSeconds of silence (default 0.15,
	// speech.DefaultPause) and 5 ms fades. LabelSeconds, if given, caps the
	// samples generated for each attempt at a word (leading silence
	// included): a word still running then is cut there; by default there
	// is no such cap.
	Text         string   `json:"text,omitempty"`
	LabelSeconds *float64 `json:"label_seconds,omitempty"`
	PauseSeconds *float64 `json:"pause_seconds,omitempty"`
	// Temperature divides the logits (default 1; 0 means greedy).
	Temperature *float64 `json:"temperature,omitempty"`
	// TopK restricts sampling to the k most likely codes (0: all).
	TopK int `json:"top_k,omitempty"`
	// Guidance is the classifier-free guidance weight on the label
	// (cache.StreamOptions.Guidance, against the label's null row): 0 is
	// plain sampling; the default is the model's (GET /v1/models shows
	// it). A guided request costs two streams' work. Only models whose
	// label condition has a null row (trained with conditioning dropout)
	// take a positive weight.
	Guidance *float64 `json:"guidance,omitempty"`
	// Candidates (text only) is how many attempts are made at each word,
	// side by side as free generator slots allow; the one the model finds
	// says the most about its word is kept (speech.GenOptions.Candidates).
	// Default: the model's; more than 1 needs a model whose label
	// condition has a null row.
	Candidates *int `json:"candidates,omitempty"`
	// Seed makes the output reproducible (default: random, returned in
	// the X-Seed header). Text word i uses Seed + i (as `wavenet say
	// --seed` does; its retries derive their seeds from it).
	Seed *uint64 `json:"seed,omitempty"`
	// Format is wav (default), pcm16, mulaw or float32.
	Format string `json:"format,omitempty"`
	// SampleRate resamples the output (default: the model's rate).
	SampleRate int `json:"sample_rate,omitempty"`
	// Stream sends the audio while it is generated (chunked transfer).
	Stream bool `json:"stream,omitempty"`
}

// Bounds of the output rate.
const (
	minOutputRate = 1000
	maxOutputRate = 192000
)

// textPlan is the part of a plan specific to a text request.
type textPlan struct {
	labels []string // the words said
	pause  int      // samples of silence between words
}

// plan is a validated synthesis request.
type plan struct {
	model    *servedModel
	segs     []segment
	samples  int // generated samples at the model rate, pauses included
	seed     uint64
	format   string
	rate     int // output rate
	stream   bool
	outCount int    // output samples after resampling (text: an upper bound)
	conds    string // "name=value,..." of the conditions used (the text's label shown as "text")
	text     *textPlan
}

func (s *Server) pickModel(id string) (*servedModel, error) {
	if id == "" {
		if m, ok := s.lookup("default"); ok {
			return m, nil
		}
		all := s.served()
		if len(all) == 1 {
			return all[0], nil
		}
		if len(all) == 0 {
			return nil, Errorf(http.StatusServiceUnavailable, "unavailable", "the server has no model loaded; start it with --models DIR")
		}
		return nil, badRequest("field \"model\" is required when several models are served (%s); GET /v1/models lists them", strings.Join(s.modelIDs(), ", "))
	}
	m, ok := s.lookup(id)
	if !ok {
		return nil, Errorf(http.StatusNotFound, "model_not_found", "unknown model %q; GET /v1/models lists the models (%s)", id, strings.Join(s.modelIDs(), ", "))
	}
	return m, nil
}

func (s *Server) planSynthesis(r *SynthesizeRequest) (*plan, error) {
	m, err := s.pickModel(r.Model)
	if err != nil {
		return nil, err
	}
	cfg := m.net.Config
	rate := cfg.SampleRate
	maxN := int(math.Floor(s.opts.MaxSeconds * float64(rate)))
	p := &plan{model: m, format: r.Format, rate: r.SampleRate, stream: r.Stream}

	// Conditioning.
	if r.Text != "" && r.Label != "" {
		return nil, badRequest("give \"label\" or \"text\", not both")
	}
	var items []speech.Item
	var labels []string
	var cond []int
	var lc int
	if r.Text != "" {
		items, labels, err = textItems(cfg, r)
		if err != nil {
			return nil, err
		}
		cond, lc = items[0].Cond, cfg.LabelCondition()
	} else if cond, lc, err = resolveConditions(m, r.Conditions, r.Speaker, r.Label); err != nil {
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
			return nil, badRequest("field \"temperature\" is %v; want a finite number >= 0 (0 means greedy, 1 the model's distribution)", t)
		case t == 0:
			opts.Greedy = true
		case t > 100 || t < 1e-3:
			return nil, badRequest("field \"temperature\" is %v; want 0 (greedy) or a value from 0.001 to 100", t)
		default:
			opts.Temperature = float32(t)
		}
	}
	if r.TopK < 0 || r.TopK > cfg.QuantizationChannels {
		return nil, badRequest("field \"top_k\" is %d; want 0 (all codes) to %d", r.TopK, cfg.QuantizationChannels)
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
	if r.Text != "" {
		if r.Seconds != nil || r.NumSamples != nil {
			return nil, badRequest("with \"text\", each word lasts as long as the model says it (label_seconds can cap it); drop \"seconds\" and \"num_samples\"")
		}
		var capN int
		ps := speech.DefaultPause.Seconds()
		if r.LabelSeconds != nil {
			ls := *r.LabelSeconds
			if !finite(ls) || ls < 0.01 || ls > 10 {
				return nil, badRequest("field \"label_seconds\" is %v; want 0.01 to 10 (or leave it out: the model's duration statistics decide)", ls)
			}
			capN = max(1, int(math.Round(ls*float64(rate))))
		}
		if r.PauseSeconds != nil {
			ps = *r.PauseSeconds
		}
		if !finite(ps) || ps < 0 || ps > 10 {
			return nil, badRequest("field \"pause_seconds\" is %v; want 0 to 10", ps)
		}
		pause := int(math.Round(ps * float64(rate)))
		attempts := 3 // speech.GenOptions' default
		if opts.Greedy {
			attempts, cands = 1, 1
		}
		p.text = &textPlan{labels: labels, pause: pause}
		prime := speech.PrimeCodes(cfg)
		for i, it := range items {
			o := opts
			o.Cond = it.Cond
			o.Seed = p.seed + uint64(i)
			o.guide(cfg, lc, guide, cands)
			d, _ := m.stats.Lookup(cfg, it.Cond)
			lim := speech.Options{}.Limits(d, rate)
			n, kept := lim.Lead+lim.Cap, lim.Cap // per attempt: generated, kept at most
			if capN > 0 {
				n, kept = capN, min(kept, capN)
			}
			p.segs = append(p.segs, segment{opts: o, n: n, word: &wordSpec{q: cfg.QuantizationChannels, rate: rate,
				dur: d, attempts: attempts, cands: cands, capN: capN, prime: prime}})
			p.samples += kept
			if i > 0 {
				p.samples += pause
			}
		}
		if p.samples > maxN {
			return nil, badRequest("text of %d labels may need up to %.2f s of audio, more than this server's limit of %g s; send less text (or lower label_seconds/pause_seconds)",
				len(labels), float64(p.samples)/float64(rate), s.opts.MaxSeconds)
		}
	} else {
		n := rate // 1 s
		switch {
		case r.Seconds != nil && r.NumSamples != nil:
			return nil, badRequest("give \"seconds\" or \"num_samples\", not both")
		case r.Seconds != nil:
			sec := *r.Seconds
			if !finite(sec) || sec <= 0 || sec > s.opts.MaxSeconds {
				return nil, badRequest("field \"seconds\" is %v; want more than 0 and at most %g (this server's limit)", sec, s.opts.MaxSeconds)
			}
			n = max(1, int(math.Round(sec*float64(rate))))
		case r.NumSamples != nil:
			n = *r.NumSamples
			if n <= 0 || n > maxN {
				return nil, badRequest("field \"num_samples\" is %d; want 1 to %d (%g s at %d Hz, this server's limit)", n, maxN, s.opts.MaxSeconds, rate)
			}
		}
		opts.guide(cfg, lc, guide, 1)
		p.segs = []segment{{opts: opts, n: n}}
		p.samples = n
	}

	// Output.
	if p.format == "" {
		p.format = formatWAV
	}
	known := false
	for _, f := range formats {
		known = known || f == p.format
	}
	if !known {
		return nil, badRequest("field \"format\" is %q; want one of %s", p.format, quoteList(formats))
	}
	if p.rate == 0 {
		p.rate = rate
	}
	if p.rate < minOutputRate || p.rate > maxOutputRate {
		return nil, badRequest("field \"sample_rate\" is %d; want %d to %d Hz (or leave it out for the model's %d Hz)", p.rate, minOutputRate, maxOutputRate, rate)
	}
	p.outCount = p.samples
	if p.rate != rate {
		if !resampleSupported(rate, p.rate) {
			return nil, badRequest("field \"sample_rate\": %d Hz from the model's %d Hz is not a ratio this server resamples (the reduced ratio's numerator must be at most %d); use a common rate such as 8000, 16000, 22050, 44100 or 48000", p.rate, rate, maxPhases)
		}
		p.outCount = resampledLen(p.samples, rate, p.rate)
	}
	return p, nil
}

// resolveConditions turns condition values given by name (plus the
// "speaker" and "label" shorthands) into indices, the first value of each
// condition not given. It also returns the label condition's index (-1).
func resolveConditions(m *servedModel, named map[string]string, speaker, label string) ([]int, int, error) {
	cfg := m.net.Config
	cond := make([]int, len(cfg.Conditions))
	given := map[string]string{}
	for k, v := range named {
		if cfg.Condition(k) < 0 {
			return nil, -1, badRequest("conditions: model %q has no condition %q (its conditions: %s)", m.id, k, condNames(cfg))
		}
		given[k] = v
	}
	if speaker != "" {
		if cfg.Condition("speaker") < 0 {
			return nil, -1, badRequest("\"speaker\": model %q has no speaker condition (its conditions: %s)", m.id, condNames(cfg))
		}
		given["speaker"] = speaker
	}
	lc := cfg.LabelCondition()
	if label != "" {
		if lc < 0 {
			return nil, -1, badRequest("\"label\": model %q has no label condition (its conditions: %s)", m.id, condNames(cfg))
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
			return nil, -1, badRequest("%s", strings.TrimPrefix(err.Error(), "wavenet: "))
		}
		cond[i] = idx
	}
	return cond, lc, nil
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

var numberWords = map[string]string{
	"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
	"five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}

// textItems maps a text request to speech's items (one per word, seeds
// left at 0), the way `wavenet say` does (speech.Items), so that unknown
// speakers, conditions and words are *speech.InputError listing what is
// allowed. Before that, tokens (separated by spaces, commas, semicolons,
// periods, '!' or '?') that match a label value case-insensitively become
// that value and number words become digits; conditions not given take
// their first value, as for other requests.
func textItems(cfg wavenet.Config, r *SynthesizeRequest) ([]speech.Item, []string, error) {
	given := map[string]string{}
	for k, v := range r.Conditions {
		given[k] = v
	}
	if r.Speaker != "" {
		given["speaker"] = r.Speaker
	}
	lc := cfg.LabelCondition()
	text := r.Text
	if lc >= 0 {
		c := cfg.Conditions[lc]
		for i, cd := range cfg.Conditions {
			if _, ok := given[cd.Name]; !ok && i != lc && len(cd.Values) > 0 {
				given[cd.Name] = cd.Values[0]
			}
		}
		tokens := strings.FieldsFunc(text, func(r rune) bool {
			return unicode.IsSpace(r) || r == ',' || r == ';' || r == '.' || r == '!' || r == '?'
		})
		for i, tok := range tokens {
			if slices.Contains(c.Values, tok) {
				continue
			}
			for _, v := range c.Values {
				if strings.EqualFold(v, tok) {
					tokens[i] = v
				}
			}
			if d, ok := numberWords[strings.ToLower(tok)]; ok && slices.Contains(c.Values, d) {
				tokens[i] = d
			}
		}
		text = strings.Join(tokens, " ")
	}
	return speech.Items(cfg, speech.Request{Text: text, Cond: given})
}

func (s *Server) handleSynthesize(c echo.Context) error {
	var req SynthesizeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if s.draining.Load() {
		return ErrShutdown
	}
	p, err := s.planSynthesis(&req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel() // stops the generation if the handler returns early
	cfg := p.model.net.Config
	j := &job{segs: p.segs, silence: pauseCode}
	if err := p.model.sched.submit(ctx, j); err != nil {
		return err
	}
	defer p.model.sched.release()

	h := c.Response().Header()
	h.Set("X-Seed", strconv.FormatUint(p.seed, 10))
	h.Set("X-Model", p.model.id)
	if p.conds != "" {
		h.Set("X-Conditions", p.conds)
	}
	h.Set("X-Sample-Rate", strconv.Itoa(p.rate))
	if p.text == nil { // a text's length is known once it is said
		setLength(h, p.outCount, p.rate)
	}
	h.Set("X-Audio-Encoding", encodingName(p.format))
	h.Set(echo.HeaderContentType, contentType(p.format, p.rate))
	h.Set("Cache-Control", "no-store")

	if p.stream {
		return s.streamOut(c, ctx, p, j)
	}
	var x []float32
	if p.text != nil {
		var words [][]float32
		for chunk := range j.out { // one chunk per word
			words = append(words, decodeCodes(nil, chunk, cfg.QuantizationChannels))
		}
		x = speech.Concat(words, p.text.pause, cfg.SampleRate)
	} else {
		codes := make([]int32, 0, p.samples)
		for chunk := range j.out {
			codes = append(codes, chunk...)
		}
		x = decodeCodes(nil, codes, cfg.QuantizationChannels)
	}
	if j.err != nil {
		if errors.Is(j.err, context.Canceled) && ctx.Err() != nil {
			return ctx.Err() // deadline (503) or client gone (499)
		}
		return j.err
	}
	if p.rate != cfg.SampleRate {
		x = resampleAll(x, cfg.SampleRate, p.rate)
	}
	if p.text != nil {
		setLength(h, len(x), p.rate)
	}
	body := make([]byte, 0, encodedSize(p.format, len(x)))
	if p.format == formatWAV {
		var hb headerBuf
		_ = writeWAVHeader(&hb, p.rate, len(x))
		body = append(body, hb...)
	}
	body = appendSamples(body, x, p.format)
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	c.Response().WriteHeader(http.StatusOK)
	_, err = c.Response().Write(body)
	return err
}

// setLength sets the headers that give the audio's length: n samples at
// rate Hz.
func setLength(h http.Header, n, rate int) {
	h.Set("X-Num-Samples", strconv.Itoa(n))
	h.Set("X-Audio-Duration", strconv.FormatFloat(float64(n)/float64(rate), 'f', -1, 64))
}

// textPiece returns what a streamed text sends for word i (decoded, in
// word): the pause before it (none before the first) and the word faded in
// and out, so that the pieces add up to speech.Concat of the words.
func (t *textPlan) piece(dst, word []float32, i, rate int) []float32 {
	dst = dst[:0]
	if i > 0 {
		dst = append(dst, make([]float32, t.pause)...)
	}
	return append(dst, speech.Concat([][]float32{word}, 0, rate)...)
}

// pauseCode marks the pause samples of segments with pauseAfter in the
// code chunks (text words are joined by speech.Concat instead):
// exact digital silence, where the mu-law silence code would decode to
// its bin centre (not quite 0).
const pauseCode = -1

// decodeCodes is mulaw.Decode with pauseCode decoded as 0.
func decodeCodes(dst []float32, codes []int32, q int) []float32 {
	dst = mulaw.Decode(dst, codes, q)
	for i, c := range codes {
		if c == pauseCode {
			dst[i] = 0
		}
	}
	return dst
}

type headerBuf []byte

func (b *headerBuf) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// streamOut sends the audio chunk by chunk as it is generated (a text word
// by word, each once it is finished and trimmed). Once the first byte is
// out, an error can only cut the connection: the client sees a truncated
// (chunked) body instead of a clean end.
func (s *Server) streamOut(c echo.Context, ctx context.Context, p *plan, j *job) error {
	cfg := p.model.net.Config
	res := c.Response()
	res.Header().Del(echo.HeaderContentLength)
	res.WriteHeader(http.StatusOK)
	if p.format == formatWAV {
		if err := writeWAVHeader(res, p.rate, -1); err != nil {
			return nil // the client went away; the deferred cancel stops the job
		}
	}
	res.Flush()
	var rs *streamResampler
	if p.rate != cfg.SampleRate {
		rs = newStreamResampler(cfg.SampleRate, p.rate)
	}
	var x, piece []float32
	var buf []byte
	write := func(x []float32) bool {
		buf = appendSamples(buf[:0], x, p.format)
		if _, err := res.Write(buf); err != nil {
			return false
		}
		res.Flush()
		return true
	}
	words := 0
	for chunk := range j.out {
		x = decodeCodes(x, chunk, cfg.QuantizationChannels)
		y := x
		if p.text != nil {
			piece = p.text.piece(piece, x, words, cfg.SampleRate)
			y = piece
			words++
		}
		if rs != nil {
			y = rs.push(x)
		}
		if !write(y) {
			return nil
		}
	}
	if j.err != nil {
		if errors.Is(c.Request().Context().Err(), context.Canceled) {
			return nil // the client left; nothing to tell it
		}
		s.log.Warn("stream cut after the first byte", "request_id", requestID(c), "err", j.err)
		panic(http.ErrAbortHandler)
	}
	if rs != nil {
		if !write(rs.flush()) {
			return nil
		}
	}
	return nil
}

// maxGuidance bounds the guidance weight of a request.
const maxGuidance = 100

// guidance is the guidance weight of a request to m whose label condition
// is lc: the request's, else the model's default (its speech statistics).
func guidance(m *servedModel, lc int, req *float64) (float32, error) {
	if req == nil {
		return float32(m.defaultGuidance(lc)), nil
	}
	g := *req
	if !finite(g) || g < 0 || g > maxGuidance {
		return 0, badRequest("field \"guidance\" is %v; want 0 (none) to %d", g, maxGuidance)
	}
	if g > 0 && !m.net.Config.HasNull(lc) {
		return 0, badRequest("field \"guidance\" needs a model whose label condition has a null row (trained with conditioning dropout); model %q has none: leave guidance out or send 0", m.id)
	}
	return float32(g), nil
}

// candidates is the number of candidates per word of a request to m whose
// label condition is lc: the request's, else the model's default.
func candidates(m *servedModel, lc int, r *SynthesizeRequest) (int, error) {
	if r.Candidates == nil {
		if m.stats == nil || r.Text == "" || !m.net.Config.HasNull(lc) {
			return 1, nil
		}
		return max(1, m.stats.Candidates), nil
	}
	n := *r.Candidates
	switch {
	case n < 1 || n > speech.MaxCandidates:
		return 0, badRequest("field \"candidates\" is %d; want 1 to %d", n, speech.MaxCandidates)
	case n > 1 && r.Text == "":
		return 0, badRequest("field \"candidates\" applies to \"text\" requests (each word's best attempt is kept); send text, or leave candidates out")
	case n > 1 && !m.net.Config.HasNull(lc):
		return 0, badRequest("field \"candidates\" needs a model whose label condition has a null row (trained with conditioning dropout); model %q has none: leave it out or send 1", m.id)
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
