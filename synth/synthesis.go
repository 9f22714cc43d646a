package synth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/speech"
)

// Synthesis is a request admitted to a model's scheduler and generating.
// Read its audio once, with Audio or Stream, then Close it.
type Synthesis struct {
	Seed       uint64         // the seed used (the request's, or a random one)
	Model      string         // the model id
	Conditions string         // "name=value,..." of the conditions (a text's label shown as "text")
	Format     audio.Encoding // output encoding
	Rate       int            // output sample rate
	// Samples is the number of output samples; for a text, whose length
	// is known once it is said, or mel frames still arriving, -1.
	Samples int
	// Words describes the words of a text once Audio has returned.
	Words []Word

	ctx    context.Context
	cancel context.CancelFunc
	p      *plan
	j      *job
	closed bool
	// streamed counts the output samples Stream has handed to its
	// encoder (Streamed).
	streamed int
}

// Streamed returns the number of output samples Stream has encoded so
// far: call it from Stream's flush (a progress bar), or after Stream.
func (s *Synthesis) Streamed() int { return s.streamed }

// Start plans req, admits it to its model's scheduler (ErrBusy at once
// when slots and queue are full, after Options.QueueWait when no slot
// freed up) and starts generating. Errors in the request are
// *RequestError or *speech.InputError. The generation stops when ctx ends
// or the Synthesis is closed.
func (e *Engine) Start(ctx context.Context, req *Request) (*Synthesis, error) {
	if e.draining.Load() {
		return nil, ErrShutdown
	}
	if req.MelStream != nil {
		r := *req
		select {
		case r.streamFirst, r.streamEnded = <-req.MelStream:
			r.streamEnded = !r.streamEnded
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		req = &r
	}
	p, err := e.plan(ctx, req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	j := &job{segs: p.segs, silence: pauseCode, units: p.units}
	if p.direct != nil { // computed already: no generation
		j.out = make(chan []int32)
		close(j.out)
	} else if err := p.model.sched.submit(ctx, j); err != nil {
		cancel()
		return nil, err
	}
	s := &Synthesis{Seed: p.seed, Model: p.model.id, Conditions: p.conds, Format: p.format, Rate: p.rate,
		Samples: p.outCount, ctx: ctx, cancel: cancel, p: p, j: j}
	if p.text || p.stream {
		s.Samples = -1
	}
	return s, nil
}

// Close stops the generation if it is still running and releases the
// request's admission.
func (s *Synthesis) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.cancel()
	if s.p.direct == nil {
		s.p.model.sched.release(s.j)
	}
}

// err returns the job's error once out is closed: ctx's own error if the
// request's context ended.
func (s *Synthesis) err() error {
	if err := s.j.err; err != nil {
		if errors.Is(err, context.Canceled) && s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		return err
	}
	return nil
}

// Audio waits for the whole audio and returns it at the output rate,
// samples in [-1, 1].
func (s *Synthesis) Audio() ([]float32, error) {
	cfg := s.p.model.b.Model.Config
	var x []float32
	if s.p.text {
		var words [][]float32
		for chunk := range s.j.out { // one chunk per word
			words = append(words, decodeCodes(nil, chunk, cfg.QuantizationChannels))
		}
		x = speech.ConcatPauses(words, s.p.pauses[:len(words)], s.p.trailing, cfg.SampleRate)
		for i, r := range s.j.words {
			it := s.p.items[i]
			d, from := s.p.model.b.Stats.Lookup(cfg, it.Cond)
			s.Words = append(s.Words, Word{Label: it.Label, Audio: words[i], WordResult: r, Duration: d, StatsFrom: from})
		}
	} else if s.p.direct != nil {
		x = s.p.direct
	} else {
		codes := make([]int32, 0, s.p.samples)
		for chunk := range s.j.out {
			codes = append(codes, chunk...)
		}
		x = decodeCodes(nil, codes, cfg.QuantizationChannels)
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	if s.p.speed != 1 {
		var err error
		if x, err = audio.TimeStretch(x, cfg.SampleRate, s.p.speed); err != nil {
			return nil, fmt.Errorf("synth: %w", err) // planning checked the speed
		}
	}
	applyGain(x, s.p.gain)
	if s.Rate != cfg.SampleRate {
		return audio.Resample(nil, x, cfg.SampleRate, s.Rate)
	}
	return x, nil
}

// Word is one word of a said text.
type Word struct {
	Label string
	Audio []float32 // trimmed, at the model's rate (before fades)
	speech.WordResult
	Duration  speech.Duration // the length statistics used
	StatsFrom string          // "group", "all" or "default" (speech.Stats.Lookup)
}

// Encode returns x encoded in format at rate Hz: a WAV with its exact
// sizes, a FLAC with its sample count, or the raw samples.
func Encode(format audio.Encoding, rate int, x []float32) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(int(format.EncodedSize(len(x))))
	enc, err := audio.NewEncoder(&b, format, rate, len(x))
	if err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	if err := enc.Write(x); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	return b.Bytes(), nil
}

// WriteError is Stream's error when writing to its io.Writer failed (the
// client went away); the generation stops.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return "synth: write: " + e.Err.Error() }

func (e *WriteError) Unwrap() error { return e.Err }

// Stream writes the encoded audio to w as it is generated (a text word by
// word, each once it is finished and trimmed), calling flush (if not nil)
// after each write. A WAV starts with a header of unknown length
// (0xFFFFFFFF sizes: audio.WAVHeader(rate, n) written over it afterwards
// gives the exact one; audio.Encoder patches it itself when w is a file);
// a FLAC's header declares an unknown length too (audio.FLACHeader(rate,
// n) gives the count), and its frames hold back up to 4095 samples until
// a block is full or the end. It returns the number of output samples
// written; the error is a *WriteError when w failed, else the
// generation's (the samples written so far are then all the audio there
// is).
func (s *Synthesis) Stream(w io.Writer, flush func()) (int, error) {
	cfg := s.p.model.b.Model.Config
	if flush == nil {
		flush = func() {}
	}
	enc, err := audio.NewEncoder(w, s.Format, s.Rate, -1) // a WAV header now
	if err != nil {
		s.cancel()
		return 0, &WriteError{err}
	}
	flush()
	var rs *audio.StreamResampler
	if s.Rate != cfg.SampleRate {
		if rs, err = audio.NewStreamResampler(cfg.SampleRate, s.Rate); err != nil {
			s.cancel()
			return 0, err // planning checked the ratio
		}
	}
	var x, piece, y, held []float32
	n := 0
	write := func(out []float32) error {
		if err := enc.Write(out); err != nil {
			s.cancel()
			return &WriteError{err}
		}
		n += len(out)
		s.streamed = n
		flush()
		return nil
	}
	// emit stretches out (when stretch is set and the speed is not 1),
	// resamples it and writes it.
	emit := func(out []float32, stretch bool) error {
		if stretch && s.p.speed != 1 {
			var err error
			if out, err = audio.TimeStretch(out, cfg.SampleRate, s.p.speed); err != nil {
				s.cancel()
				return fmt.Errorf("synth: %w", err) // planning checked the speed
			}
		}
		if s.p.gain != 1 {
			out = applyGain(append([]float32(nil), out...), s.p.gain)
		}
		if rs != nil {
			y = rs.Push(y[:0], out)
			out = y
		}
		return write(out)
	}
	if s.p.direct != nil {
		if err := emit(s.p.direct, true); err != nil {
			return n, err
		}
	}
	words := 0
	for chunk := range s.j.out {
		x = decodeCodes(x, chunk, cfg.QuantizationChannels)
		out := x
		if s.p.text {
			piece = textPiece(piece, x, s.p.pauses[words], cfg.SampleRate)
			out = piece
			words++
		} else if s.p.speed != 1 { // stretched whole at the end
			held = append(held, x...)
			continue
		}
		if err := emit(out, s.p.text); err != nil {
			for range s.j.out { // drain: the job ends on the cancel
			}
			return n, err
		}
	}
	if err := s.err(); err != nil {
		enc.Close() // a FLAC's last, short frame: the samples so far
		return n, err
	}
	var tail []float32
	switch {
	case held != nil:
		tail = held
	case s.p.trailing > 0:
		tail = make([]float32, s.p.trailing)
	}
	if tail != nil {
		if err := emit(tail, true); err != nil {
			return n, err
		}
	}
	if rs != nil {
		if err := write(rs.Flush(y[:0])); err != nil {
			return n, err
		}
	}
	if err := enc.Close(); err != nil {
		return n, &WriteError{err}
	}
	return n, nil
}

// textPiece returns what a streamed text sends for a word (decoded, in
// word): the pause samples before it and the word faded in and out, so
// that the pieces (and the trailing pause) add up to
// speech.ConcatPauses of the words.
func textPiece(dst, word []float32, pause, rate int) []float32 {
	dst = append(dst[:0], make([]float32, pause)...)
	return append(dst, speech.Concat([][]float32{word}, 0, rate)...)
}

// applyGain scales x by g in place, clipped to [-1, 1], and returns it.
func applyGain(x []float32, g float32) []float32 {
	if g == 1 {
		return x
	}
	for i, v := range x {
		x[i] = max(-1, min(1, v*g))
	}
	return x
}

// pauseCode marks the pause samples of segments with pauseAfter in the
// code chunks (text words are joined by speech.Concat instead): exact
// digital silence, where the mu-law silence code would decode to its bin
// centre (not quite 0).
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
