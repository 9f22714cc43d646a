package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// newLoggedServer serves opts on an httptest server whose net/http
// ErrorLog (panics serving a request) and whose server log are kept.
func newLoggedServer(t *testing.T, opts Options) (ts *httptest.Server, errorLog, serverLog *syncBuffer) {
	t.Helper()
	errorLog, serverLog = &syncBuffer{}, &syncBuffer{}
	opts.Logger = slogTo(serverLog)
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts = httptest.NewUnstartedServer(s.Handler())
	ts.Config.ErrorLog = log.New(errorLog, "", 0)
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		_ = s.Shutdown(t.Context())
	})
	return ts, errorLog, serverLog
}

// zeroFrames is n lines of one 4-mel frame of zeros (vocoder's n_mels).
func zeroFrames(n int) string { return strings.Repeat("[0,0,0,0]\n", n) }

// postNDJSON posts body as JSON lines to /v1/vocode with query q.
func postNDJSON(t *testing.T, ts *httptest.Server, q string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/vocode"+q, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ndjsonType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// slowBody is a request body that sends first, then a frame of zeros
// every 5 ms for d (so that the server still reads it while it answers),
// then ends; stop ends it at once.
func slowBody(first string, d time.Duration) (body io.Reader, stop func()) {
	pr, pw := io.Pipe()
	go func() {
		if _, err := io.WriteString(pw, first); err != nil {
			return
		}
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if _, err := io.WriteString(pw, zeroFrames(1)); err != nil {
				return
			}
		}
		pw.Close()
	}()
	return pr, func() { pr.CloseWithError(errors.New("test: body stopped")) }
}

// audioHeaderNames are the headers of an audio answer that an error
// answer must not carry.
var audioHeaderNames = []string{"X-Audio-Encoding", "X-Sample-Rate", "X-Seed", "X-Model", "X-Num-Samples"}

// checkErrorAnswer checks that res is a JSON error of status want whose
// message contains say, without audio headers.
func checkErrorAnswer(t *testing.T, name string, res *http.Response, want int, say string) {
	t.Helper()
	e := errorOf(t, readAll(t, res))
	if res.StatusCode != want || !strings.Contains(e.Message, say) {
		t.Errorf("%s: %d %q, want %d saying %q", name, res.StatusCode, e.Message, want, say)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: error answer with Content-Type %q, want application/json", name, ct)
	}
	for _, h := range audioHeaderNames {
		if v := res.Header.Get(h); v != "" {
			t.Errorf("%s: error answer carries %s: %s, want no audio headers", name, h, v)
		}
	}
}

// TestVocodeStreamedInputErrors: a bad line of JSON-lines frames is a 400
// naming it and what is wrong when the audio is sent whole or when it is
// the first line; a bad line after streamed audio has begun cuts the
// stream (the client sees a broken chunked body, not a clean end) and is
// logged.
func TestVocodeStreamedInputErrors(t *testing.T) {
	ts, _, serverLog := newLoggedServer(t, Options{Models: map[string]*synth.Bundle{"voc": {Model: vocoder(t)}}})
	for _, c := range []struct {
		name, body, say string
	}{
		{"garbage in the middle", zeroFrames(3) + "garbage\n" + zeroFrames(2), "line 4 of the application/x-ndjson body is not JSON"},
		{"NaN in the middle", zeroFrames(3) + "[NaN]\n" + zeroFrames(2), "line 4 of the application/x-ndjson body is not JSON"},
		{"garbage first", "garbage\n" + zeroFrames(2), "line 1 of the application/x-ndjson body is not JSON"},
		{"NaN first", "[NaN]\n" + zeroFrames(2), "line 1 of the application/x-ndjson body is not JSON"},
		// One line beyond the reader's 16 MiB line limit (the default
		// body limit, 32 MiB, lets it in).
		{"line too long", "[" + strings.Repeat("0,", 8<<20+1) + "0]\n", "line 1 of the application/x-ndjson body is longer than the limit of 16 MiB"},
	} {
		res := postNDJSON(t, ts, "?format=flac", strings.NewReader(c.body))
		checkErrorAnswer(t, c.name+" (whole audio)", res, 400, c.say)

		res = postNDJSON(t, ts, "?format=flac&stream=true", strings.NewReader(c.body))
		if !strings.HasPrefix(c.name, "garbage in") && !strings.HasPrefix(c.name, "NaN in") {
			checkErrorAnswer(t, c.name+" (streamed audio)", res, 400, c.say)
			continue
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || err == nil {
			t.Errorf("%s (streamed audio): %d, %d bytes, read error %v; want 200 then a cut body (a read error)", c.name, res.StatusCode, len(b), err)
		}
	}
	// Two cuts, each logged with its cause.
	if got := strings.Count(serverLog.String(), "stream cut after the first byte"); got != 2 || !strings.Contains(serverLog.String(), "line 4 of the") {
		t.Errorf("server log has %d stream cuts, want 2 naming line 4:\n%s", got, serverLog.String())
	}
}

// TestVocodeRejectedStreamReader: a JSON-lines request refused before or
// after its first frames, while its body is still arriving, answers its
// error with the body reader stopped: net/http logs no panic (an
// "invalid concurrent Body.Read call" when the reader outlived the
// handler), and -race sees no race on the body.
func TestVocodeRejectedStreamReader(t *testing.T) {
	ts, errorLog, _ := newLoggedServer(t, Options{Models: map[string]*synth.Bundle{"voc": {Model: vocoder(t)}}})
	for _, c := range []struct {
		name, query, first, say string
	}{
		{"griffin-lim", "?method=griffin-lim", zeroFrames(1), "needs all the frames at once"},
		{"unknown speaker", "?speaker=bob", zeroFrames(1), "bob"},
		{"bad temperature", "?temperature=-1", zeroFrames(1), "temperature"},
		{"bad format", "?format=mp3", zeroFrames(1), "format"},
		{"typo", "?formt=pcm16", zeroFrames(1), "unknown query parameter"},
		{"wrong n_mels first", "", "[1,2,3]\n", "has 3 values"},
		{"bad first line", "", "garbage\n", "line 1"},
		{"wrong n_mels later", "", zeroFrames(2) + "[1,2,3]\n", "has 3 values"},
	} {
		// The body sent at once (2,000 more frames: 20,000 bytes the
		// server still reads after its answer, as the audit's curl
		// did), then arriving slowly.
		res := postNDJSON(t, ts, c.query, strings.NewReader(c.first+zeroFrames(2000)))
		checkErrorAnswer(t, c.name+" (body at once)", res, 400, c.say)
		body, stop := slowBody(c.first, 300*time.Millisecond)
		res = postNDJSON(t, ts, c.query, body)
		checkErrorAnswer(t, c.name+" (slow body)", res, 400, c.say)
		stop()
	}
	// Frames that stop coming while the body stays open: after the
	// engine's 2 s (synth's maxStarved), the 400 of a starved stream,
	// without audio headers.
	pr, pw := io.Pipe()
	go io.WriteString(pw, zeroFrames(2))
	res := postNDJSON(t, ts, "?format=flac", pr)
	checkErrorAnswer(t, "starved", res, 400, "no mel frame came")
	pw.Close()

	time.Sleep(50 * time.Millisecond) // net/http logs a panic after the answer is out
	if s := errorLog.String(); s != "" {
		t.Errorf("net/http error log: %s; want nothing", s)
	}
}

// TestVocodeUploadForms: raw FLAC is a recording like WAV; the 415 names
// the accepted types; an upload cut at the body limit is a 413 in every
// input form, chunked or not.
func TestVocodeUploadForms(t *testing.T) {
	voc := vocoder(t)
	x := make([]float32, 40)
	for i := range x {
		x[i] = float32(i%8) / 8
	}
	flac, err := synth.Encode(audio.EncodingFLAC, 8000, x)
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, nil, Options{Models: map[string]*synth.Bundle{"voc": {Model: voc}}})
	for _, ct := range []string{"audio/flac", "audio/x-flac"} {
		res := postType(t, ts.URL+"/v1/vocode?format=pcm16", ct, flac)
		// 40 samples: 1 + 40/4 = 11 centred frames of 4 samples.
		if b := readAll(t, res); res.StatusCode != 200 || len(b) != 11*4*2 {
			t.Errorf("FLAC as %s = %d, %d bytes (%s); want 200 and 11 frames x 4 x 2 bytes", ct, res.StatusCode, len(b), b)
		}
	}
	res := postType(t, ts.URL+"/v1/vocode", "image/png", []byte("x"))
	checkErrorAnswer(t, "image/png", res, 415, "")
	for _, want := range []string{"application/json", npyType, ndjsonType, "audio/wav", "audio/flac", "multipart/form-data"} {
		if res := postType(t, ts.URL+"/v1/vocode", "image/png", []byte("x")); !strings.Contains(errorOf(t, readAll(t, res)).Message, want) {
			t.Errorf("415 message does not name %s", want)
		}
	}

	const limit = 1000 // bytes: every body below is larger
	_, small := newTestServer(t, nil, Options{MaxBodyBytes: limit, Models: map[string]*synth.Bundle{"voc": {Model: voc}}})
	var npy bytes.Buffer
	if err := audio.EncodeNPY(&npy, make([]float32, 4*100), 100, 4); err != nil { // 1,600 bytes of values
		t.Fatal(err)
	}
	var wav bytes.Buffer
	if err := audio.Encode(&wav, make([]float32, 1000), 8000, audio.PCM16); err != nil { // 2,000 bytes of samples
		t.Fatal(err)
	}
	long := make([]float32, 4000)
	for i := range long {
		long[i] = float32(i%13) / 13 // not silence: FLAC would squeeze it under the limit
	}
	bigFLAC, err := synth.Encode(audio.EncodingFLAC, 8000, long)
	if err != nil {
		t.Fatal(err)
	}
	mp, mpType := multipartFile(t, wav.Bytes())
	js, _ := json.Marshal(map[string]any{"mels": make([][4]float32, 100)})
	for _, c := range []struct {
		name, ctype string
		body        []byte
	}{
		{"npy", npyType, npy.Bytes()},
		{"ndjson", ndjsonType, []byte(zeroFrames(200))},
		{"ndjson cut mid-line", ndjsonType, []byte(strings.Repeat("[0.5,0,0,0]\n", 200))}, // 12-byte lines: the limit falls inside line 84
		{"json", "application/json", js},
		{"wav", "audio/wav", wav.Bytes()},
		{"flac", "audio/flac", bigFLAC},
		{"multipart", mpType, mp},
	} {
		for _, chunked := range []bool{false, true} {
			var body io.Reader = bytes.NewReader(c.body)
			if chunked {
				body = struct{ io.Reader }{body} // no length: sent chunked
			}
			req, _ := http.NewRequest(http.MethodPost, small.URL+"/v1/vocode", body)
			req.Header.Set("Content-Type", c.ctype)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			checkErrorAnswer(t, fmt.Sprintf("%s of %d bytes (chunked %v)", c.name, len(c.body), chunked), res, 413, "")
		}
	}
}

// TestVocodeModelAndQuery: without a model the served vocoder vocodes
// (the only one, or "vocoder" among several; else a 400 naming them);
// query parameters fill the fields a JSON body leaves out and contradict
// none; an unknown query name is a 400 listing the parameters and the
// model's conditions.
func TestVocodeModelAndQuery(t *testing.T) {
	voc, digits := vocoder(t), tinyModel(t)
	frames := `[[0,0,0,0],[1,1,1,1],[2,2,2,2]]`
	for _, c := range []struct {
		name   string
		models []string // "voc..." are vocoders, the others digit voices
		query  string
		body   string
		status int
		model  string // X-Model wanted (status 200), or the message
	}{
		{"default serve", []string{"default", "vocoder"}, "", `{"mels":` + frames + `}`, 200, "vocoder"},
		{"one vocoder", []string{"default", "voc"}, "", `{"mels":` + frames + `}`, 200, "voc"},
		{"vocoder among several", []string{"default", "voc", "vocoder"}, "", `{"mels":` + frames + `}`, 200, "vocoder"},
		{"several", []string{"default", "voc", "voc2"}, "", `{"mels":` + frames + `}`, 400, "several vocoders are served (voc, voc2)"},
		{"query model", []string{"default", "voc", "voc2"}, "?model=voc2", `{"mels":` + frames + `}`, 200, "voc2"},
		{"same in both", []string{"voc", "voc2"}, "?model=voc2", `{"model":"voc2","mels":` + frames + `}`, 200, "voc2"},
		{"contradiction", []string{"voc", "voc2"}, "?model=voc2", `{"model":"voc","mels":` + frames + `}`, 400, `query parameter "model" is "voc2" but the body's field "model" is "voc"`},
		{"stream contradiction", []string{"voc"}, "?stream=true", `{"stream":false,"mels":` + frames + `}`, 400, `query parameter "stream"`},
		{"typo", []string{"voc"}, "?formt=pcm16", `{"mels":` + frames + `}`, 400,
			`unknown query parameter "formt"; the parameters are model, method, layout, speaker, temperature, seed, format, sample_rate, stream, and the conditions of model "voc" (digit, speaker)`},
	} {
		models := map[string]*synth.Bundle{}
		for _, id := range c.models {
			models[id] = &synth.Bundle{Model: digits}
			if strings.HasPrefix(id, "voc") {
				models[id] = &synth.Bundle{Model: voc}
			}
		}
		_, ts := newTestServer(t, nil, Options{Models: models})
		res := postType(t, ts.URL+"/v1/vocode"+c.query, "application/json", []byte(c.body))
		b := readAll(t, res)
		if c.status != 200 {
			if e := errorOf(t, b); res.StatusCode != c.status || !strings.Contains(e.Message, c.model) {
				t.Errorf("%s: %d %q, want %d saying %q", c.name, res.StatusCode, e.Message, c.status, c.model)
			}
			continue
		}
		if res.StatusCode != 200 || res.Header.Get("X-Model") != c.model {
			t.Errorf("%s: %d X-Model %q (%s), want 200 from %q", c.name, res.StatusCode, res.Header.Get("X-Model"), b, c.model)
		}
	}
	// A query parameter the body leaves out applies: pcm16 is 2 bytes a
	// sample, 3 frames x 4 samples.
	_, ts := newTestServer(t, nil, Options{Models: map[string]*synth.Bundle{"voc": {Model: voc}}})
	res := postType(t, ts.URL+"/v1/vocode?format=pcm16", "application/json", []byte(`{"mels":`+frames+`}`))
	if b := readAll(t, res); res.StatusCode != 200 || len(b) != 3*4*2 {
		t.Errorf("JSON body with ?format=pcm16 = %d, %d bytes; want 200 and 3 frames x 4 samples x 2 bytes", res.StatusCode, len(b))
	}

	// OpenAPI lists every query parameter, and the conditions.
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(readAll(t, getURL(t, ts.URL+"/openapi.json")), &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range doc.Paths["/v1/vocode"]["post"].Parameters {
		names = append(names, p.Name)
	}
	for _, want := range append(slices.Clone(vocodeParams), "conditions") {
		if !slices.Contains(names, want) {
			t.Errorf("OpenAPI /v1/vocode query parameters %v lack %q", names, want)
		}
	}
}
