package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
)

// The request every format test makes: 0.1 s at 8 kHz = 800 samples, digit
// 3, speaker jackson (condition indices 3 and 1), seed 42.
const fmtReq = `{"seconds": 0.1, "label": "3", "speaker": "jackson", "seed": 42, "format": %q, "stream": %v}`

func TestSynthesizeFormatsDecodeBack(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	want := referenceAudio(t, m, cache.StreamOptions{Cond: []int{3, 1}, Temperature: 1, Seed: 42}, 800)

	for _, stream := range []bool{false, true} {
		for _, f := range audio.Encodings() {
			t.Run(fmt.Sprintf("%s/stream=%v", f, stream), func(t *testing.T) {
				res := post(t, ts.URL+"/v1/synthesize", fmt.Sprintf(fmtReq, f, stream))
				body := readAll(t, res)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("POST /v1/synthesize = %d %s, want 200", res.StatusCode, body)
				}
				if got, want := res.Header.Get("Content-Type"), f.ContentType(8000); got != want {
					t.Errorf("Content-Type = %q, want %q", got, want)
				}
				if got := res.Header.Get("X-Conditions"); got != "digit=3,speaker=jackson" {
					t.Errorf("X-Conditions = %q, want digit=3,speaker=jackson", got)
				}
				if got := res.Header.Get("X-Seed"); got != "42" {
					t.Errorf("X-Seed = %q, want 42", got)
				}
				if got := res.Header.Get("X-Audio-Duration"); got != "0.1" {
					t.Errorf("X-Audio-Duration = %q, want 0.1", got)
				}
				if stream && res.ContentLength != -1 {
					t.Errorf("stream: Content-Length = %d, want -1 (chunked)", res.ContentLength)
				}
				if want := bodySize(f, 800); f == audio.EncodingFLAC {
					want = int64(len(body)) // compressed: the size depends on the samples
					if !stream && res.ContentLength != want {
						t.Errorf("Content-Length = %d, want the body's %d", res.ContentLength, want)
					}
				} else if !stream && res.ContentLength != want {
					t.Errorf("Content-Length = %d, want %d", res.ContentLength, want)
				}
				var got []float32
				var tol float64
				switch f {
				case audio.EncodingWAV, audio.EncodingFLAC:
					switch {
					case f == audio.EncodingWAV && stream:
						if sz := binary.LittleEndian.Uint32(body[40:]); sz != 0xFFFFFFFF {
							t.Errorf("streamed WAV data size = %#x, want 0xFFFFFFFF (unknown)", sz)
						}
						// audio.Decode reads an unknown data size to EOF.
					case f == audio.EncodingFLAC:
						// STREAMINFO's 36-bit sample count (RFC 9639 section
						// 8.2): 0, unknown, when streamed.
						count := binary.BigEndian.Uint64(body[18:26]) & (1<<36 - 1)
						if want := map[bool]uint64{false: 800, true: 0}[stream]; count != want {
							t.Errorf("FLAC STREAMINFO sample count = %d, want %d", count, want)
						}
					}
					clip, err := audio.DecodeAny(bytes.NewReader(body))
					if err != nil {
						t.Fatalf("audio.DecodeAny(body) = %v", err)
					}
					if clip.Format.SampleRate != 8000 || clip.Format.Channels != 1 || clip.Format.BitDepth != 16 {
						t.Errorf("%s format = %v, want 8000 Hz mono 16-bit", f, clip.Format)
					}
					// The decoder scales by 1/32768, the encoder by 32767.
					for _, v := range clip.Samples {
						got = append(got, v*32768/32767)
					}
					tol = 0.5/32767 + 1e-6 // rounding to 16 bits (FLAC is lossless after that)
				case audio.EncodingPCM16:
					for _, v := range le16(body) {
						got = append(got, float32(v)/32767)
					}
					tol = 0.5/32767 + 1e-6
				case audio.EncodingFloat32:
					for i := 0; i+4 <= len(body); i += 4 {
						got = append(got, math.Float32frombits(binary.LittleEndian.Uint32(body[i:])))
					}
					tol = 0
				case audio.EncodingMulaw:
					for _, u := range body {
						got = append(got, float32(g711Decode(u))/32767)
					}
					tol = 0 // checked per sample below: G.711's step is relative
				case audio.EncodingAlaw:
					for _, a := range body {
						got = append(got, float32(alawDecode(a))/32767)
					}
				}
				if len(got) != len(want) {
					t.Fatalf("%s decodes to %d samples, want %d", f, len(got), len(want))
				}
				for i := range want {
					d := math.Abs(float64(got[i] - want[i]))
					lim := tol
					switch f {
					case audio.EncodingMulaw:
						// G.711 segment step is 2^(exp+3) in 16-bit units; half a step,
						// at most 1/16 of the magnitude plus the 4-unit floor step.
						lim = (math.Abs(float64(want[i]))*32767/16 + 4 + 1) / 32767
					case audio.EncodingAlaw:
						// A-law's step is 16 units in segments 0 and 1 and
						// 2^(seg+3) above, at most 1/16 of the magnitude; half a
						// step plus rounding.
						lim = (math.Abs(float64(want[i]))*32767/32 + 8 + 1) / 32767
					}
					if d > lim {
						t.Fatalf("%s sample %d = %v, want %v (tolerance %g)", f, i, got[i], want[i], lim)
					}
				}
			})
		}
	}
}

func TestSynthesizeDeterministicAndDefaults(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	// {} is valid: 1 s of WAV from the default model.
	res, err := http.Post(ts.URL+"/v1/synthesize", "", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	b := readAll(t, res)
	if res.StatusCode != 200 || len(b) != 44+2*8000 || res.Header.Get("X-Seed") == "" {
		t.Fatalf("POST /v1/synthesize {} = %d, %d bytes, X-Seed %q; want 200, %d bytes, a seed",
			res.StatusCode, len(b), res.Header.Get("X-Seed"), 44+2*8000)
	}
	// Repeating with the returned seed gives the same audio.
	seed := res.Header.Get("X-Seed")
	again := readAll(t, post(t, ts.URL+"/v1/synthesize", `{"seed": `+seed+`}`))
	if !bytes.Equal(again, b) {
		t.Errorf("same seed %s gave different audio", seed)
	}
	// num_samples is an alternative to seconds.
	res = post(t, ts.URL+"/v1/synthesize", `{"num_samples": 123, "format": "float32"}`)
	if b := readAll(t, res); len(b) != 4*123 {
		t.Errorf("num_samples 123 gave %d bytes, want %d", len(b), 4*123)
	}
}

func TestSynthesizeGreedyAndTopK(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	for _, c := range []struct {
		body string
		opts cache.StreamOptions
	}{
		{`{"num_samples": 300, "temperature": 0, "format": "float32"}`, cache.StreamOptions{Cond: []int{0, 0}, Greedy: true}},
		{`{"num_samples": 300, "temperature": 0.7, "top_k": 5, "seed": 9, "format": "float32", "conditions": {"digit": "7"}}`,
			cache.StreamOptions{Cond: []int{7, 0}, Temperature: 0.7, TopK: 5, Seed: 9}},
	} {
		b := readAll(t, post(t, ts.URL+"/v1/synthesize", c.body))
		want := referenceAudio(t, m, c.opts, 300)
		for i := range want {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])); got != want[i] {
				t.Fatalf("%s: sample %d = %v, want %v", c.body, i, got, want[i])
			}
		}
	}
}

func TestSynthesizeConcurrentRequestsShareTheBatch(t *testing.T) {
	m := tinyModel(t)
	s, ts := newTestServer(t, m, Options{MaxStreams: 8})
	const n = 8
	var wg sync.WaitGroup
	bodies := make([][]byte, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := post(t, ts.URL+"/v1/synthesize", fmt.Sprintf(`{"num_samples": 4000, "seed": %d, "format": "float32", "label": "%d"}`, i, i))
			bodies[i] = readAll(t, res)
		}()
	}
	wg.Wait()
	for i := range n {
		want := referenceAudio(t, m, cache.StreamOptions{Cond: []int{i, 0}, Temperature: 1, Seed: uint64(i)}, 4000)
		if len(bodies[i]) != 4*len(want) {
			t.Fatalf("request %d: %d bytes, want %d", i, len(bodies[i]), 4*len(want))
		}
		for k := range want {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(bodies[i][4*k:])); got != want[k] {
				t.Fatalf("request %d (batched) sample %d = %v, want %v (alone)", i, k, got, want[k])
			}
		}
	}
	// The batch histogram saw steps with more than one stream.
	metrics := scrape(t, ts.URL)
	if !strings.Contains(metrics, `wavenet_generated_samples_total{model="default"} 32000`) {
		t.Errorf("metrics lack 32000 generated samples:\n%s", grep(metrics, "wavenet_generated"))
	}
	_ = s
}

// float32s decodes a float32 response body.
func float32s(b []byte) []float32 {
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// TestSynthesizeTextMatchesSay checks that a text request says exactly
// what the word policy says one attempt at a time (sayReference) for the
// same model, statistics, speaker, text and seed: every word generated
// until its detected end, retried when poor, trimmed, and the words
// joined with pauses and fades, whether the response is whole or
// streamed. (The CLI's say runs the same engine: TestParity in
// cmd/internal/cli compares the bytes.)
func TestSynthesizeTextMatchesSay(t *testing.T) {
	m := tinyModel(t)
	// Statistics of a made-up corpus: jackson's 3 is short, every other
	// word gets All. Both are shorter than speech.DefaultDuration, so the
	// test also shows the statistics are used (the lengths differ).
	stats := &speech.Stats{Conditions: []string{"speaker", "digit"},
		Groups: []speech.Group{{Values: []string{"jackson", "3"}, Duration: speech.Duration{N: 5, Median: 0.1, P90: 0.12, Max: 0.2}}},
		All:    speech.Duration{N: 50, Median: 0.2, P90: 0.25, Max: 0.4}}
	pause := 0.05
	for _, c := range []struct {
		name  string
		stats *speech.Stats
		body  string
		text  string
		cond  map[string]string
		seed  uint64
		ro    refOpts
	}{
		{"default durations", nil, `{"text": "one 2, 3", "seed": 5, "speaker": "george"}`,
			"1 2 3", map[string]string{"speaker": "george"}, 5, refOpts{}},
		{"model statistics", stats, `{"text": "3 30", "seed": 9, "speaker": "jackson", "pause_seconds": 0.05}`,
			"3 3 0", map[string]string{"speaker": "jackson"}, 9, refOpts{pause: &pause}},
		{"greedy, default speaker", stats, `{"text": "42", "temperature": 0, "seed": 0}`,
			"4 2", map[string]string{"speaker": "george"}, 0, refOpts{greedy: true}},
		{"top-k and temperature", nil, `{"text": "7", "seed": 3, "temperature": 0.7, "top_k": 20, "speaker": "jackson"}`,
			"7", map[string]string{"speaker": "jackson"}, 3, refOpts{temp: 0.7, topK: 20}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ts := newTestServer(t, m, Options{Models: map[string]*synth.Bundle{"default": {Model: m, Stats: c.stats}}})
			want, _ := sayReference(t, m, c.stats, c.text, c.cond, c.seed, c.ro)
			var bodies [2][]byte
			for i, stream := range []bool{false, true} {
				body := strings.TrimSuffix(c.body, "}") + fmt.Sprintf(`, "format": "float32", "stream": %v}`, stream)
				res := post(t, ts.URL+"/v1/synthesize", body)
				bodies[i] = readAll(t, res)
				if res.StatusCode != 200 {
					t.Fatalf("POST %s = %d %s, want 200", body, res.StatusCode, bodies[i])
				}
				if n := res.Header.Get("X-Num-Samples"); !stream && n != strconv.Itoa(len(want)) {
					t.Errorf("POST %s: X-Num-Samples = %q, want %d", body, n, len(want))
				}
			}
			if !bytes.Equal(bodies[0], bodies[1]) {
				t.Errorf("streamed text (%d bytes) differs from the whole response (%d bytes)", len(bodies[1]), len(bodies[0]))
			}
			if got := float32s(bodies[0]); !slices.Equal(got, want) {
				t.Fatalf("text %q: %d samples (or different ones), want %d as the reference", c.text, len(got), len(want))
			}
		})
	}
}

func TestSynthesizeTextLabelSecondsCaps(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	// label_seconds 0.05 caps each attempt at 400 samples at 8 kHz, so 3
	// words and 2 pauses of 0.01 s (80 samples) are at most 3*400 + 2*80.
	res := post(t, ts.URL+"/v1/synthesize", `{"text": "1 2 3", "label_seconds": 0.05, "pause_seconds": 0.01, "seed": 1, "format": "float32"}`)
	b := readAll(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("text with label_seconds = %d %s, want 200", res.StatusCode, b)
	}
	if got := len(float32s(b)); got == 0 || got > 3*400+2*80 {
		t.Errorf("text with label_seconds 0.05: %d samples, want 1 to %d", got, 3*400+2*80)
	}
}

// TestSynthesizeFLACFrames: a FLAC of more than one 4096-sample frame,
// whole and streamed, decodes to the header-stated length and to the
// float32 response's samples rounded to 16 bits.
func TestSynthesizeFLACFrames(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	// 0.25 s at 8 kHz resampled to 22050 Hz: 5513 samples (as in
	// TestSynthesizeResample), a full frame and a short one.
	req := `{"seconds": 0.25, "seed": 1, "format": %q, "sample_rate": 22050, "stream": %v}`
	res := post(t, ts.URL+"/v1/synthesize", fmt.Sprintf(req, "float32", false))
	ref := float32s(readAll(t, res))
	for _, stream := range []bool{false, true} {
		res := post(t, ts.URL+"/v1/synthesize", fmt.Sprintf(req, "flac", stream))
		b := readAll(t, res)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "audio/flac" {
			t.Fatalf("stream=%v: %d %q, want 200 audio/flac", stream, res.StatusCode, res.Header.Get("Content-Type"))
		}
		clip, err := audio.DecodeAny(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("stream=%v: audio.DecodeAny(body) = %v", stream, err)
		}
		if n := strconv.Itoa(len(clip.Samples)); n != res.Header.Get("X-Num-Samples") || len(clip.Samples) != len(ref) || clip.Format.SampleRate != 22050 {
			t.Fatalf("stream=%v: %d samples at %d Hz, X-Num-Samples %s; want %d at 22050", stream, len(clip.Samples), clip.Format.SampleRate, res.Header.Get("X-Num-Samples"), len(ref))
		}
		for i, v := range clip.Samples {
			// The decoder scales by 1/32768, the encoder rounds v*32767.
			if got, want := int(v*32768), int(math.Round(float64(ref[i])*32767)); got != want {
				t.Fatalf("stream=%v: sample %d = %d, want %d (float32 %v)", stream, i, got, want, ref[i])
			}
		}
	}
}

func TestSynthesizeResample(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	// 0.25 s at 8 kHz resampled to 22050 Hz: ceil(2000 * 22050 / 8000) = 5513 samples.
	var whole, streamed []byte
	for _, stream := range []bool{false, true} {
		res := post(t, ts.URL+"/v1/synthesize", fmt.Sprintf(`{"seconds": 0.25, "seed": 1, "format": "float32", "sample_rate": 22050, "stream": %v}`, stream))
		b := readAll(t, res)
		if res.StatusCode != 200 || len(b) != 4*5513 || res.Header.Get("X-Sample-Rate") != "22050" || res.Header.Get("X-Num-Samples") != "5513" {
			t.Fatalf("stream=%v: %d, %d bytes, X-Sample-Rate %s, X-Num-Samples %s; want 200, %d bytes, 22050, 5513",
				stream, res.StatusCode, len(b), res.Header.Get("X-Sample-Rate"), res.Header.Get("X-Num-Samples"), 4*5513)
		}
		if stream {
			streamed = b
		} else {
			whole = b
		}
	}
	if !bytes.Equal(whole, streamed) {
		t.Errorf("streamed resampled audio differs from the whole response")
	}
	// mulaw at 8 kHz is audio/basic; at another rate audio/PCMU;rate=R.
	res := post(t, ts.URL+"/v1/synthesize", `{"seconds": 0.01, "format": "mulaw", "sample_rate": 16000}`)
	readAll(t, res)
	if ct := res.Header.Get("Content-Type"); ct != "audio/PCMU;rate=16000" {
		t.Errorf("mulaw at 16 kHz: Content-Type %q, want audio/PCMU;rate=16000", ct)
	}
}

func TestSynthesizeBadInput(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{MaxSeconds: 5})
	for _, c := range []struct {
		name, body  string
		status      int
		code, inMsg string
	}{
		{"bad JSON", `{"seconds": 1,`, 400, "bad_json", "JSON"},
		{"not an object", `[1, 2]`, 400, "bad_json", "JSON object"},
		{"trailing data", `{"seconds": 1} {}`, 400, "bad_request", "after the JSON object"},
		{"unknown field", `{"secs": 1}`, 400, "bad_request", `unknown field "secs"`},
		{"unknown model", `{"model": "nope"}`, 404, "model_not_found", `unknown model "nope"`},
		{"path traversal model", `{"model": "../default"}`, 404, "model_not_found", "GET /v1/models"},
		{"negative seconds", `{"seconds": -1}`, 400, "bad_request", `"seconds" is -1`},
		{"zero seconds", `{"seconds": 0}`, 400, "bad_request", `"seconds" is 0`},
		{"too long", `{"seconds": 6}`, 400, "bad_request", "at most 5"},
		{"too many samples", `{"num_samples": 40001}`, 400, "bad_request", "1 to 40000"},
		{"seconds and samples", `{"seconds": 1, "num_samples": 10}`, 400, "bad_request", "not both"},
		{"NaN temperature as string", `{"temperature": "NaN"}`, 400, "bad_request", `"temperature": got a JSON string, want a finite number`},
		{"infinite temperature", `{"temperature": 1e999}`, 400, "bad_request", `"temperature": number 1e999`},
		{"negative temperature", `{"temperature": -0.5}`, 400, "bad_request", `"temperature" is -0.5`},
		{"top_k beyond Q", `{"top_k": 257}`, 400, "bad_request", "0 (all codes) to 256"},
		{"fractional samples", `{"num_samples": 1.5}`, 400, "bad_request", `"num_samples"`},
		{"negative seed", `{"seed": -1}`, 400, "bad_request", `"seed"`},
		{"unknown format", `{"format": "mp3"}`, 400, "bad_request", `"wav", "flac", "pcm16", "mulaw", "alaw", "float32"`},
		{"bad rate", `{"sample_rate": 10}`, 400, "bad_request", "1000 to 192000"},
		{"odd rate", `{"sample_rate": 191999}`, 400, "bad_request", "common rate"},
		{"unknown speaker", `{"speaker": "bob"}`, 400, "bad_request", "allowed: george, jackson"},
		{"unknown condition", `{"conditions": {"mood": "happy"}}`, 400, "bad_request", `no condition "mood"`},
		{"unknown word", `{"text": "one banana"}`, 400, "bad_request", `"b" is not a digit (allowed: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)`},
		{"text, unknown speaker", `{"text": "1", "speaker": "bob"}`, 400, "bad_request", `unknown speaker "bob" (allowed: george, jackson)`},
		{"text, unknown condition", `{"text": "1", "conditions": {"mood": "happy"}}`, 400, "bad_request", `unknown condition "mood" (allowed: speaker)`},
		{"text of separators", `{"text": ";,."}`, 400, "bad_request", "no digit to say"},
		{"label_seconds too small", `{"text": "1", "label_seconds": 0.001}`, 400, "bad_request", `"label_seconds" is 0.001`},
		{"label and text", `{"text": "1", "label": "2"}`, 400, "bad_request", "not both"},
		{"text and seconds", `{"text": "1", "seconds": 1}`, 400, "bad_request", "drop \"seconds\""},
		{"text too long", `{"text": "1 2 3 4 5 6 7 8 9", "label_seconds": 1}`, 400, "bad_request", "limit of 5 s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := post(t, ts.URL+"/v1/synthesize", c.body)
			e := errorOf(t, readAll(t, res))
			if res.StatusCode != c.status || e.Code != c.code || !strings.Contains(e.Message, c.inMsg) {
				t.Errorf("POST %s = %d %s %q, want %d %s containing %q", c.body, res.StatusCode, e.Code, e.Message, c.status, c.code, c.inMsg)
			}
		})
	}
	// Not JSON at all.
	res, err := http.Post(ts.URL+"/v1/synthesize", "application/xml", strings.NewReader("<seconds>1</seconds>"))
	if err != nil {
		t.Fatal(err)
	}
	if e := errorOf(t, readAll(t, res)); res.StatusCode != 415 {
		t.Errorf("application/xml body = %d %v, want 415", res.StatusCode, e)
	}
}

// failReader fails the test if the handler reads the body.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("the body of a request declaring 10 GB was read")
	return 0, io.EOF
}

func (f failReader) Close() error { return nil }

func TestHugeDeclaredBodyRefusedUnread(t *testing.T) {
	m := tinyModel(t)
	s, _ := newTestServer(t, m, Options{})
	for _, path := range []string{"/v1/synthesize", "/v1/score"} {
		req, _ := http.NewRequest(http.MethodPost, path, failReader{t})
		req.ContentLength = 10 << 30 // 10 GiB
		rec := newRecorder()
		s.Handler().ServeHTTP(rec, req)
		e := errorOf(t, rec.Body.Bytes())
		if rec.Code != http.StatusRequestEntityTooLarge || e.Code != "too_large" || !strings.Contains(e.Message, "10737418240 bytes") {
			t.Errorf("POST %s with Content-Length 10 GiB = %d %+v, want 413 too_large naming the size", path, rec.Code, e)
		}
	}
	// Over a real connection: headers declaring 10 GiB and no body get a
	// 413 at once (the server does not wait for the body).
	_, ts0 := newTestServer(t, m, Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts0.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/synthesize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", int64(10)<<30)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res0, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a 10 GiB declaration within 10 s: %v", err)
	}
	if e := errorOf(t, readAll(t, res0)); res0.StatusCode != 413 {
		t.Errorf("10 GiB declared over TCP = %d %+v, want 413", res0.StatusCode, e)
	}
	// A chunked body over the limit is cut while reading.
	_, ts := newTestServer(t, m, Options{MaxBodyBytes: 1000})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/synthesize", io.MultiReader(strings.NewReader(`{"model": "`), strings.NewReader(strings.Repeat("a", 5000)+`"}`)))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if e := errorOf(t, readAll(t, res)); res.StatusCode != 413 {
		t.Errorf("chunked 5 kB body with a 1000-byte limit = %d %+v, want 413", res.StatusCode, e)
	}
}

func TestBusyGets429WithRetryAfter(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{MaxStreams: 1, MaxQueue: -1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := startStream(t, ctx, ts.URL, `{"seconds": 30, "stream": true, "format": "pcm16"}`)
	defer res.Body.Close()
	res2 := post(t, ts.URL+"/v1/synthesize", `{"seconds": 0.1}`)
	e := errorOf(t, readAll(t, res2))
	if res2.StatusCode != 429 || e.Code != "busy" || res2.Header.Get("Retry-After") == "" {
		t.Errorf("second request while the only slot is taken = %d %+v Retry-After %q, want 429 busy with Retry-After",
			res2.StatusCode, e, res2.Header.Get("Retry-After"))
	}
}

// startStream posts a streaming request and reads its first bytes.
func startStream(t *testing.T, ctx context.Context, url, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/synthesize", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("stream request = %d %s", res.StatusCode, readAll(t, res))
	}
	if _, err := io.ReadFull(res.Body, make([]byte, 64)); err != nil {
		t.Fatalf("reading the stream's first bytes: %v", err)
	}
	return res
}

func TestQueuedRequestWaitsForASlot(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{MaxStreams: 1, MaxQueue: 1})
	ctx, cancel := context.WithCancel(context.Background())
	res := startStream(t, ctx, ts.URL, `{"seconds": 30, "stream": true}`)
	done := make(chan int)
	go func() {
		r := post(t, ts.URL+"/v1/synthesize", `{"seconds": 0.05}`)
		readAll(t, r)
		done <- r.StatusCode
	}()
	time.Sleep(100 * time.Millisecond) // let it queue
	cancel()                           // the streaming client goes away
	res.Body.Close()
	select {
	case code := <-done:
		if code != 200 {
			t.Errorf("queued request = %d, want 200 once the slot is free", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("queued request did not get the slot freed by a cancelled stream")
	}
}

func TestCancelFreesTheSlot(t *testing.T) {
	m := tinyModel(t)
	s, ts := newTestServer(t, m, Options{MaxStreams: 1, MaxQueue: -1})
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		res := startStream(t, ctx, ts.URL, `{"seconds": 30, "stream": true}`)
		cancel()
		res.Body.Close()
		// The scheduler must notice between steps: poll the slot.
		deadline := time.Now().Add(5 * time.Second)
		for generating(s) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("a cancelled stream still holds its slot after 5 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if got := admitted(s); got != 0 {
			// The handler may still be returning; give it a moment.
			time.Sleep(50 * time.Millisecond)
			if got = admitted(s); got != 0 {
				t.Fatalf("after cancel, %d requests still admitted, want 0", got)
			}
		}
	}
	res := post(t, ts.URL+"/v1/synthesize", `{"seconds": 0.05}`)
	if readAll(t, res); res.StatusCode != 200 {
		t.Errorf("request after cancelled streams = %d, want 200", res.StatusCode)
	}
	if got := scrape(t, ts.URL); !strings.Contains(got, `wavenet_active_streams{model="default"} 0`) {
		t.Errorf("active streams gauge not back to 0:\n%s", grep(got, "active_streams"))
	}
}

func TestShutdownLetsRunningSynthesesFinish(t *testing.T) {
	m := tinyModel(t)
	s, ts := newTestServer(t, m, Options{})
	type result struct {
		n   int
		err error
	}
	done := make(chan result)
	go func() {
		// 30 s = 240,000 samples: long enough to be running when the
		// shutdown starts, even on a fast machine.
		res := post(t, ts.URL+"/v1/synthesize", `{"seconds": 30, "stream": true, "format": "pcm16"}`)
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		done <- result{len(b), err}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for admitted(s) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	shut := make(chan error)
	go func() { shut <- s.Shutdown(context.Background()) }()
	for !s.engine.Draining() {
		time.Sleep(time.Millisecond)
	}
	if admitted(s) == 0 {
		t.Log("the stream ended before the shutdown began: drain not exercised")
	}
	// While draining: new work is refused with 503, readiness fails.
	res := post(t, ts.URL+"/v1/synthesize", `{"seconds": 0.1}`)
	if e := errorOf(t, readAll(t, res)); res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Errorf("request during shutdown = %d %+v, want 503 with Retry-After", res.StatusCode, e)
	}
	if r, _ := http.Get(ts.URL + "/readyz"); r.StatusCode != 503 {
		t.Errorf("/readyz during shutdown = %d, want 503", r.StatusCode)
	}
	r := <-done
	if r.err != nil || r.n != 2*240000 {
		t.Errorf("running stream during shutdown: %d bytes, %v; want all %d bytes", r.n, r.err, 2*240000)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
}

func TestShutdownTimeoutCutsStreams(t *testing.T) {
	m := tinyModel(t)
	s, ts := newTestServer(t, m, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := startStream(t, ctx, ts.URL, `{"seconds": 30, "stream": true, "format": "pcm16"}`)
	sctx, scancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer scancel()
	if err := s.Shutdown(sctx); err == nil {
		t.Error("Shutdown with a 30 s stream and a 50 ms deadline = nil, want a deadline error")
	}
	// The stream is cut: the body ends with an error, not a clean EOF.
	b, err := io.ReadAll(res.Body)
	if err == nil && len(b)+64 >= 2*30*8000 {
		t.Errorf("stream after a cut shutdown: %d bytes, err %v; want a truncated body with an error", len(b)+64, err)
	}
}

func TestStreamHeadersBeforeAudio(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	res := post(t, ts.URL+"/v1/synthesize", `{"seconds": 0.5, "stream": true, "seed": 3}`)
	b := readAll(t, res)
	if res.Header.Get("X-Seed") != "3" || res.Header.Get("X-Audio-Duration") != "0.5" || res.Header.Get("Content-Type") != "audio/wav" {
		t.Errorf("stream headers = %v", res.Header)
	}
	if len(b) != 44+2*4000 || string(b[:4]) != "RIFF" {
		t.Errorf("stream body %d bytes starting %q, want %d starting RIFF", len(b), b[:4], 44+2*4000)
	}
	if n, _ := strconv.Atoi(res.Header.Get("X-Num-Samples")); n != 4000 {
		t.Errorf("X-Num-Samples = %d, want 4000", n)
	}
}

func TestRequestDeadline(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{RequestTimeout: 100 * time.Millisecond})
	// 30 s of audio cannot be made in 100 ms on the tiny model (its fast
	// path runs well under 3 Msamples/s): whole responses get 503 timeout,
	res := post(t, ts.URL+"/v1/synthesize", `{"seconds": 30}`)
	if e := errorOf(t, readAll(t, res)); res.StatusCode != 503 || e.Code != "timeout" {
		t.Errorf("30 s past a 100 ms deadline = %d %+v, want 503 timeout", res.StatusCode, e)
	}
	// and streams are cut (an error, not a clean short body).
	res = post(t, ts.URL+"/v1/synthesize", `{"seconds": 30, "stream": true, "format": "pcm16"}`)
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || err == nil {
		t.Errorf("stream past the deadline = %d, %d bytes, read error %v; want 200 then a cut (read error)", res.StatusCode, len(b), err)
	}
}

// TestTextStreamCancelFreesSlot checks that a streamed text request sends
// its first word before the others are said, and that a client that goes
// away frees the only slot for the next request.
func TestTextStreamCancelFreesSlot(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{MaxStreams: 1, MaxQueue: -1, MaxSeconds: 60})
	ctx, cancel := context.WithCancel(context.Background())
	// 40 digits: about 40 x 0.93 s of audio, each tried 3 times by this
	// noisy random model; the first word arrives long before the end.
	res := startStream(t, ctx, ts.URL, `{"text": "`+strings.Repeat("1 ", 40)+`", "stream": true, "format": "pcm16"}`)
	if n := res.Header.Get("X-Num-Samples"); n != "" {
		t.Errorf("streamed text: X-Num-Samples = %q, want none (not known in advance)", n)
	}
	cancel()
	res.Body.Close()
	// The slot frees between generator steps: poll for a bounded time.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := post(t, ts.URL+"/v1/synthesize", `{"seconds": 0.01}`)
		readAll(t, r)
		if r.StatusCode == 200 {
			break
		}
		if r.StatusCode != 429 || time.Now().After(deadline) {
			t.Fatalf("request after the text client left = %d, want 200 once its slot is free (429 meanwhile)", r.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// admitted and generating are the default model's requests admitted and
// streams generating.
func admitted(s *Server) int {
	n, _ := s.engine.InFlight("default")
	return n
}

func generating(s *Server) int {
	_, n := s.engine.InFlight("default")
	return n
}

// bodySize is the body of n samples in format f: a 44-byte WAV header and
// 2 bytes a sample, 2 (pcm16), 1 (mulaw) or 4 (float32).
func bodySize(f audio.Encoding, n int) int64 {
	per := map[audio.Encoding]int{"wav": 2, "pcm16": 2, "mulaw": 1, "alaw": 1, "float32": 4}[f]
	if f == "wav" {
		return int64(44 + per*n)
	}
	return int64(per * n)
}
