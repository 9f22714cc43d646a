package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/mulaw"
)

// testWAV is n samples of a 440 Hz tone plus a little noise at rate, as a
// 16-bit WAV, and the samples as the decoder will read them back.
func testWAV(t testing.TB, n, rate int) ([]byte, []float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.3*math.Sin(2*math.Pi*440*float64(i)/float64(rate)) + 0.01*rng.NormFloat64())
	}
	var buf bytes.Buffer
	if err := audio.Encode(&buf, x, rate, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	clip, err := audio.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), clip.Samples
}

func TestScore(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	wav, x := testWAV(t, 4000, 8000)
	codes := mulaw.Encode(nil, x, 256)
	// digit 5, speaker jackson: condition indices 5 and 1.
	nats, n, err := m.Score(context.Background(), codes, []int{5, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantBits := nats / float64(n) / math.Ln2
	// By default the recording is processed as the model's training audio
	// was (trimmed, peak-normalised): wavenet.Config.RecordingCodes.
	pcodes, err := m.Config.RecordingCodes(x, 8000, false)
	if err != nil {
		t.Fatal(err)
	}
	pnats, pn, err := m.Score(context.Background(), pcodes, []int{5, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantProcessed := pnats / float64(pn) / math.Ln2

	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("file", "clip.wav")
	fw.Write(wav)
	w.Close()
	for _, c := range []struct {
		name, ct string
		body     []byte
	}{
		{"raw", "audio/wav", wav},
		{"multipart", w.FormDataContentType(), mp.Bytes()},
	} {
		res, err := http.Post(ts.URL+"/v1/score?label=5&speaker=jackson&raw=true", c.ct, bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, res)
		var got ScoreResponse
		if err := json.Unmarshal(b, &got); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: POST /v1/score = %d %s", c.name, res.StatusCode, b)
		}
		// The same computation: equal to float64 rounding of the JSON.
		if math.Abs(got.BitsPerSample-wantBits) > 1e-9 || got.Scored != 3999 || got.Samples != 4000 || got.Conditions[0] != 5 || got.Conditions[1] != 1 || got.Processing != "raw" {
			t.Errorf("%s: score = %+v, want %v bits over 3999 predictions, conditions [5 1], processing raw", c.name, got, wantBits)
		}
	}
	res, err := http.Post(ts.URL+"/v1/score?label=5&speaker=jackson", "audio/wav", bytes.NewReader(wav))
	if err != nil {
		t.Fatal(err)
	}
	var got ScoreResponse
	if b := readAll(t, res); json.Unmarshal(b, &got) != nil || res.StatusCode != 200 {
		t.Fatalf("POST /v1/score (processed) = %d %s", res.StatusCode, b)
	}
	if math.Abs(got.BitsPerSample-wantProcessed) > 1e-9 || got.Scored != pn || got.Processing != "training" {
		t.Errorf("processed score = %+v, want %v bits over %d predictions, processing training", got, wantProcessed, pn)
	}
	// A random model is close to uniform over 256 codes: about 8 bits.
	if wantBits < 6 || wantBits > 10 {
		t.Errorf("random tiny model scores %v bits/sample, want about 8 (log2 256)", wantBits)
	}
	// from=receptive_field scores 4000 - 1 - 32 predictions.
	res, _ = http.Post(ts.URL+"/v1/score?from=receptive_field&raw=true", "audio/wav", bytes.NewReader(wav))
	got = ScoreResponse{}
	json.Unmarshal(readAll(t, res), &got)
	if got.From != 32 || got.Scored != 4000-1-32 {
		t.Errorf("from=receptive_field: from %d scored %d, want 32 and %d", got.From, got.Scored, 4000-1-32)
	}
	// A 16 kHz upload is resampled to the model's 8 kHz: 8000 -> 4000 samples.
	wav16, _ := testWAV(t, 8000, 16000)
	res, _ = http.Post(ts.URL+"/v1/score?raw=true", "audio/wav", bytes.NewReader(wav16))
	json.Unmarshal(readAll(t, res), &got)
	if got.Samples != 4000 || got.InputRate != 16000 {
		t.Errorf("16 kHz upload: %d samples from %d Hz, want 4000 from 16000", got.Samples, got.InputRate)
	}
}

func TestScoreBadInput(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{MaxScoreSeconds: 1})
	wav, _ := testWAV(t, 4000, 8000)
	long, _ := testWAV(t, 8001, 8000)
	for _, c := range []struct {
		name, query, ct string
		body            []byte
		status          int
		code, inMsg     string
	}{
		{"empty", "", "audio/wav", nil, 400, "bad_audio", "truncated"},
		{"not a WAV", "", "audio/wav", []byte("hello, this is not a RIFF file at all"), 400, "bad_audio", "bad magic"},
		{"truncated header", "", "audio/wav", wav[:30], 400, "bad_audio", "truncated"},
		{"truncated data", "", "audio/wav", wav[:101], 400, "bad_audio", "truncated"},
		{"too long", "", "audio/wav", long, 413, "too_long", "more than this server scores (1 s)"},
		{"unknown speaker", "?speaker=bob", "audio/wav", wav, 400, "bad_request", "allowed: george, jackson"},
		{"unknown condition", "?mood=x", "audio/wav", wav, 400, "bad_request", `no condition "mood"`},
		{"bad from", "?from=-3", "audio/wav", wav, 400, "bad_request", `"from"`},
		{"from past the end", "?from=3999", "audio/wav", wav, 400, "bad_request", "needs at least 4001"},
		{"unknown model", "?model=x", "audio/wav", wav, 404, "model_not_found", "GET /v1/models"},
		{"wrong type", "", "text/plain", wav, 415, "unsupported_media_type", "audio/wav"},
		{"multipart without file", "", "multipart/form-data; boundary=xx", []byte("--xx--\r\n"), 400, "bad_request", `no part named "file"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := http.Post(ts.URL+"/v1/score"+c.query, c.ct, bytes.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			e := errorOf(t, readAll(t, res))
			if res.StatusCode != c.status || e.Code != c.code || !strings.Contains(e.Message, c.inMsg) {
				t.Errorf("POST /v1/score%s (%s) = %d %s %q, want %d %s containing %q", c.query, c.name, res.StatusCode, e.Code, e.Message, c.status, c.code, c.inMsg)
			}
		})
	}
}

func TestScoreAdmission(t *testing.T) {
	m := tinyModel(t)
	ctx := context.Background()
	// A waiting score gives up after QueueWait with ErrBusy.
	s, _ := newTestServer(t, m, Options{MaxScores: 1, QueueWait: 20 * time.Millisecond})
	rel, err := s.admitScore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admitScore(ctx); !errors.Is(err, ErrBusy) {
		t.Errorf("second score while one runs (queue wait 20 ms) = %v, want ErrBusy", err)
	}
	rel()

	// With a long wait: one runs, one waits and gets the slot when it is
	// released, and a third, beyond the queue, is refused at once.
	s, _ = newTestServer(t, m, Options{MaxScores: 1, QueueWait: time.Minute})
	rel, err = s.admitScore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		r, err := s.admitScore(ctx)
		if err == nil {
			r()
		}
		done <- err
	}()
	for len(s.scoreAdmit) < 2 {
		time.Sleep(time.Millisecond)
	}
	if _, err := s.admitScore(ctx); !errors.Is(err, ErrBusy) {
		t.Errorf("third score with one running and one waiting = %v, want ErrBusy at once", err)
	}
	rel()
	if err := <-done; err != nil {
		t.Errorf("queued score after release = %v, want nil", err)
	}
	if len(s.scoreAdmit) != 0 || len(s.scoreRun) != 0 {
		t.Errorf("tokens left: %d admitted, %d running; want 0", len(s.scoreAdmit), len(s.scoreRun))
	}
}
