package api

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
)

// speechText is the text of the drop-in route tests: two words keep the
// tiny model's word-by-word generation short.
const speechText = "4, 2"

// postWith posts body to url with the given headers.
func postWith(t testing.TB, url, body string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// referenceSpeech is /v1/synthesize's float32 audio of speechText said by
// jackson with seed 9 at rate Hz (0: the model's).
func referenceSpeech(t *testing.T, url string, rate int) []float32 {
	t.Helper()
	return referenceSpeechKey(t, url, rate, "")
}

// referenceSpeechKey is referenceSpeech from a server that needs API key
// key ("": none).
func referenceSpeechKey(t *testing.T, url string, rate int, key string) []float32 {
	t.Helper()
	h := map[string]string{}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	res := postWith(t, url+"/v1/synthesize", fmt.Sprintf(`{"text": "4 2", "speaker": "jackson", "seed": 9, "format": "float32", "sample_rate": %d}`, rate), h)
	body := readAll(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/synthesize = %d %s", res.StatusCode, body)
	}
	return float32s(body)
}

// decodeAudio decodes a body in format f (a WAV or FLAC of any length
// declared) and returns its samples and the tolerance per sample against
// the float32 audio it encodes.
func decodeAudio(t *testing.T, f audio.Encoding, body []byte) (x []float32, tol func(want float32) float64) {
	t.Helper()
	q16 := func(float32) float64 { return 0.5/32767 + 1e-6 } // rounding to 16 bits
	switch f {
	case audio.EncodingWAV, audio.EncodingFLAC:
		clip, err := audio.DecodeAny(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("audio.DecodeAny(%s body) = %v", f, err)
		}
		for _, v := range clip.Samples { // the decoder scales by 1/32768, the encoder by 32767
			x = append(x, v*32768/32767)
		}
		return x, q16
	case audio.EncodingPCM16:
		for _, v := range le16(body) {
			x = append(x, float32(v)/32767)
		}
		return x, q16
	case audio.EncodingMulaw, audio.EncodingAlaw:
		dec, div := g711Decode, 16.0 // G.711's half step: at most 1/16 (mu-law), 1/32 (A-law) of the magnitude plus the floor step
		if f == audio.EncodingAlaw {
			dec, div = alawDecode, 32
		}
		for _, u := range body {
			x = append(x, float32(dec(u))/32767)
		}
		return x, func(w float32) float64 { return (math.Abs(float64(w))*32767/div + 9) / 32767 }
	}
	return float32s(body), func(float32) float64 { return 0 }
}

func sameAudio(t *testing.T, what string, got, want []float32, tol func(float32) float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d (as /v1/synthesize)", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol(want[i]) {
			t.Fatalf("%s: sample %d = %v, want %v (tolerance %g)", what, i, got[i], want[i], tol(want[i]))
		}
	}
}

// sseAudio reads OpenAI's speech events: the audio of the deltas and the
// done event.
func sseAudio(t *testing.T, body []byte) ([]byte, map[string]any) {
	t.Helper()
	var out []byte
	var done map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		switch ev["type"] {
		case "speech.audio.delta":
			if done != nil {
				t.Fatal("speech.audio.delta after speech.audio.done")
			}
			b, err := base64.StdEncoding.DecodeString(ev["audio"].(string))
			if err != nil {
				t.Fatalf("delta audio: %v", err)
			}
			out = append(out, b...)
		case "speech.audio.done":
			done = ev
		default:
			t.Fatalf("event type %v, want speech.audio.delta or speech.audio.done", ev["type"])
		}
	}
	if done == nil {
		t.Fatal("no speech.audio.done event")
	}
	return out, done
}

// TestSpeechFormats: every response_format, whole, streamed and as
// server-sent events, decodes to the samples /v1/synthesize gives for
// the same text, voice and seed (X-Seed), pcm at OpenAI's 24 kHz.
func TestSpeechFormats(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{})
	ref := referenceSpeech(t, ts.URL, 0)
	ref24 := referenceSpeech(t, ts.URL, OpenAIPCMRate)
	for _, f := range openAIFormats {
		for _, sf := range []string{"", "audio", "sse"} {
			t.Run(f.name+"/"+sf, func(t *testing.T) {
				res := postWith(t, ts.URL+"/v1/audio/speech", fmt.Sprintf(`{"model": "tts-1", "input": %q, "voice": "jackson", "response_format": %q, "stream_format": %q}`,
					speechText, f.name, sf), map[string]string{"X-Seed": "9"})
				body := readAll(t, res)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("POST /v1/audio/speech = %d %s", res.StatusCode, body)
				}
				if got := res.Header.Get("X-Seed"); got != "9" {
					t.Errorf("X-Seed = %q, want 9", got)
				}
				checkSpeech(t, f, sf, res.Header.Get("Content-Type"), body, ref, ref24)
			})
		}
	}
}

// checkSpeech checks a /v1/audio/speech body of format f and stream
// format sf (content type ct) against /v1/synthesize's audio of the same
// request, ref (ref24 at 24 kHz for pcm).
func checkSpeech(t *testing.T, f openAIFormat, sf, ct string, body []byte, ref, ref24 []float32) {
	t.Helper()
	if sf == "sse" {
		if ct != "text/event-stream" {
			t.Errorf("Content-Type = %q, want text/event-stream", ct)
		}
		var done map[string]any
		body, done = sseAudio(t, body)
		usage, _ := done["usage"].(map[string]any)
		if usage["input_tokens"] != 2.0 { // the two labels said
			t.Errorf("usage = %v, want input_tokens 2", done["usage"])
		}
	}
	want := ref
	if f.name == "pcm" {
		want = ref24
	}
	got, tol := decodeAudio(t, f.enc, body)
	sameAudio(t, f.name+"/"+sf, got, want, tol)
}

// TestSpeechSpeed: speed makes the audio about 1/speed as long.
func TestSpeechSpeed(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{})
	ref := referenceSpeech(t, ts.URL, 0)
	for _, speed := range []float64{0.5, 2} {
		res := postWith(t, ts.URL+"/v1/audio/speech", fmt.Sprintf(`{"model": "default", "input": %q, "voice": {"id": "jackson"}, "response_format": "float32", "speed": %v}`, speechText, speed),
			map[string]string{"X-Seed": "9"})
		body := readAll(t, res)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("speed %v: %d %s", speed, res.StatusCode, body)
		}
		// audio.TimeStretch: round(len/speed) samples.
		if got, want := len(float32s(body)), int(math.Round(float64(len(ref))/speed)); got != want {
			t.Errorf("speed %v: %d samples, want %d", speed, got, want)
		}
	}
}

// TestSpeechErrors: errors are OpenAI's error objects naming the field.
func TestSpeechErrors(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{APIKeys: []string{"k"}})
	auth := map[string]string{"Authorization": "Bearer k"}
	for _, tc := range []struct {
		name, body string
		headers    map[string]string
		status     int
		param      any
		code, msg  string
	}{
		{"no key", `{}`, nil, 401, nil, "invalid_api_key", "missing API key"},
		{"wrong key", `{}`, map[string]string{"Authorization": "Bearer x"}, 401, nil, "invalid_api_key", "invalid API key"},
		{"mp3", `{"model": "tts-1", "input": "1", "voice": "jackson", "response_format": "mp3"}`, auth, 400, "response_format", "bad_request", `"wav", "flac", "pcm", "mulaw", "alaw", "float32"`},
		{"voice", `{"model": "tts-1", "input": "1", "voice": "alloy"}`, auth, 400, "voice", "bad_request", `unknown voice "alloy"; model "default"'s voices are "george", "jackson"`},
		{"text", `{"model": "tts-1", "input": "call me", "voice": "jackson"}`, auth, 400, "input", "bad_request", `"call"`},
		{"speed", `{"model": "tts-1", "input": "1", "voice": "jackson", "speed": 5}`, auth, 400, "speed", "bad_request", "want 0.25 to 4"},
		{"model", `{"model": "tts-2", "input": "1", "voice": "jackson"}`, auth, 404, "model", "model_not_found", `unknown model "tts-2"`},
		{"long", fmt.Sprintf(`{"model": "tts-1", "input": %q, "voice": "jackson"}`, strings.Repeat("1", MaxSpeechInput+1)), auth, 400, "input", "bad_request", "at most 4096"},
		{"stream format", `{"model": "tts-1", "input": "1", "voice": "jackson", "stream_format": "ws"}`, auth, 400, "stream_format", "bad_request", `want "audio" or "sse"`},
		{"seed", `{"model": "tts-1", "input": "1", "voice": "jackson"}`, map[string]string{"Authorization": "Bearer k", "X-Seed": "-1"}, 400, "seed", "bad_request", "unsigned integer"},
		{"unknown field", `{"model": "tts-1", "input": "1", "voice": "jackson", "volume": 2}`, auth, 400, nil, "bad_request", `unknown field "volume"`},
	} {
		res := postWith(t, ts.URL+"/v1/audio/speech", tc.body, tc.headers)
		body := readAll(t, res)
		var e struct {
			Error struct {
				Message, Type, Code string
				Param               any
			}
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("%s: body %s: %v", tc.name, body, err)
		}
		if res.StatusCode != tc.status || e.Error.Param != tc.param || e.Error.Code != tc.code ||
			e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, tc.msg) {
			t.Errorf("%s: %d %s; want %d, an invalid_request_error on param %v, code %q, saying %q", tc.name, res.StatusCode, body, tc.status, tc.param, tc.code, tc.msg)
		}
	}
	// With the key, as an OpenAI client sends it: audio.
	res := postWith(t, ts.URL+"/v1/audio/speech", `{"model": "gpt-4o-mini-tts", "input": "1", "voice": "george", "instructions": "cheerful"}`, auth)
	if body := readAll(t, res); res.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte("RIFF")) {
		t.Errorf("with Bearer key: %d %.80q, want 200 with a WAV", res.StatusCode, body)
	}
}

// TestSpeechEventsError: an error after the first event (here the
// server's request deadline) ends the stream with an "error" event in
// OpenAI's error shape instead of speech.audio.done.
func TestSpeechEventsError(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{RequestTimeout: 100 * time.Millisecond, MaxSeconds: 60})
	// 40 digits cannot be said in 100 ms on the tiny model (each word
	// takes tens of milliseconds of generation).
	res := post(t, ts.URL+"/v1/audio/speech", `{"model": "tts-1", "input": "`+strings.Repeat("1 ", 40)+`", "voice": "jackson", "stream_format": "sse"}`)
	body := readAll(t, res)
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	last, _ := strings.CutPrefix(lines[len(lines)-1], "data: ")
	var ev struct {
		Type  string
		Error struct{ Code, Type, Message string }
	}
	if err := json.Unmarshal([]byte(last), &ev); err != nil || res.StatusCode != 200 || ev.Type != "error" || ev.Error.Code != "timeout" || ev.Error.Type != "server_error" {
		t.Errorf("sse past the deadline: %d, last event %s; want 200 and an error event with code timeout, type server_error", res.StatusCode, last)
	}
}
