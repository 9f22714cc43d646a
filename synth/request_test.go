package synth

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/speech"
)

// TestStartErrors checks the typed errors of request planning: the field
// named, the sentinel cause and a message saying how to fix the request.
func TestStartErrors(t *testing.T) {
	e, err := New(map[string]*Bundle{"default": {Model: testModel(t)}}, Options{MaxSeconds: 2, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	f := func(x float64) *float64 { return &x }
	n := func(x int) *int { return &x }
	for _, tc := range []struct {
		name  string
		req   Request
		field string // "" for a *speech.InputError
		cause error
		msg   string
	}{
		{"unknown model", Request{Model: "nope"}, "model", ErrUnknownModel, `unknown model "nope"`},
		{"too long", Request{Seconds: f(3)}, "seconds", nil, "at most 2"},
		{"both lengths", Request{Seconds: f(1), NumSamples: n(10)}, "seconds", nil, "not both"},
		{"temperature", Request{Temperature: f(-1)}, "temperature", nil, "want a finite number >= 0"},
		{"format", Request{Format: "mp3"}, "format", nil, `want one of "wav", "flac", "pcm16", "mulaw", "alaw", "float32"`},
		// 44101 Hz is prime to 8000: the reduced ratio's numerator is
		// 44101, more than maxPhases.
		{"rate", Request{SampleRate: 44101}, "sample_rate", nil, "not a ratio this server resamples"},
		{"guidance without a null row", Request{Guidance: f(1)}, "guidance", nil, "null row"},
		{"label and text", Request{Text: "1", Label: "2"}, "text", nil, "not both"},
		{"text and seconds", Request{Text: "1", Seconds: f(1)}, "text", nil, "drop \"seconds\""},
		{"bad text", Request{Text: "1 x"}, "", nil, `"x" is not a digit`},
		{"unknown speaker", Request{Speaker: "carol"}, "speaker", nil, "carol"},
	} {
		syn, err := e.Start(context.Background(), &tc.req)
		if err == nil {
			syn.Close()
		}
		var re *RequestError
		var ie *speech.InputError
		switch {
		case tc.field == "" && errors.As(err, &ie) && strings.Contains(err.Error(), tc.msg):
		case tc.field != "" && errors.As(err, &re) && re.Field == tc.field && strings.Contains(re.Msg, tc.msg) &&
			(tc.cause == nil || errors.Is(err, tc.cause)):
		default:
			t.Errorf("%s: Start = %v, want a request error on %q (cause %v) saying %q", tc.name, err, tc.field, tc.cause, tc.msg)
		}
	}
	// After Shutdown: ErrShutdown.
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(context.Background(), &Request{}); !errors.Is(err, ErrShutdown) {
		t.Errorf("Start after Shutdown = %v, want ErrShutdown", err)
	}
	if err := e.AddModel("late", &Bundle{Model: testModel(t)}); !errors.Is(err, ErrShutdown) {
		t.Errorf("AddModel after Shutdown = %v, want ErrShutdown", err)
	}
}

// TestStartNumberWords: a text of number words says the same audio as
// its digits (the rule the CLI and the service share).
func TestStartNumberWords(t *testing.T) {
	e, err := New(map[string]*Bundle{"default": {Model: testModel(t)}}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	say := func(text string) []float32 {
		seed := uint64(4)
		syn, err := e.Start(context.Background(), &Request{Text: text, Speaker: "jackson", Seed: &seed})
		if err != nil {
			t.Fatalf("Start(%q) = %v", text, err)
		}
		defer syn.Close()
		x, err := syn.Audio()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	a, b := say("4 2 7"), say("Four, two. SEVEN!")
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("say(4 2 7) %d samples, say(Four, two. SEVEN!) %d; want the same, more than 0", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("sample %d: %v and %v; want the same audio", i, a[i], b[i])
		}
	}
}

// TestScoreVocoder: a vocoder scores a recording with the recording's own
// mel frames, computed from the same processed audio as its codes (as
// training computes an utterance's): equal to ScoreMels on them; a
// recording too short for one frame, or a vocoder without mel parameters,
// is a request error.
func TestScoreVocoder(t *testing.T) {
	ctx := context.Background()
	voc := testVocoder(t)
	x := make([]float32, 800)
	for i := range x {
		x[i] = float32(0.4 * math.Sin(float64(i)*0.3))
	}
	for _, raw := range []bool{false, true} {
		got, err := ScoreRecording(ctx, voc, slices.Clone(x), 8000, []int{0, 0}, 0, raw)
		if err != nil {
			t.Fatal(err)
		}
		y, err := voc.Config.RecordingAudio(slices.Clone(x), 8000, raw)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := audio.LogMel(nil, y, *voc.Config.Local.Mel)
		if err != nil {
			t.Fatal(err)
		}
		nats, n, err := voc.ScoreMels(ctx, mulaw.Encode(nil, y, voc.Config.QuantizationChannels), []int{0, 0}, sp.Data, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got.Scored != n || math.Abs(got.NatsPerSample-nats/float64(n)) > 1e-9 {
			t.Errorf("raw=%v: ScoreRecording = %v nats/sample over %d, want ScoreMels' %v over %d", raw, got.NatsPerSample, got.Scored, nats/float64(n), n)
		}
	}
	var re *RequestError
	if _, err := ScoreRecording(ctx, voc, make([]float32, 6), 8000, []int{0, 0}, 0, true); !errors.As(err, &re) || !strings.Contains(re.Msg, "too short for one mel frame") {
		t.Errorf("ScoreRecording of 6 samples on a vocoder = %v, want a request error: too short", err)
	}
	bare := voc.Clone()
	lc := *bare.Config.Local
	lc.Mel = nil
	bare.Config.Local = &lc
	if _, err := ScoreRecording(ctx, bare, slices.Clone(x), 8000, []int{0, 0}, 0, true); !errors.As(err, &re) || !strings.Contains(re.Msg, "no mel parameters") {
		t.Errorf("ScoreRecording on a vocoder without mel parameters = %v, want a request error", err)
	}
}
