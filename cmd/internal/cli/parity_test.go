package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// TestParity is the synthesis engine's parity check: for the same model,
// conditions, text, seed, output rate and format, `wavenet say` (writing
// a file), `wavenet generate` (streaming to a file) and POST
// /v1/synthesize (whole and streamed) return the same bytes, for every
// format (audio.Encodings) and the rates 8000 (the model's), 16000 and 22050 Hz.
//
// Two exceptions, by design: a streamed WAV response declares its length
// as 0xFFFFFFFF (it is not known when the header goes out), where the
// files carry the exact RIFF and data sizes; for that case the
// comparison copies the file's two size fields (bytes 4-7 and 40-43) into
// the response before comparing, after checking that the response has
// 0xFFFFFFFF there. A streamed FLAC's STREAMINFO declares 0 samples
// (unknown) where the files have the count: the comparison checks the
// response's 42-byte header is audio.FLACHeader(rate, -1) and copies the
// file's over it.
func TestParity(t *testing.T) {
	dir, _ := genTestModel(t, true)
	ts := apiServer(t, dir)
	post := func(body string) []byte {
		t.Helper()
		return postOK(t, ts.URL+"/v1/synthesize", "application/json", []byte(body))
	}
	cli := func(run func(context.Context, *Env, []string) error, args ...string) []byte {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		if _, stderr, err := runCmd(context.Background(), run, append(args, "--out", out)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, e := range audio.Encodings() {
		format := string(e)
		for _, rate := range []int{8000, 16000, 22050} {
			common := fmt.Sprintf(`"speaker": "bob", "seed": 3, "sample_rate": %d, "format": %q`, rate, format)
			flags := []string{"--model", dir, "--speaker", "bob", "--seed", "3", "--rate", fmt.Sprint(rate), "--format", format}
			for _, c := range []struct {
				cmd  string
				file []byte
				body string
			}{
				{"say", cli(runSay, append([]string{"4 2"}, flags...)...), `"text": "4 2"`},
				{"generate", cli(runGenerate, append([]string{"--label", "4", "--seconds", "0.25"}, flags...)...), `"label": "4", "seconds": 0.25`},
			} {
				// 0.25 s (and two digits) at 8 kHz or more: thousands of bytes
				// in every format, so that equal bytes are not equal nothings.
				if len(c.file) < 1000 {
					t.Fatalf("%s %v wrote %d bytes, want at least 1000", c.cmd, flags, len(c.file))
				}
				for _, stream := range []bool{false, true} {
					body := fmt.Sprintf(`{%s, %s, "stream": %v}`, c.body, common, stream)
					got := post(body)
					if format == "wav" && stream && len(got) >= 44 && len(c.file) >= 44 {
						if !bytes.Equal(got[4:8], []byte{0xff, 0xff, 0xff, 0xff}) || !bytes.Equal(got[40:44], []byte{0xff, 0xff, 0xff, 0xff}) {
							t.Errorf("%s: streamed WAV sizes % x, % x; want 0xFFFFFFFF (unknown length)", body, got[4:8], got[40:44])
						}
						copy(got[4:8], c.file[4:8])
						copy(got[40:44], c.file[40:44])
					}
					if format == "flac" && stream && len(got) >= 42 && len(c.file) >= 42 {
						// The streamed STREAMINFO declares an unknown length
						// (0); the CLI's files have the count.
						if want := audio.FLACHeader(rate, -1); !bytes.Equal(got[:42], want) {
							t.Errorf("%s: streamed FLAC header % x, want % x (unknown length)", body, got[:42], want)
						}
						copy(got[:42], c.file[:42])
					}
					if !bytes.Equal(got, c.file) {
						t.Errorf("%s %s: %d bytes from the API (stream %v), %d from the CLI, or different bytes", c.cmd, body, len(got), stream, len(c.file))
					}
				}
			}
		}
	}
}

// apiServer serves the model directory dir through the API until the
// test ends.
func apiServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	bundles, _, _, err := synth.LoadModels(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Models: bundles, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Shutdown(context.Background()) })
	return ts
}

// postOK posts body to url and returns the body of its 200 response.
func postOK(t *testing.T, url, ctype string, body []byte) []byte {
	t.Helper()
	res, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s (%s) %.200s = %d %s (%v)", url, ctype, body, res.StatusCode, b, err)
	}
	return b
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
