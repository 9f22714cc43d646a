package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

// vocoder is tinyModel with local conditioning on 4 mels, hop 4, and mel
// parameters for copy synthesis (n_fft 16 at 8 kHz), randomly initialised.
func vocoder(t *testing.T) *wavenet.Model {
	t.Helper()
	cfg := tinyModel(t).Config
	mp := audio.DefaultMelParams(cfg.SampleRate)
	mp.NFFT, mp.WinLength, mp.HopLength, mp.NMels = 16, 16, 4, 4
	cfg.Local = &wavenet.LocalConfig{Channels: 4, Hop: 4, Scales: []int{2, 2}, Width: 2, Mel: &mp}
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// multipartFile is a multipart/form-data body with data as its "file"
// part, and its Content-Type.
func multipartFile(t *testing.T, data []byte) (body []byte, ctype string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", "clip.wav")
	if err == nil {
		_, err = fw.Write(data)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

func postType(t *testing.T, url, ctype string, body []byte) *http.Response {
	t.Helper()
	res, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestVocodeRoute: /v1/models shows a vocoder's mel parameters; JSON,
// multipart and raw uploads vocode; bad inputs are 400s whose message
// says how to fix them.
func TestVocodeRoute(t *testing.T) {
	voc := vocoder(t)
	_, ts := newTestServer(t, nil, Options{MaxSeconds: 0.01, // 80 samples: 20 frames of hop 4
		Models: map[string]*synth.Bundle{"voc": {Model: voc}, "digits": {Model: tinyModel(t)}}})

	var list struct {
		Models []ModelInfo `json:"models"`
	}
	if err := json.Unmarshal(readAll(t, getURL(t, ts.URL+"/v1/models")), &list); err != nil {
		t.Fatal(err)
	}
	for _, mi := range list.Models {
		if got := mi.Local != nil && mi.Local.Mel != nil && mi.Local.Mel.NMels == 4; got != (mi.ID == "voc") {
			t.Errorf("/v1/models: %s local_conditioning = %+v; want the mel parameters for voc only", mi.ID, mi.Local)
		}
	}

	frames := `[[0,0,0,0],[1,1,1,1],[2,2,2,2]]`
	res := postType(t, ts.URL+"/v1/vocode", "application/json", []byte(`{"model":"voc","mels":`+frames+`,"format":"pcm16"}`))
	if b := readAll(t, res); res.StatusCode != 200 || len(b) != 3*4*2 {
		t.Errorf("vocode 3 frames as pcm16 = %d, %d bytes; want 200 and 3 frames x 4 samples x 2 bytes", res.StatusCode, len(b))
	}
	for _, stream := range []bool{false, true} {
		res = postType(t, ts.URL+"/v1/vocode", "application/json", []byte(fmt.Sprintf(`{"model":"voc","mels":%s,"format":"flac","stream":%v}`, frames, stream)))
		b := readAll(t, res)
		clip, err := audio.DecodeAny(bytes.NewReader(b))
		if res.StatusCode != 200 || err != nil || len(clip.Samples) != 3*4 || res.Header.Get("Content-Type") != "audio/flac" {
			t.Errorf("vocode 3 frames as flac (stream %v) = %d %q, %d bytes decoding to %v; want 200 audio/flac of 3 frames x 4 samples",
				stream, res.StatusCode, res.Header.Get("Content-Type"), len(b), err)
		}
	}
	var wav bytes.Buffer
	if err := audio.Encode(&wav, make([]float32, 40), 8000, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	mp, mpType := multipartFile(t, wav.Bytes())
	res = postType(t, ts.URL+"/v1/vocode?model=voc&format=pcm16", mpType, mp)
	// 40 samples: 1 + 40/4 = 11 centred frames of 4 samples.
	if b := readAll(t, res); res.StatusCode != 200 || len(b) != 11*4*2 {
		t.Errorf("multipart copy synthesis of 40 samples = %d, %d bytes; want 200 and 11 frames x 4 x 2 bytes (%s)", res.StatusCode, len(b), b)
	}

	nanNPY := func() []byte {
		var b bytes.Buffer
		v := []float32{0, 1, float32(math.NaN()), 3}
		if err := audio.EncodeNPY(&b, v, 1, 4); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}()
	for _, c := range []struct {
		name, query, ctype, body string
		status                   int
		say                      string
	}{
		{"no mels", "", "application/json", `{"model":"voc"}`, 400, "\"mels\" is required"},
		{"empty", "", "application/json", `{"model":"voc","mels":[]}`, 400, "at least one frame"},
		{"wrong n_mels", "", "application/json", `{"model":"voc","mels":[[1,2,3]]}`, 400, "wants 4 (n_mels)"},
		{"too long", "", "application/json", `{"model":"voc","mels":[` + strings.TrimSuffix(strings.Repeat(`[0,0,0,0],`, 21), ",") + `]}`, 400, "limit of 20 frames"},
		{"not a vocoder", "", "application/json", `{"model":"digits","mels":` + frames + `}`, 400, "not a vocoder"},
		{"vocoder without mels", "", "application/json", `{"model":"voc","seconds":1}`, 400, "the known fields are model, mels"},
		{"bad method", "", "application/json", `{"model":"voc","mels":` + frames + `,"method":"vocoder"}`, 400, "griffin-lim"},
		{"nan in npy", "?model=voc", "application/x-npy", string(nanNPY), 400, "finite"},
		{"not npy", "?model=voc", "application/x-npy", "hello", 400, "numpy.save"},
		{"bad layout", "?model=voc&layout=diagonal", "application/x-npy", string(nanNPY), 400, "mels-by-frames"},
		{"bad query", "?model=voc&seed=minus", "audio/wav", wav.String(), 400, "query \"seed\""},
		{"not audio", "?model=voc", "audio/wav", "hello", 400, "WAV"},
		{"media type", "?model=voc", "image/png", "x", 415, "audio/wav"},
	} {
		res := postType(t, ts.URL+"/v1/vocode"+c.query, c.ctype, []byte(c.body))
		e := errorOf(t, readAll(t, res))
		if res.StatusCode != c.status || !strings.Contains(e.Message, c.say) {
			t.Errorf("%s: POST /v1/vocode = %d %q, want %d saying %q", c.name, res.StatusCode, e.Message, c.status, c.say)
		}
	}
}

// getURL GETs url.
func getURL(t *testing.T, url string) *http.Response {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestVocodeStreamedInput: frames sent as JSON lines in pieces, while the
// audio is already coming back, give the bytes of the same frames sent
// whole; a bad line is a 400.
func TestVocodeStreamedInput(t *testing.T) {
	_, ts := newTestServer(t, nil, Options{Models: map[string]*synth.Bundle{"voc": {Model: vocoder(t)}}})
	rng := rand.New(rand.NewPCG(1, 1))
	frames := make([][]float32, 12)
	for i := range frames {
		frames[i] = []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
	}
	for _, stream := range []bool{false, true} {
		js, _ := json.Marshal(map[string]any{"mels": frames, "seed": 2, "format": "pcm16", "stream": stream})
		res := postType(t, ts.URL+"/v1/vocode", "application/json", js)
		want := readAll(t, res)
		if res.StatusCode != 200 || len(want) != 12*4*2 {
			t.Fatalf("whole: %d, %d bytes", res.StatusCode, len(want))
		}
		pr, pw := io.Pipe()
		go func() {
			// Lines of 1, 2, 3, ... frames; the first a bare frame.
			fmt.Fprintf(pw, "%s\n", mustJSON(frames[0]))
			for i, n := 1, 1; i < len(frames); i, n = i+n, n+1 {
				fmt.Fprintf(pw, "%s\n\n", mustJSON(frames[i:min(i+n, len(frames))]))
			}
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/v1/vocode?seed=2&format=pcm16&stream=%v", ts.URL, stream), pr)
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, res); res.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Errorf("stream %v: frames as JSON lines = %d, %d bytes; want 200 and the %d bytes of the frames sent whole", stream, res.StatusCode, len(got), len(want))
		}
	}
	res := postType(t, ts.URL+"/v1/vocode", "application/x-ndjson", []byte("[0,0,0,0]\n{oops\n"))
	if e := errorOf(t, readAll(t, res)); res.StatusCode != 400 || !strings.Contains(e.Message, "line 2") {
		t.Errorf("bad second line: %d %q, want 400 naming line 2", res.StatusCode, e.Message)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
