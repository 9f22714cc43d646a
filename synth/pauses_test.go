package synth

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/speech"
)

// streamAudio streams r as raw float32 and decodes it, checking
// Synthesis.Streamed on the way.
func streamAudio(t *testing.T, e *Engine, r *Request) []float32 {
	t.Helper()
	req := *r
	req.Format = audio.EncodingFloat32
	s, err := e.Start(context.Background(), &req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	var b bytes.Buffer
	// Streamed, read from each flush, counts the samples written so far.
	n, err := s.Stream(&b, func() {
		if got, want := s.Streamed(), b.Len()/4; got != want {
			t.Errorf("Streamed() = %d at a flush, %d samples written", got, want)
		}
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if s.Streamed() != n {
		t.Errorf("Streamed() = %d after Stream, which returned %d", s.Streamed(), n)
	}
	x := make([]float32, b.Len()/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b.Bytes()[4*i:]))
	}
	if n != len(x) {
		t.Fatalf("Stream = %d samples, wrote %d", n, len(x))
	}
	return x
}

func sameSamples(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: sample %d is %v, want %v (the same audio)", what, i, got[i], want[i])
		}
	}
}

// TestTextPauses: per-word pauses put exactly their silence before each
// word and after the last (speech.ConcatPauses of the same words: word i
// depends only on Seed + i), whole or streamed.
func TestTextPauses(t *testing.T) {
	e, err := New(map[string]*Bundle{"default": {Model: testModel(t)}}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	seed := uint64(7)
	plain := &Request{Text: "4 2", Seed: &seed}
	s, err := e.Start(context.Background(), plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Audio(); err != nil {
		t.Fatal(err)
	}
	words := [][]float32{s.Words[0].Audio, s.Words[1].Audio}
	s.Close()

	pauses := []time.Duration{50 * time.Millisecond, 300 * time.Millisecond}
	r := &Request{Text: "4 2", Seed: &seed, Pauses: pauses, TrailingPause: 200 * time.Millisecond}
	rate := 8000 // the tiny model's
	want := speech.ConcatPauses(words, speech.PauseSamples(pauses, rate), rate/5, rate)
	sameSamples(t, "Audio with pauses", synthAudio(t, e, r), want)
	sameSamples(t, "Stream with pauses", streamAudio(t, e, r), want)
	// Resampled, the trailing pause goes through the stream's resampler
	// before its flush: the stream is the whole audio resampled.
	// (The float32 encoding clips the resampler's overshoot to [-1, 1].)
	r.SampleRate = 16000
	whole := synthAudio(t, e, r)
	for i, v := range whole {
		whole[i] = max(-1, min(1, v))
	}
	sameSamples(t, "Stream with pauses at 16 kHz", streamAudio(t, e, r), whole)
}

// TestSpeed: Speed stretches the whole audio (audio.TimeStretch of the
// same request at speed 1), whole or streamed, and Samples says the
// stretched length; a streamed text is stretched word by word, about
// 1/speed as long.
func TestSpeed(t *testing.T) {
	e, err := New(map[string]*Bundle{"default": {Model: testModel(t)}}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	seed := uint64(3)
	n := 2000
	x := synthAudio(t, e, &Request{NumSamples: &n, Seed: &seed})
	for _, speed := range []float64{0.5, 2} {
		want, err := audio.TimeStretch(x, 8000, speed)
		if err != nil {
			t.Fatal(err)
		}
		r := &Request{NumSamples: &n, Seed: &seed, Speed: speed}
		s, err := e.Start(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if wantN := int(math.Round(float64(n) / speed)); s.Samples != wantN {
			t.Errorf("speed %v: Samples = %d, want %d", speed, s.Samples, wantN)
		}
		s.Close()
		sameSamples(t, "Audio at speed", synthAudio(t, e, r), want)
		sameSamples(t, "Stream at speed", streamAudio(t, e, r), want)
	}

	text := &Request{Text: "1 2 3", Seed: &seed, PauseSeconds: new(0.1)}
	whole := len(synthAudio(t, e, text))
	fast := *text
	fast.Speed = 2
	for name, got := range map[string]int{"Audio": len(synthAudio(t, e, &fast)), "Stream": len(streamAudio(t, e, &fast))} {
		// WSOLA rounds each stretched piece to a sample: within 3 samples
		// per piece of len/speed.
		if want := float64(whole) / 2; math.Abs(float64(got)-want) > 3*3 {
			t.Errorf("text at speed 2, %s: %d samples, want about %v", name, got, want)
		}
	}
}

// TestPauseAndSpeedErrors: the request errors of Pauses and Speed.
func TestPauseAndSpeedErrors(t *testing.T) {
	e, err := New(map[string]*Bundle{"default": {Model: testModel(t)}}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		req   Request
		field string
		msg   string
	}{
		{"count", Request{Text: "1 2", Pauses: []time.Duration{0}}, "pauses", "one per label"},
		{"negative", Request{Text: "1", Pauses: []time.Duration{-ms}}, "pauses", "want 0 to 10s"},
		{"too long", Request{Text: "1", Pauses: []time.Duration{0}, TrailingPause: speech.MaxPause + ms}, "pauses", "want 0 to 10s"},
		{"both", Request{Text: "1", Pauses: []time.Duration{0}, PauseSeconds: new(0.1)}, "pause_seconds", "not both"},
		{"no text", Request{Pauses: []time.Duration{0}}, "pauses", "send \"text\""},
		{"slow", Request{Speed: 0.2}, "speed", "want 0.25 to 4"},
		{"fast", Request{Speed: 4.5}, "speed", "want 0.25 to 4"},
		{"nan", Request{Speed: math.NaN()}, "speed", "want 0.25 to 4"},
	} {
		syn, err := e.Start(context.Background(), &tc.req)
		if err == nil {
			syn.Close()
		}
		var re *RequestError
		if !errors.As(err, &re) || re.Field != tc.field || !strings.Contains(re.Msg, tc.msg) {
			t.Errorf("%s: Start = %v, want a request error on %q saying %q", tc.name, err, tc.field, tc.msg)
		}
	}
}

// TestGain: GainDB scales the samples by 10^(dB/20), clipped to [-1, 1],
// whole or streamed.
func TestGain(t *testing.T) {
	e, err := New(map[string]*Bundle{"default": {Model: testModel(t)}}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	seed, n := uint64(5), 1000
	x := synthAudio(t, e, &Request{NumSamples: &n, Seed: &seed})
	for _, db := range []float64{-20, 12} {
		g := float32(math.Pow(10, db/20))
		want := make([]float32, len(x))
		for i, v := range x {
			want[i] = max(-1, min(1, v*g))
		}
		r := &Request{NumSamples: &n, Seed: &seed, GainDB: db}
		sameSamples(t, "Audio with gain", synthAudio(t, e, r), want)
		sameSamples(t, "Stream with gain", streamAudio(t, e, r), want)
	}
	if _, err := e.Start(context.Background(), &Request{GainDB: 17}); err == nil || !strings.Contains(err.Error(), "want -96 to 16") {
		t.Errorf("Start(GainDB 17) = %v, want an error saying -96 to 16", err)
	}
}
