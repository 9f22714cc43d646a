package synth

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/wavenet"
)

// testVocoder is testModel's config with local conditioning on 4 mel
// bands, hop 4 (scales 2, 2), and mel parameters to compute them (n_fft
// 16 at 8 kHz), every parameter random in [-0.5, 0.5) as in wavenet's
// local tests, so that the frames change the codes.
func testVocoder(t testing.TB) *wavenet.Model {
	t.Helper()
	cfg := testModel(t).Config
	mp := audio.DefaultMelParams(cfg.SampleRate)
	mp.NFFT, mp.WinLength, mp.HopLength, mp.NMels = 16, 16, 4, 4
	cfg.Local = &wavenet.LocalConfig{Channels: 4, Hop: 4, Scales: []int{2, 2}, Width: 2, Mel: &mp}
	m, err := wavenet.NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 3))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32(rng.Float64() - 0.5)
		}
	}
	return m
}

func randomFrames(seed uint64, frames, c int) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([][]float32, frames)
	for i := range out {
		out[i] = make([]float32, c)
		for k := range out[i] {
			out[i][k] = float32(rng.NormFloat64())
		}
	}
	return out
}

func vocoderEngine(t *testing.T, m *wavenet.Model, o Options) *Engine {
	t.Helper()
	o.Logger = quietLogger()
	e, err := New(map[string]*Bundle{"voc": {Model: m}}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func synthAudio(t *testing.T, e *Engine, r *Request) []float32 {
	t.Helper()
	s, err := e.Start(context.Background(), r)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	x, err := s.Audio()
	if err != nil {
		t.Fatalf("Audio: %v", err)
	}
	return x
}

// TestVocodeMatchesCache: the engine's vocoding of frames is exactly a
// cache generator driven by hand with the same seed, conditions and
// frames (the same codes, so the same decoded samples bit for bit).
func TestVocodeMatchesCache(t *testing.T) {
	m := testVocoder(t)
	frames := randomFrames(1, 9, 4)
	seed := uint64(42)
	e := vocoderEngine(t, m, Options{})
	got := synthAudio(t, e, &Request{Mels: frames, Seed: &seed, Format: audio.EncodingFloat32})

	g := cache.New(m, 1)
	var flat []float32
	for _, f := range frames {
		flat = append(flat, f...)
	}
	slot, err := g.Join(cache.StreamOptions{Cond: make([]int, len(m.Config.Conditions)), Temperature: 1, Seed: seed, Local: flat})
	if err != nil {
		t.Fatal(err)
	}
	var codes, step []int32
	for range len(frames) * m.Config.Local.Hop { // frames*hop samples
		step = g.Step(step)
		codes = append(codes, step[slot])
	}
	want := mulaw.Decode(nil, codes, m.Config.QuantizationChannels)
	if !slices.Equal(got, want) {
		t.Errorf("vocoding %d frames = %v,\nwant cache generation %v", len(frames), got, want)
	}
}

// TestVocodeStreamedFrames: frames arriving in pieces (with pauses, so
// the stream starves and waits) give the audio of all frames at once,
// while a whole request in the same shard finishes unharmed.
func TestVocodeStreamedFrames(t *testing.T) {
	m := testVocoder(t)
	frames := randomFrames(2, 12, 4)
	seed := uint64(5)
	e := vocoderEngine(t, m, Options{Workers: 1, MaxStreams: 2, ChunkSamples: 3})
	want := synthAudio(t, e, &Request{Mels: frames, Seed: &seed})

	ch := make(chan [][]float32)
	go func() {
		defer close(ch)
		for i, n := 0, 1; i < len(frames); i, n = i+n, n+1 {
			ch <- frames[i:min(i+n, len(frames))]
			time.Sleep(5 * time.Millisecond)
		}
	}()
	s, err := e.Start(context.Background(), &Request{MelStream: ch, Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Samples != -1 {
		t.Errorf("streamed input: Samples = %d, want -1 (unknown)", s.Samples)
	}
	other := synthAudio(t, e, &Request{Mels: frames, Seed: &seed}) // beside the starving stream
	got, err := s.Audio()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("frames streamed in pieces = %d samples %v,\nwant all at once %d samples %v", len(got), got, len(want), want)
	}
	if !slices.Equal(other, want) {
		t.Errorf("whole request beside a starved stream differs from alone")
	}
}

// TestVocodeRecording: copy synthesis brings the recording to the level
// of the model's training audio (peak normalised, not trimmed) and
// vocodes its log-mels (audio.LogMel with the model's Local.Mel).
func TestVocodeRecording(t *testing.T) {
	m := testVocoder(t)
	x := make([]float32, 80)
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	level := slices.Clone(x)
	audio.Normalize(level, m.Config.Preprocessing().NormalizeDB)
	sp, err := audio.LogMel(nil, level, *m.Config.Local.Mel)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([][]float32, sp.Frames)
	for i := range frames {
		frames[i] = sp.Row(i)
	}
	seed := uint64(3)
	e := vocoderEngine(t, m, Options{})
	want := synthAudio(t, e, &Request{Mels: frames, Seed: &seed})
	got := synthAudio(t, e, &Request{Recording: x, RecordingRate: 8000, Seed: &seed})
	if !slices.Equal(got, want) {
		t.Errorf("copy synthesis = %v, want the vocoding of its log-mels %v", got, want)
	}
	if n := sp.Frames * 4; len(got) != n {
		t.Errorf("copy synthesis of %d samples gave %d samples, want frames*hop = %d", len(x), len(got), n)
	}
}

func TestVocodeErrors(t *testing.T) {
	voc := testVocoder(t)
	noMel := testVocoder(t)
	noMel.Config.Local = &wavenet.LocalConfig{Channels: 4, Hop: 4, Scales: []int{2, 2}, Width: 2}
	e, err := New(map[string]*Bundle{"voc": {Model: voc}, "nomel": {Model: noMel}, "plain": {Model: testModel(t)}},
		Options{Logger: quietLogger(), MaxSeconds: 0.01}) // 80 samples: 20 frames of hop 4
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sec := 1.0
	nan := randomFrames(1, 3, 4)
	nan[1][2] = float32(math.NaN())
	for _, c := range []struct {
		name  string
		req   Request
		field string
		say   string // part of the message
	}{
		{"no frames", Request{Model: "voc"}, "mels", "POST /v1/vocode"},
		{"empty", Request{Model: "voc", Mels: [][]float32{}}, "mels", "at least one frame"},
		{"wrong n_mels", Request{Model: "voc", Mels: randomFrames(1, 3, 5)}, "mels", "transpose"},
		{"too long", Request{Model: "voc", Mels: randomFrames(1, 21, 4)}, "mels", "limit of 20 frames"},
		{"nan", Request{Model: "voc", Mels: nan}, "mels", "finite"},
		{"seconds", Request{Model: "voc", Mels: randomFrames(1, 3, 4), Seconds: &sec}, "seconds", "drop"},
		{"text", Request{Model: "voc", Mels: randomFrames(1, 3, 4), Text: "one"}, "text", "drop"},
		{"two inputs", Request{Model: "voc", Mels: randomFrames(1, 3, 4), Recording: make([]float32, 40)}, "mels", "not several"},
		{"recording without mel params", Request{Model: "nomel", Recording: make([]float32, 40)}, "audio", "send the mel frames instead"},
		{"short recording", Request{Model: "voc", Recording: make([]float32, 8)}, "audio", "too short"},
		{"long recording", Request{Model: "voc", Recording: make([]float32, 100)}, "audio", "send a shorter recording"}, // 26 frames
		{"not a vocoder", Request{Model: "plain", Mels: randomFrames(1, 3, 4)}, "mels", "not a vocoder"},
	} {
		var re *RequestError
		_, err := e.Start(context.Background(), &c.req)
		if !errors.As(err, &re) || re.Field != c.field || !strings.Contains(re.Msg, c.say) {
			t.Errorf("%s: Start = %v, want a request error on %q saying %q", c.name, err, c.field, c.say)
		}
	}
	// A stream whose frames turn bad mid-way ends with the request error.
	ch := make(chan [][]float32, 2)
	ch <- randomFrames(1, 2, 4)
	ch <- randomFrames(1, 1, 3)
	close(ch)
	s, err := e.Start(context.Background(), &Request{Model: "voc", MelStream: ch})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var re *RequestError
	if _, err := s.Audio(); !errors.As(err, &re) || !strings.Contains(re.Msg, "frame 2 has 3 values") {
		t.Errorf("stream with a bad frame: Audio = %v, want the request error of frame 2", err)
	}
}

// TestVocodeGriffinLim: method griffin-lim is audio.GriffinLim of the same
// frames with the model's mel parameters and the request's seed, through
// the same output path (whole and streamed give the same bytes).
func TestVocodeGriffinLim(t *testing.T) {
	m := testVocoder(t)
	frames := randomFrames(4, 10, 4)
	var flat []float32
	for _, f := range frames {
		flat = append(flat, f...)
	}
	want, err := audio.GriffinLim(flat, *m.Config.Local.Mel, audio.GriffinLimOptions{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(9)
	e := vocoderEngine(t, m, Options{})
	got := synthAudio(t, e, &Request{Mels: frames, Seed: &seed, Method: MethodGriffinLim})
	if !slices.Equal(got, want) {
		t.Errorf("griffin-lim through the engine = %v, want audio.GriffinLim %v", got, want)
	}
	s, err := e.Start(context.Background(), &Request{Mels: frames, Seed: &seed, Method: MethodGriffinLim, SampleRate: 16000, Format: audio.EncodingPCM16})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := s.Stream(&b, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	up, err := audio.Resample(nil, want, 8000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Encode(audio.EncodingPCM16, 16000, up)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(whole) {
		t.Errorf("streamed griffin-lim at 16 kHz: %d bytes, want the whole encoding's %d bytes", b.Len(), len(whole))
	}
	var re *RequestError
	if _, err := e.Start(context.Background(), &Request{Mels: frames, Method: "magic"}); !errors.As(err, &re) || re.Field != "method" {
		t.Errorf("method \"magic\": Start = %v, want a request error on \"method\"", err)
	}
}

// TestVocodeStarvingStreamIsolated: a stream whose frames stream in runs
// on a generator of its own, so while it waits for frames a whole request
// (one worker: the same shard otherwise) is generated to the end. Before
// that isolation the whole request waited as long as the starving stream
// did (maxStarved, here an hour): the context's deadline catches that.
func TestVocodeStarvingStreamIsolated(t *testing.T) {
	defer func(d time.Duration) { maxStarved = d }(maxStarved)
	maxStarved = time.Hour
	m := testVocoder(t)
	e := vocoderEngine(t, m, Options{Workers: 1, MaxStreams: 2})
	ch := make(chan [][]float32, 1)
	ch <- randomFrames(3, 2, 4) // two frames, then nothing until the end
	s, err := e.Start(context.Background(), &Request{MelStream: ch})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := e.Start(ctx, &Request{Mels: randomFrames(4, 6, 4)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	x, err := w.Audio()
	if err != nil || len(x) != 6*4 {
		t.Fatalf("whole request beside a starving stream: %d samples, %v; want 24 samples (6 frames x hop 4)", len(x), err)
	}
	ch <- randomFrames(5, 1, 4)
	close(ch)
	if y, err := s.Audio(); err != nil || len(y) != 3*4 {
		t.Errorf("the streamed request: %d samples, %v; want 12 (3 frames x hop 4)", len(y), err)
	}
}

// TestVocodeStarvedStream: a stream whose frames stop coming (its
// channel left open) ends with a request error after maxStarved, and a
// stream closed before any frame is refused like empty mels.
func TestVocodeStarvedStream(t *testing.T) {
	defer func(d time.Duration) { maxStarved = d }(maxStarved)
	maxStarved = 50 * time.Millisecond
	e := vocoderEngine(t, testVocoder(t), Options{})
	ch := make(chan [][]float32, 1)
	ch <- randomFrames(1, 2, 4)
	s, err := e.Start(context.Background(), &Request{MelStream: ch})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var re *RequestError
	if _, err := s.Audio(); !errors.As(err, &re) || !strings.Contains(re.Msg, "no mel frame came") {
		t.Errorf("stalled stream: Audio = %v, want the request error of a starved stream", err)
	}
	closed := make(chan [][]float32)
	close(closed)
	if _, err := e.Start(context.Background(), &Request{MelStream: closed}); !errors.As(err, &re) || !strings.Contains(re.Msg, "at least one frame") {
		t.Errorf("stream closed before any frame: Start = %v, want the empty-mels request error", err)
	}
}

// TestGriffinLimBounded: Griffin-Lim runs outside the schedulers, so it
// has its own bound: with every one of its places taken a request waits
// up to QueueWait behind at most MaxQueue others, then gets ErrBusy (the
// service's 429); one waiting when a place frees is computed, and a
// request's context ends its wait.
func TestGriffinLimBounded(t *testing.T) {
	e := vocoderEngine(t, testVocoder(t), Options{MaxStreams: 1, MaxQueue: 1, QueueWait: 200 * time.Millisecond})
	for range cap(e.direct) {
		e.direct <- struct{}{}
	}
	r := &Request{Mels: randomFrames(6, 8, 4), Method: MethodGriffinLim}
	t0 := time.Now()
	if _, err := e.Start(context.Background(), r); !errors.Is(err, ErrBusy) || time.Since(t0) < 200*time.Millisecond {
		t.Errorf("Griffin-Lim with every place taken: Start = %v after %v, want ErrBusy after the 200 ms wait", err, time.Since(t0))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Start(ctx, r); !errors.Is(err, context.Canceled) {
		t.Errorf("Griffin-Lim waiting with its context ended: Start = %v, want context.Canceled", err)
	}
	// One waits (MaxQueue 1); a second finds the queue full at once.
	e.directWaiting.Add(1)
	if _, err := e.Start(context.Background(), r); !errors.Is(err, ErrBusy) {
		t.Errorf("Griffin-Lim with the wait queue full: Start = %v, want ErrBusy", err)
	}
	e.directWaiting.Add(-1)
	go func() {
		time.Sleep(10 * time.Millisecond)
		<-e.direct
	}()
	if x := synthAudio(t, e, r); len(x) != 8*4 {
		t.Errorf("Griffin-Lim waiting for a place that frees: %d samples, want 32 (8 frames x hop 4)", len(x))
	}
}

// TestDecodeMelsJSON: both JSON forms read; each bad body is a 400 on
// "mels" naming its own fault (a number beyond float32 in the bare array
// was reported as the object form's type error).
func TestDecodeMelsJSON(t *testing.T) {
	want := [][]float32{{1, 2}, {3, -4.5}}
	for _, body := range []string{`[[1,2],[3,-4.5]]`, ` {"mels": [[1,2],[3,-4.5]]}`, "\n[[1, 2], [3, -4.5]]\n"} {
		got, err := DecodeMelsJSON(strings.NewReader(body))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeMelsJSON(%q) = %v, %v; want %v", body, got, err, want)
		}
	}
	for _, c := range []struct{ body, say string }{
		{`[[1e308, 0]]`, "1e308"},
		{`[[1, "a"]]`, "string"},
		{`{"frames": [[1]]}`, `no "mels" field`},
		{`{"mels": [[1e39]]}`, "1e39"},
		{`mels`, "invalid character"},
		{``, "unexpected end"},
	} {
		_, err := DecodeMelsJSON(strings.NewReader(c.body))
		var re *RequestError
		if !errors.As(err, &re) || re.Field != "mels" || !strings.Contains(err.Error(), c.say) {
			t.Errorf("DecodeMelsJSON(%q) = %v; want a RequestError on mels saying %q", c.body, err, c.say)
		}
	}
}
