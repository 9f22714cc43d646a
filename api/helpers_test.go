package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// tinyModel is a random untrained model with the "tiny" preset (8 kHz,
// 5 layers, receptive field 33) and FSDD-like conditions: speaker and digit.
func tinyModel(t testing.TB) *wavenet.Model {
	t.Helper()
	m := wavenettest.Tiny(t, 1, wavenettest.FSDD())
	// Non-zero conditioning embeddings, so that conditions matter.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, l := range m.Layers {
		for _, c := range l.Cond {
			for i := range c {
				c[i] = float32(rng.NormFloat64() * 0.5)
			}
		}
	}
	return m
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestServer serves m as "default" on an httptest server.
func newTestServer(t testing.TB, m *wavenet.Model, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Models == nil {
		opts.Models = map[string]*synth.Bundle{"default": {Model: m}}
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = s.Shutdown(context.Background())
	})
	return s, ts
}

func post(t testing.TB, url, body string) *http.Response {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readAll(t testing.TB, res *http.Response) []byte {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errorOf decodes an error body, failing the test if it has the wrong shape.
func errorOf(t testing.TB, b []byte) errorDetail {
	t.Helper()
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.RequestID == "" {
		t.Fatalf("error body %q does not have the shape {error: {code, message, request_id}} (%v)", b, err)
	}
	return e.Error
}

// reference generates n codes with cache directly: what one request with
// these options must return.
func reference(t testing.TB, m *wavenet.Model, o cache.StreamOptions, n int) []int32 {
	t.Helper()
	return streamCodes(t, cache.New(m, 2), o, n) // two slots: a guided stream takes two
}

// cacheGenerator is what streamCodes needs of *cache.Generator and
// *cache.Int8Generator.
type cacheGenerator interface {
	Join(cache.StreamOptions) (int, error)
	Step(dst []int32) []int32
}

// streamCodes generates n codes of one stream of g with options o.
func streamCodes(t testing.TB, g cacheGenerator, o cache.StreamOptions, n int) []int32 {
	t.Helper()
	slot, err := g.Join(o)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int32, n)
	var dst []int32
	for i := range out {
		dst = g.Step(dst)
		out[i] = dst[slot]
	}
	return out
}

func referenceAudio(t testing.TB, m *wavenet.Model, o cache.StreamOptions, n int) []float32 {
	return mulaw.Decode(nil, reference(t, m, o, n), m.Config.QuantizationChannels)
}

func le16(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out
}

// g711Decode is Sun's g711.c ulaw2linear, written out independently of
// the encoder: 16-bit linear value of a G.711 mu-law byte.
func g711Decode(u byte) int {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return 0x84 - t
	}
	return t - 0x84
}

// alawDecode is Sun g711.c's alaw2linear: G.711 A-law to 16-bit PCM.
func alawDecode(a byte) int {
	a ^= 0x55
	t := int(a&0x0f) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t = (t + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return t
	}
	return -t
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// sayReference says text one attempt at a time with a plain cache
// generator and speech.Word's policy, the way the scheduler must (which
// runs attempts side by side and batches requests): the reference audio
// of a text request (float32 at the model's rate, pause 0.15 s). kept
// reports whether some word kept an attempt other than its first.
func sayReference(t testing.TB, m *wavenet.Model, st *speech.Stats, text string, cond map[string]string, seed uint64, ro refOpts) (x []float32, kept bool) {
	t.Helper()
	guidance, cands := ro.guidance, max(1, ro.cands)
	attempts := 0
	if ro.greedy {
		attempts, cands = 1, 1
	}
	temp := ro.temp
	if temp == 0 {
		temp = 1
	}
	pause := speech.DefaultPause.Seconds()
	if ro.pause != nil {
		pause = *ro.pause
	}
	cfg := m.Config
	lc := cfg.LabelCondition()
	items, err := speech.Items(cfg, text, cond)
	if err != nil {
		t.Fatal(err)
	}
	var words [][]float32
	for i, it := range items {
		d, _ := st.Lookup(cfg, it.Cond)
		w := speech.NewWord(speech.WordOptions{Q: cfg.QuantizationChannels, Rate: cfg.SampleRate, Duration: d,
			Seed: seed + uint64(i), Candidates: cands, Attempts: attempts})
		for !w.Done() {
			a, ok := w.Next()
			if !ok {
				t.Fatal("word policy: not done, nothing pending, nothing running")
			}
			o := cache.StreamOptions{Cond: it.Cond, Temperature: temp, TopK: ro.topK, Greedy: ro.greedy, Seed: a.Seed}
			if guidance > 0 || cands > 1 {
				o.Guidance, o.GuideCond = guidance, slices.Clone(it.Cond)
				o.GuideCond[lc] = cfg.Conditions[lc].NullIndex()
			}
			g := cache.New(m, 2)
			slot, err := g.Join(o)
			if err != nil {
				t.Fatal(err)
			}
			if !a.ZeroStart {
				if err := g.Prime(context.Background(), slot, speech.PrimeCodes(cfg)); err != nil {
					t.Fatal(err)
				}
			}
			var dst []int32
			for {
				dst = g.Step(dst)
				if a.Push(dst[slot]) {
					break
				}
			}
			w.Finish(a, g.GuideScore(slot))
		}
		kept = kept || w.Kept() > 0
		words = append(words, mulaw.Decode(nil, w.Best(), cfg.QuantizationChannels))
	}
	return speech.Concat(words, int(math.Round(pause*float64(cfg.SampleRate))), cfg.SampleRate), kept
}

// refOpts are sayReference's sampling options (zero: temperature 1, no
// guidance, one candidate, the default pause).
type refOpts struct {
	temp     float32
	topK     int
	greedy   bool
	pause    *float64 // seconds
	guidance float32
	cands    int
}
