package speech

import (
	"math"
	"sync"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/mulaw"
)

// Options tune end detection and trimming. The zero value of a field takes
// the default in brackets (see the package documentation for the
// procedure).
type Options struct {
	FrameMS     float64 // analysis frame of the detector, in ms [10]
	HoldMS      float64 // silence that ends an utterance, in ms [150]
	RelDB       float64 // a frame this far below the loudest so far is silent, dB [35]
	FloorDB     float64 // a frame below this level is silent, dBFS [-55]
	MinFraction float64 // earliest end, as a fraction of the median length [0.6]
	CapFactor   float64 // cap: CapFactor * p90 ... [1.3]
	CapExtra    float64 // ... or median + CapExtra seconds, whichever is longer [0.3]
	LeadSeconds float64 // most leading silence waited for before giving up [0.5]
	DipDB       float64 // at the cap, a dip this far below the loudest frame ends the word, dB [20]
	DipMS       float64 // length of that dip, in ms [50]
	TrimFrameMS float64 // frame of the final trim, in ms [audio.DefaultFrameMS = 20]
	TrimRelDB   float64 // final trim threshold below the loudest frame, dB [audio.DefaultTrimRelDB = 30]
	TrimFloorDB float64 // final trim floor, dBFS [audio.DefaultTrimDB = -60]
}

func (o Options) withDefaults() Options {
	def := func(x *float64, v float64) {
		if *x == 0 {
			*x = v
		}
	}
	def(&o.FrameMS, 10)
	def(&o.HoldMS, 150)
	def(&o.RelDB, 35)
	def(&o.FloorDB, -55)
	def(&o.MinFraction, 0.6)
	def(&o.CapFactor, 1.3)
	def(&o.CapExtra, 0.3)
	def(&o.LeadSeconds, 0.5)
	def(&o.DipDB, 20)
	def(&o.DipMS, 50)
	def(&o.TrimFrameMS, audio.DefaultFrameMS)
	def(&o.TrimRelDB, audio.DefaultTrimRelDB)
	def(&o.TrimFloorDB, audio.DefaultTrimDB)
	return o
}

// Limits are the sample counts that bound one utterance's generation.
type Limits struct {
	Frame  int // samples per detector frame
	Hold   int // frames of silence that end the utterance
	MinEnd int // samples after the onset before an end is accepted
	Cap    int // samples after the onset at which generation stops anyway
	Lead   int // samples of leading silence after which generation gives up
	Median int // samples of the median length: where a dip may end the word
	Dip    int // frames of a dip
}

// Limits returns the sample counts for an utterance of duration d at rate
// Hz under options o.
func (o Options) Limits(d Duration, rate int) Limits {
	o = o.withDefaults()
	if !d.valid() {
		d = DefaultDuration
	}
	r := float64(rate)
	frame := max(1, int(math.Round(o.FrameMS/1000*r)))
	capS := max(o.CapFactor*d.P90, d.Median+o.CapExtra)
	return Limits{
		Frame:  frame,
		Hold:   max(1, int(math.Ceil(o.HoldMS/1000*r/float64(frame)))),
		MinEnd: int(math.Round(o.MinFraction * d.Median * r)),
		Cap:    max(1, int(math.Round(capS*r))),
		Lead:   max(frame, int(math.Round(o.LeadSeconds*r))),
		Median: int(math.Round(d.Median * r)),
		Dip:    max(1, int(math.Round(o.DipMS/1000*r/float64(frame)))),
	}
}

// EndReason says why an utterance stopped.
type EndReason int

const (
	Running EndReason = iota // not done yet
	Silence                  // sustained silence after the minimum length
	Cap                      // no end found before the cap: everything kept
	NoOnset                  // nothing above the floor within the lead time
	Dip                      // no silence before the cap, but a dip after the median length
)

func (r EndReason) String() string {
	switch r {
	case Running:
		return "running"
	case Silence:
		return "silence"
	case Cap:
		return "cap"
	case NoOnset:
		return "no onset"
	case Dip:
		return "dip"
	}
	return "unknown"
}

// Utterance follows one generated stream: Push each code the stream draws
// until it reports done, then Trimmed gives the part to keep. It is the
// per-stream state machine for a scheduler that owns a shared generator.
// The zero value is not usable; see NewUtterance.
type Utterance struct {
	q     int
	rate  int
	opt   Options
	lim   Limits
	table []float32

	codes   []int32
	sum     float64 // sum of squares of the current frame
	inFrame int
	loudest float64   // dBFS of the loudest complete frame
	onset   int       // sample index of the onset frame, -1 before
	power   []float64 // mean power of each complete frame
	loud    int       // consecutive frames above the floor (before the onset)
	quiet   int       // consecutive silent frames (after the onset)
	end     int       // samples kept when done
	reason  EndReason
}

// onsetFrames is the number of frames in a row above the floor that make
// an onset (30 ms with the default 10 ms frames).
const onsetFrames = 3

var tables sync.Map // q -> []float32 decoded value of each code

func decodeTable(q int) []float32 {
	if t, ok := tables.Load(q); ok {
		return t.([]float32)
	}
	codes := make([]int32, q)
	for i := range codes {
		codes[i] = int32(i)
	}
	t := mulaw.Decode(nil, codes, q)
	tables.Store(q, t)
	return t
}

// NewUtterance returns the state of a new utterance of q-level mu-law
// codes at rate Hz whose length statistics are d (a zero d means
// DefaultDuration).
func NewUtterance(q, rate int, d Duration, o Options) *Utterance {
	o = o.withDefaults()
	return &Utterance{q: q, rate: rate, opt: o, lim: o.Limits(d, rate), table: decodeTable(q),
		loudest: math.Inf(-1), onset: -1}
}

// Limits returns the utterance's limits.
func (u *Utterance) Limits() Limits { return u.lim }

// Push records the next code of the stream and reports whether the
// utterance is complete (the stream can leave). Codes pushed after that
// are ignored.
func (u *Utterance) Push(code int32) (done bool) {
	if u.reason != Running {
		return true
	}
	u.codes = append(u.codes, code)
	c := min(max(code, 0), int32(u.q-1))
	v := float64(u.table[c])
	u.sum += v * v
	u.inFrame++
	n := len(u.codes)
	if u.inFrame == u.lim.Frame {
		u.frame(n)
	}
	switch {
	case u.reason != Running:
	case u.onset < 0 && n >= u.lim.Lead:
		u.finish(NoOnset, n)
	case u.onset >= 0 && n-u.onset >= u.lim.Cap:
		if end, ok := u.dip(); ok {
			u.finish(Dip, end)
		} else {
			u.finish(Cap, n)
		}
	}
	return u.reason != Running
}

// frame closes the frame ending at sample n.
func (u *Utterance) frame(n int) {
	u.power = append(u.power, u.sum/float64(u.inFrame))
	db := 10 * math.Log10(u.sum/float64(u.inFrame)+1e-30)
	u.sum, u.inFrame = 0, 0
	start := n - u.lim.Frame
	if u.onset < 0 {
		// The onset is the first of onsetFrames frames in a row above
		// the floor: a click alone is not speech.
		if db >= u.opt.FloorDB {
			u.loud++
			u.loudest = max(u.loudest, db)
		} else {
			u.loud, u.loudest = 0, math.Inf(-1)
		}
		if u.loud == onsetFrames {
			u.onset = start - (onsetFrames-1)*u.lim.Frame
		}
		return
	}
	u.loudest = max(u.loudest, db)
	if db < u.opt.FloorDB || db < u.loudest-u.opt.RelDB {
		u.quiet++
	} else {
		u.quiet = 0
	}
	// A silence of Hold frames that starts after the minimum length ends
	// the utterance; one that starts earlier must last twice as long
	// (longer than any closure inside a word) and reach past the minimum.
	silenceStart := n - u.quiet*u.lim.Frame
	if (u.quiet >= u.lim.Hold && silenceStart-u.onset >= u.lim.MinEnd) ||
		(u.quiet >= 2*u.lim.Hold && n-u.onset >= u.lim.MinEnd) {
		u.finish(Silence, silenceStart)
	}
}

// dip looks, when the cap is reached without a silence, for the quietest
// Dip frames that start after the median length from the onset: if they
// are DipDB or more below the loudest frame, the word ended there and what
// follows is babble; the end is the middle of the dip. A word longer than
// the median whose only dip is the closure of a stop consonant could be
// cut there, but such closures sit before 70% or so of a word, and words
// longer than 1.4 times the median are rare (p90 is about 1.3 times it in
// FSDD).
func (u *Utterance) dip() (end int, ok bool) {
	f := u.lim.Frame
	first := (u.onset + u.lim.Median + f - 1) / f // first frame at or after onset + median
	best, at := math.Inf(1), -1
	for i := first; i+u.lim.Dip <= len(u.power); i++ {
		p := 0.0
		for _, v := range u.power[i : i+u.lim.Dip] {
			p += v
		}
		if p < best {
			best, at = p, i
		}
	}
	if at < 0 || 10*math.Log10(best/float64(u.lim.Dip)+1e-30) > u.loudest-u.opt.DipDB {
		return 0, false
	}
	return (at*f + (at+u.lim.Dip)*f) / 2, true
}

func (u *Utterance) finish(r EndReason, end int) {
	u.reason, u.end = r, end
}

// Done reports whether the utterance is complete.
func (u *Utterance) Done() bool { return u.reason != Running }

// Reason says why the utterance ended (Running while it has not).
func (u *Utterance) Reason() EndReason { return u.reason }

// Len returns the number of codes pushed (before the end).
func (u *Utterance) Len() int { return len(u.codes) }

// Codes returns every code pushed, as a view.
func (u *Utterance) Codes() []int32 { return u.codes }

// Onset returns the sample index of the first frame above the floor, or -1.
func (u *Utterance) Onset() int { return u.onset }

// Trimmed returns the range [start, end) of Codes to keep: from the onset
// (if any) up to the detected end (everything if not done), with leading
// and trailing silence removed by the corpus trimming rule. start == end
// means nothing was said.
func (u *Utterance) Trimmed() (start, end int) {
	n := len(u.codes)
	if u.reason != Running {
		n = u.end
	}
	from := max(u.onset, 0) // a click before the onset is not kept
	x := make([]float32, n-from)
	for i, c := range u.codes[from:n] {
		x[i] = u.table[min(max(c, 0), int32(u.q-1))]
	}
	s, e := trimRange(x, u.rate, u.opt)
	if s == e {
		return 0, 0
	}
	return from + s, from + e
}

// trimRange is corpus trimming: frames of TrimFrameMS below TrimFloorDB or
// more than TrimRelDB below the loudest frame are silence.
func trimRange(x []float32, rate int, o Options) (int, int) {
	if len(x) == 0 {
		return 0, 0
	}
	loud := audio.LoudestFrameDB(x, rate, o.TrimFrameMS)
	if math.IsInf(loud, -1) {
		return 0, 0
	}
	thr := max(o.TrimFloorDB, loud-o.TrimRelDB)
	return audio.Trim(x, rate, thr, o.TrimFrameMS)
}

// Samples returns the kept part of the utterance as audio in [-1, 1],
// appended to dst.
func (u *Utterance) Samples(dst []float32) []float32 {
	s, e := u.Trimmed()
	for _, c := range u.codes[s:e] {
		dst = append(dst, u.table[min(max(c, 0), int32(u.q-1))])
	}
	return dst
}
