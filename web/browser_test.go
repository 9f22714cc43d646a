package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/wavenet-go/wavenet/audio"
)

var (
	screenshots = flag.String("screenshots", "", "also write the browser test's screenshots to this directory (docs/ keeps one)")
	embedded    = flag.Bool("embedded", false, "serve the embedded models (the digit voice and the vocoder) instead of a tiny random one: real speech for the screenshots, slower")
)

// chromium finds a Chromium or Chrome binary, or skips the test.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium binary on PATH: install it with `apt-get install -y chromium` (.ci/run does) to run the browser test")
	return ""
}

// browser starts a headless Chromium for the test.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // the CI runs as root
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1100, 1000),
	)
	opts = append(opts, extra...)
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	// No timeout on this context: it is the browser's lifetime; each poll
	// has its own.
	// Uncaught exceptions and console errors of the page fail the test.
	var mu sync.Mutex
	var problems []string
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					v := a.Description
					if v == "" {
						v = string(a.Value)
					}
					args = append(args, v)
				}
				problems = append(problems, "console.error: "+strings.Join(args, " "))
			}
		}
	}))
	t.Cleanup(cancel2)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("the page: %s", p)
		}
	})
	return ctx
}

// poll waits until the JavaScript expression is true.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(2*time.Minute))
}

// shoot saves a PNG screenshot of the whole page to the test's temporary
// directory and, given -screenshots, to that directory too.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{t.TempDir()}
	if *screenshots != "" {
		dirs = append(dirs, *screenshots)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot %s: %d bytes", name, len(png))
}

// evaluate returns the value of a JavaScript expression in the page.
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// evaluateAsync is evaluate for an expression that gives a promise.
func evaluateAsync[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// TestBrowserStudio drives the Studio in headless Chromium against a
// server with API keys and a tiny random model: give the key, choose the
// voice, say "4 2 7", and check that the page ends with playable audio as
// long as the service says that request's audio is (X-Audio-Duration of
// the same request, seed and model, asked whole), and a drawn spectrogram.
func TestBrowserStudio(t *testing.T) {
	ctx := browser(t)
	base := serve(t, *embedded, "secret")

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#api-key")),
		chromedp.SendKeys(chromedp.CSS("#api-key"), "secret"),
		chromedp.Click(chromedp.CSS(`#key-form button[type="submit"]`)),
		poll(`document.querySelector('#model').options.length > 0 && document.querySelector('#cond-speaker') !== null`),
		chromedp.SetValue(chromedp.CSS("#cond-speaker"), "jackson"),
		// Enter in the text field synthesizes: the form works from the
		// keyboard.
		chromedp.SendKeys(chromedp.CSS("#text"), "4 2 7"+kb.Enter),
		poll(`['done', 'error'].includes(document.querySelector('#result').dataset.state)`),
	)
	if err != nil {
		t.Fatalf("studio: %v", err)
	}
	state := evaluate[string](t, ctx, `document.querySelector('#result').dataset.state`)
	if state != "done" {
		t.Fatalf("synthesis ended %q: %s", state, evaluate[string](t, ctx, `document.querySelector('#status').textContent`))
	}
	if err := chromedp.Do(ctx, poll(`document.querySelector('#player').readyState >= 1`)); err != nil {
		t.Fatalf("audio element: %v", err)
	}
	playerDur := evaluate[float64](t, ctx, `document.querySelector('#player').duration`)
	seed := evaluate[string](t, ctx, `document.querySelector('#seed-out').textContent`)
	model := evaluate[string](t, ctx, `document.querySelector('#model').value`)
	t.Logf("the stream arrived in %s reads, each played as it came", evaluate[string](t, ctx, `document.querySelector('#result').dataset.chunks`))

	// "Use this seed" and the same request again: the same audio, seen as
	// the same waveform and spectrogram pixels (the page's CSP lets it
	// fetch nothing but its server, so not its own blob: URLs).
	hash := `(async () => {
		const px = [];
		for (const id of ['#waveform', '#spectrogram']) {
			const c = document.querySelector(id);
			px.push(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
		}
		const b = new Uint8Array(px[0].length + px[1].length);
		b.set(px[0]);
		b.set(px[1], px[0].length);
		const d = new Uint8Array(await crypto.subtle.digest('SHA-256', b));
		return [...d].map((x) => x.toString(16).padStart(2, '0')).join('');
	})()`
	first := evaluateAsync[string](t, ctx, hash)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#reuse-seed")),
		chromedp.Click(chromedp.CSS("#synthesize")),
		poll(`['done', 'error'].includes(document.querySelector('#result').dataset.state) && document.querySelector('#player').readyState >= 1`),
	)
	if err != nil {
		t.Fatalf("again with the seed: %v", err)
	}
	if again := evaluate[string](t, ctx, `document.querySelector('#seed-out').textContent`); again != seed {
		t.Errorf("with \"Use this seed\" the seed is %s, want %s", again, seed)
	}
	if second := evaluateAsync[string](t, ctx, hash); second != first {
		t.Errorf("the same request and seed %s drew another result (sha256 of the pixels %s, then %s)", seed, first, second)
	}

	// Downloads: the WAV made in the page (a 44-byte header and 2 bytes a
	// sample at the model's rate, X-Sample-Rate), FLAC and mu-law asked
	// again with the seed.
	rate := evaluate[float64](t, ctx, `Number(document.querySelector('#result').dataset.rate)`)
	for _, c := range []struct{ format, want, wantType string }{
		{"wav", fmt.Sprintf(".wav: %d bytes, ", 44+2*int(math.Round(playerDur*rate))), "audio/wav."},
		{"flac", ".flac: ", "audio/flac."},
		{"mulaw", ".ul: ", "audio/basic."}, // G.711 at 8000 Hz is audio/basic
	} {
		err := chromedp.Do(ctx,
			chromedp.Evaluate[chromedp.Void](`document.querySelector('#download-state').textContent = ''`),
			chromedp.SetValue(chromedp.CSS("#download-format"), c.format),
			chromedp.Click(chromedp.CSS("#download")),
			poll(`/^(Saved|Download failed)/.test(document.querySelector('#download-state').textContent)`),
		)
		if err != nil {
			t.Fatalf("download %s: %v", c.format, err)
		}
		got := evaluate[string](t, ctx, `document.querySelector('#download-state').textContent`)
		if !strings.HasPrefix(got, "Saved wavenet-"+seed+c.want) || !strings.HasSuffix(got, c.wantType) {
			t.Errorf("download as %s: %q, want Saved wavenet-%s%s... %s", c.format, got, seed, c.want, c.wantType)
		}
	}

	// The same request asked whole gives the length in its headers.
	body, _ := json.Marshal(map[string]any{"model": model, "text": "4 2 7", "speaker": "jackson", "format": "wav"})
	req, err := http.NewRequest(http.MethodPost, base+"/v1/synthesize",
		strings.NewReader(strings.TrimSuffix(string(body), "}")+`,"seed":`+seed+`}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	want, err := strconv.ParseFloat(res.Header.Get("X-Audio-Duration"), 64)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/synthesize seed %s = %d, X-Audio-Duration %q", seed, res.StatusCode, res.Header.Get("X-Audio-Duration"))
	}
	// The page's WAV holds the samples streamed to it: the same count,
	// so the durations agree to rounding (1e-6 s, far below one sample
	// at 8 kHz, 125e-6 s).
	if math.Abs(playerDur-want) > 1e-6 || want <= 0 {
		t.Errorf("the page's audio lasts %v s, want X-Audio-Duration %v s (seed %s)", playerDur, want, seed)
	}

	// The spectrogram is drawn: many distinct pixels, not one fill.
	distinct := evaluate[int](t, ctx, `(() => {
		const c = document.querySelector('#spectrogram');
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		const seen = new Set();
		for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i+1] << 8) | d[i+2]);
		return seen.size;
	})()`)
	// 64 colours: a blank or single-colour canvas has 1; noise from the
	// random model spreads over most of the 80 dB colour ramp.
	if distinct < 64 {
		t.Errorf("the spectrogram canvas has %d distinct colours, want at least 64 (drawn)", distinct)
	}
	shoot(t, ctx, "studio.png")

	// At phone width every control stays on screen (no horizontal scroll).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 800)); err != nil {
		t.Fatal(err)
	}
	scrollW := evaluate[int](t, ctx, `document.documentElement.scrollWidth`)
	clientW := evaluate[int](t, ctx, `document.documentElement.clientWidth`)
	if scrollW > clientW {
		t.Errorf("at 375 px the page is %d px wide, want no horizontal scroll (%d)", scrollW, clientW)
	}
	shoot(t, ctx, "studio-phone.png")

	// The health view lists the model.
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(1100, 600),
		chromedp.Navigate(base+"/#health"),
		poll(`document.querySelectorAll('#health-rows tr').length > 0`),
	)
	if err != nil {
		t.Fatalf("health view: %v", err)
	}
	rows := evaluate[int](t, ctx, `document.querySelectorAll('#health-rows tr').length`)
	if rows < 1 {
		t.Errorf("the health view lists %d models, want at least 1", rows)
	}
	shoot(t, ctx, "health.png")
}

// TestBrowserVocoder copy-synthesises in headless Chromium: a WAV file
// uploaded, then a clip recorded from Chromium's fake microphone (a
// beeping tone, --use-fake-device-for-media-stream); each time the page
// ends with the original and its copy synthesis playable side by side.
func TestBrowserVocoder(t *testing.T) {
	ctx := browser(t, chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true))
	base := serve(t, false)

	// Half a second of a 440 Hz tone at 8 kHz, the vocoder's rate.
	x := make([]float32, 4000)
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	var wav bytes.Buffer
	if err := audio.Encode(&wav, x, 8000, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(t.TempDir(), "tone.wav")
	if err := os.WriteFile(clip, wav.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Done, failed or no microphone; then both players know their length.
	ended := `/^(Done|Copy synthesis failed|No microphone)/.test(document.querySelector('#vocode-status').textContent)`
	ready := `document.querySelector('#original').readyState >= 1 && document.querySelector('#copy').readyState >= 1`
	// The first vocoder the page lists ("voc", or the embedded "vocoder").
	vocoder := `[...document.querySelector('#model').options].find((o) => o.textContent.endsWith('(vocoder)'))`
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		poll(vocoder+` !== undefined`),
		chromedp.Evaluate[chromedp.Void](`const s = document.querySelector('#model'); s.value = (`+vocoder+`).value; s.dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(chromedp.CSS("#vocode-file")),
		chromedp.SetUploadFiles(chromedp.CSS("#vocode-file"), []string{clip}),
		poll(ended),
	)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	check := func(what string, wantOriginal float64) {
		t.Helper()
		status := evaluate[string](t, ctx, `document.querySelector('#vocode-status').textContent`)
		if !strings.HasPrefix(status, "Done") {
			t.Fatalf("%s: copy synthesis ended %q", what, status)
		}
		if err := chromedp.Do(ctx, poll(ready)); err != nil {
			t.Fatalf("%s: players: %v", what, err)
		}
		orig := evaluate[float64](t, ctx, `document.querySelector('#original').duration`)
		cp := evaluate[float64](t, ctx, `document.querySelector('#copy').duration`)
		// The copy has one sample per input sample, give or take a hop of
		// frames (16 samples, 2 ms, for wavenettest.Vocoder; 25 ms is more
		// than the embedded vocoder's hop).
		if cp <= 0 || math.Abs(cp-orig) > 0.025 {
			t.Errorf("%s: copy lasts %v s, original %v s, want the same within 25 ms", what, cp, orig)
		}
		if wantOriginal > 0 && math.Abs(orig-wantOriginal) > 1e-6 {
			t.Errorf("%s: original lasts %v s, want %v s", what, orig, wantOriginal)
		}
	}
	check("upload", 0.5)

	// Record about a second from the fake microphone.
	err = chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`for (const id of ['#original', '#copy']) { const a = document.querySelector(id); a.removeAttribute('src'); a.load(); }
		 document.querySelector('#vocode-status').textContent = ''`),
		chromedp.Click(chromedp.CSS("#record")),
		poll(`document.querySelector('#record').getAttribute('aria-pressed') === 'true'`),
		chromedp.Sleep(time.Second),
		chromedp.Click(chromedp.CSS("#record")),
		poll(ended),
	)
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	check("record", 0)
	shoot(t, ctx, "vocoder.png")
}

// TestBrowserAudioModule checks audio.js's numerical parts in the
// browser against plain expectations: WAV encoding and decoding round
// trip within 16-bit quantization, the STFT of a sine peaks at its bin,
// and PCM split at odd byte offsets decodes as the whole does.
func TestBrowserAudioModule(t *testing.T) {
	ctx := browser(t)
	base := serve(t, false)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	got := evaluateAsync[map[string]float64](t, ctx, `import('/static/audio.js').then((m) => {
		const rate = 8000, n = 2048;
		const x = new Float32Array(n);
		// bin 32 of a 256-point FFT: 32 * 8000 / 256 = 1000 Hz
		for (let i = 0; i < n; i++) x[i] = 0.8 * Math.sin(2 * Math.PI * 1000 * i / rate);
		return m.encodeWAV(x, rate).arrayBuffer().then((buf) => {
			const back = m.decodeWAV16(buf);
			let maxErr = 0;
			for (let i = 0; i < n; i++) maxErr = Math.max(maxErr, Math.abs(back.samples[i] - x[i]));
			const frames = m.spectrogram(x, 256, 64);
			const mid = frames[frames.length >> 1];
			let peak = 0;
			for (let k = 1; k < mid.length; k++) if (mid[k] > mid[peak]) peak = k;
			const bytes = new Uint8Array(buf, 44);
			const whole = new m.PCMPlayer(null, rate), split = new m.PCMPlayer(null, rate);
			whole.push(bytes);
			for (const [a, b] of [[0, 3], [3, 4], [4, 1001], [1001, bytes.length]]) split.push(bytes.subarray(a, b));
			const w = whole.samples(), s = split.samples();
			let same = w.length === s.length ? 1 : 0;
			for (let i = 0; same && i < w.length; i++) if (w[i] !== s[i]) same = 0;
			return { rate: back.rate, length: back.samples.length, maxErr, peak, frames: frames.length, same, splitLength: s.length };
		});
	})`)
	// 16-bit rounding errs by at most half a step, 1/65536; 1/32768 is
	// the bound with the asymmetric scale (32767 up, 32768 down).
	if got["rate"] != 8000 || got["length"] != 2048 || got["maxErr"] > 1.0/32768 {
		t.Errorf("decodeWAV16(encodeWAV(sine)) = rate %v, %v samples, max error %v; want 8000, 2048, <= 1/32768", got["rate"], got["length"], got["maxErr"])
	}
	// (2048 - 256) / 64 + 1 = 29 frames; a 1000 Hz sine at 8 kHz is bin 32.
	if got["peak"] != 32 || got["frames"] != 29 {
		t.Errorf("spectrogram(1000 Hz sine) peaks at bin %v over %v frames, want bin 32 over 29 frames", got["peak"], got["frames"])
	}
	if got["same"] != 1 || got["splitLength"] != 2048 {
		t.Errorf("PCMPlayer fed at odd byte offsets gave %v samples, equal to the whole: %v; want 2048, true", got["splitLength"], got["same"] == 1)
	}
}

// TestBrowserListening runs listening tests through the page in headless
// Chromium, with an API key: the owner creates a MOS test (both voices,
// two texts) and an A/B test, a listener rates every stimulus of each
// from the shared link, sees the ratings again after a reload, and the
// results view shows what GET .../results says.
func TestBrowserListening(t *testing.T) {
	ctx := browser(t)
	base := serve(t, false, "secret")
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/#listening"),
		chromedp.WaitVisible(chromedp.CSS("#api-key")),
		chromedp.SendKeys(chromedp.CSS("#api-key"), "secret"),
		chromedp.Click(chromedp.CSS(`#key-form button[type="submit"]`)),
		poll(`document.querySelectorAll('input[name="lt-model"]').length === 2`),
	)
	if err != nil {
		t.Fatalf("owner view: %v", err)
	}

	for _, c := range []struct {
		kind    string
		texts   string
		stimuli int
		rating  func(i int) string // the value chosen for the i-th stimulus
	}{
		// 2 models x 3 texts.
		{"mos", "4 2\n7\n1 9", 6, func(i int) string { return strconv.Itoa([]int{4, 5, 3, 4, 5, 4}[i]) }},
		// One pair of the two models per text.
		{"ab", "4 2\n7\n1", 3, func(i int) string { return []string{"a", "b", "none"}[i%3] }},
	} {
		id := createTest(t, ctx, c.kind, c.texts)
		listenLink := evaluate[string](t, ctx, `document.querySelector('#lt-rows tr[data-id="`+id+`"] .listen-link').getAttribute('href')`)
		if listenLink != "#listen/"+id {
			t.Fatalf("%s: the listener link is %q, want #listen/%s", c.kind, listenLink, id)
		}
		err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`#lt-rows tr[data-id="`+id+`"] .listen-link`)),
			// This test's first stimulus: the previous test's last one stays
			// shown until the page has switched (it raced here).
			poll(`!document.querySelector('#listen-item').hidden && document.querySelector('#listen-item').dataset.test === '`+id+`'`),
		)
		if err != nil {
			t.Fatalf("%s: listener view: %v", c.kind, err)
		}
		group := map[string]string{"mos": "score", "ab": "choice"}[c.kind]
		for i := range c.stimuli {
			if got, want := evaluate[string](t, ctx, `document.querySelector('#listen-progress').textContent`), fmt.Sprintf("%d of %d", i+1, c.stimuli); got != want {
				t.Errorf("%s: progress %q, want %q", c.kind, got, want)
			}
			ready := `document.querySelector('#listen-a').readyState >= 1`
			if c.kind == "ab" {
				ready += ` && document.querySelector('#listen-b').readyState >= 1`
			}
			steps := []chromedp.Action[chromedp.Void]{poll(ready),
				chromedp.Click(chromedp.CSS(`#listen-item input[name="` + group + `"][value="` + c.rating(i) + `"]`))}
			if i == 0 && c.kind == "mos" {
				// From the keyboard: focus 3 Fair, the right arrow moves to 4 Good.
				steps[1] = chromedp.Focus(chromedp.CSS(`#listen-item input[name="score"][value="3"]`))
				steps = append(steps, chromedp.KeyEvent(kb.ArrowRight))
			}
			steps = append(steps,
				poll(`document.querySelector('#listen-saved').textContent === 'Saved.'`),
				poll(`document.querySelector('#listen-item input[name="`+group+`"]:checked').value === '`+c.rating(i)+`'`),
				chromedp.Click(chromedp.CSS("#listen-next")))
			err := chromedp.Do(ctx, steps...)
			if err != nil {
				t.Fatalf("%s: stimulus %d: %v", c.kind, i+1, err)
			}
		}
		if got := evaluate[string](t, ctx, `document.querySelector('#listen-status').textContent`); !strings.HasPrefix(got, "Thank you") {
			t.Errorf("%s: after the last stimulus the page says %q, want Thank you...", c.kind, got)
		}
		// A reload (the same listener, by its cookie) shows the ratings.
		err = chromedp.Do(ctx,
			chromedp.Reload(),
			poll(`!document.querySelector('#listen-item').hidden`),
			chromedp.Click(chromedp.CSS("#listen-next")),
			poll(`document.querySelector('#listen-progress').textContent.startsWith('2 of')`),
		)
		if err != nil {
			t.Fatalf("%s: revisit: %v", c.kind, err)
		}
		if got := evaluate[string](t, ctx, `(document.querySelector('#listen-item input[name="`+group+`"]:checked') || {}).value || ''`); got != c.rating(1) {
			t.Errorf("%s: revisited, stimulus 2 shows %q, want the rating given, %q", c.kind, got, c.rating(1))
		}
		// At phone width the listener's view fits (no horizontal scroll).
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 800)); err != nil {
			t.Fatal(err)
		}
		if w, cw := evaluate[int](t, ctx, `document.documentElement.scrollWidth`), evaluate[int](t, ctx, `document.documentElement.clientWidth`); w > cw {
			t.Errorf("%s: at 375 px the listener's view is %d px wide, want no horizontal scroll (%d)", c.kind, w, cw)
		}
		shoot(t, ctx, "listen-"+c.kind+"-phone.png")
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1100, 700)); err != nil {
			t.Fatal(err)
		}

		// The results view against GET .../results.
		err = chromedp.Do(ctx,
			chromedp.Navigate(base+"/#results/"+id),
			poll(`/listener/.test(document.querySelector('#results-status').textContent)`),
		)
		if err != nil {
			t.Fatalf("%s: results view: %v", c.kind, err)
		}
		res, body := get(t, base+"/v1/listening-tests/"+id+"/results", "Authorization", "Bearer secret")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET results = %d: %s", res.StatusCode, body)
		}
		var want struct {
			Listeners int
			MOS       []struct {
				Model, N        any
				Mean, Low, High *float64
			}
			AB *struct {
				Models [2]string
				Wins   [2]int
				Ties   int
				P      float64 `json:"p_value"`
			}
		}
		if err := json.Unmarshal([]byte(strings.NewReplacer(`"ci95_low"`, `"low"`, `"ci95_high"`, `"high"`).Replace(body)), &want); err != nil {
			t.Fatal(err)
		}
		if want.Listeners != 1 {
			t.Errorf("%s: %d listeners, want 1", c.kind, want.Listeners)
		}
		if c.kind == "mos" {
			shown := evaluate[[][]string](t, ctx, `[...document.querySelectorAll('#results-mos-rows tr')].map((tr) => [...tr.children].slice(0, 4).map((c) => c.textContent))`)
			if len(shown) != len(want.MOS) || len(want.MOS) != 2 {
				t.Fatalf("the results view shows %d models, GET results %d, want 2", len(shown), len(want.MOS))
			}
			for i, m := range want.MOS {
				// The page shows two decimals (toFixed(2)).
				w := []string{fmt.Sprint(m.Model), fmt.Sprint(m.N), fmt.Sprintf("%.2f", *m.Mean), "–"}
				if m.Low != nil {
					w[3] = fmt.Sprintf("%.2f to %.2f", *m.Low, *m.High)
				}
				if strings.Join(shown[i], "|") != strings.Join(w, "|") {
					t.Errorf("results row %d shows %q, GET results says %q", i, shown[i], w)
				}
			}
			shoot(t, ctx, "results.png")
		} else {
			shown := evaluate[[]string](t, ctx, `[...document.querySelectorAll('#results-ab-rows td')].map((c) => c.textContent)`)
			a := want.AB
			if a == nil {
				t.Fatalf("GET results of the A/B test has no ab: %s", body)
			}
			// p to 3 significant digits, as toPrecision(3).
			p, _ := strconv.ParseFloat(fmt.Sprintf("%.3g", a.P), 64)
			w := []string{a.Models[0], strconv.Itoa(a.Wins[0]), a.Models[1], strconv.Itoa(a.Wins[1]), strconv.Itoa(a.Ties)}
			if len(shown) != 6 || strings.Join(shown[:5], "|") != strings.Join(w, "|") {
				t.Errorf("the A/B results show %q, GET results says %q p %v", shown, w, a.P)
			} else if got, err := strconv.ParseFloat(shown[5], 64); err != nil || got != p {
				t.Errorf("the A/B results show p = %q, GET results says %v", shown[5], a.P)
			}
			shoot(t, ctx, "results-ab.png")
		}
		// Back to the owner's view for the next test.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#listening"), poll(`document.querySelectorAll('input[name="lt-model"]').length === 2`)); err != nil {
			t.Fatal(err)
		}
	}

	// Delete, confirmed, removes the test from the list and the server.
	id := evaluate[string](t, ctx, `document.querySelector('#lt-rows tr').dataset.id`)
	err = chromedp.Do(ctx,
		poll(`document.querySelectorAll('#lt-rows tr').length === 2`),
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`#lt-rows tr[data-id="`+id+`"] button`)),
		poll(`document.querySelectorAll('#lt-rows tr').length === 1`),
	)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if res, _ := get(t, base+"/v1/listening-tests/"+id+"/results", "Authorization", "Bearer secret"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET results of the deleted test = %d, want 404", res.StatusCode)
	}
}

// createTest fills the owner's form (both voices, the texts) and returns
// the new test's id once it is listed.
func createTest(t *testing.T, ctx context.Context, kind, texts string) string {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#lt-form-status').textContent = ''`),
		chromedp.SetValue(chromedp.CSS("#lt-name"), kind+" test"),
		chromedp.SetValue(chromedp.CSS("#lt-kind"), kind),
		chromedp.Evaluate[chromedp.Void](`for (const c of document.querySelectorAll('input[name="lt-model"]')) c.checked = true`),
		chromedp.SetValue(chromedp.CSS("#lt-texts"), texts),
		chromedp.Click(chromedp.CSS("#lt-create")),
		poll(`/^(Created|Could not)/.test(document.querySelector('#lt-form-status').textContent)`),
	)
	if err != nil {
		t.Fatalf("create a %s test: %v", kind, err)
	}
	if got := evaluate[string](t, ctx, `document.querySelector('#lt-form-status').textContent`); !strings.HasPrefix(got, "Created") {
		t.Fatalf("create a %s test: %s", kind, got)
	}
	id := evaluate[string](t, ctx, `document.querySelector('#lt-form-status').dataset.id`)
	if err := chromedp.Do(ctx, poll(`document.querySelector('#lt-rows tr[data-id="`+id+`"]') !== null`)); err != nil {
		t.Fatalf("the %s test is not listed: %v", kind, err)
	}
	return id
}

// TestBrowserListeningFolder: the owner view makes a test from a folder
// of WAVs on the server (two systems' round1/sysA and round1/sysB, two
// items each: 4 MOS stimuli) instead of models and texts.
func TestBrowserListeningFolder(t *testing.T) {
	ctx := browser(t)
	base := serve(t, false)
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/#listening"),
		poll(`document.querySelectorAll('input[name="lt-model"]').length === 2`),
		chromedp.SetValue(chromedp.CSS("#lt-name"), "folder test"),
		chromedp.SetValue(chromedp.CSS("#lt-kind"), "mos"),
		chromedp.SetValue(chromedp.CSS("#lt-dir"), "round1"),
		chromedp.Click(chromedp.CSS("#lt-create")),
		poll(`/^(Created|Could not)/.test(document.querySelector('#lt-form-status').textContent)`),
	)
	if err != nil {
		t.Fatalf("create a test from a folder: %v", err)
	}
	if got := evaluate[string](t, ctx, `document.querySelector('#lt-form-status').textContent`); got != `Created "folder test" with 4 stimuli.` {
		t.Errorf("create a test from a folder: %q, want 4 stimuli", got)
	}
}
