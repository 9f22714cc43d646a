package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// loadLevel is the result of one client count.
type loadLevel struct {
	Clients    int            `json:"clients"`
	Requests   int            `json:"requests"` // completed within the window
	OK         int            `json:"ok"`
	AudioSec   float64        `json:"audio_seconds"`
	WallSec    float64        `json:"wall_seconds"`
	Throughput float64        `json:"throughput"`  // audio seconds per wall second
	P50        float64        `json:"p50_seconds"` // of successful requests; 0 when none
	P99        float64        `json:"p99_seconds"`
	Errors     map[string]int `json:"errors"` // by status ("429", "503", "500", "transport")
	// ServerCPU is the CPU time the server process used during the run
	// (with --server-pid, Linux), and PerCPU the audio seconds per CPU
	// second: on a shared machine, wall-clock throughput also measures the
	// other programs, CPU efficiency does not.
	ServerCPU float64 `json:"server_cpu_seconds,omitempty"`
	PerCPU    float64 `json:"audio_seconds_per_cpu_second,omitempty"`
	// Kinds counts the requests of each kind of a --mix run (synthesize,
	// evaluate, compress) and their statuses; ServerErrors the 5xx
	// answers of every kind.
	Kinds        map[string]*kindCount `json:"kinds,omitempty"`
	ServerErrors int                   `json:"server_errors"`
	latencies    []float64
}

// kindCount is what one kind of request of a --mix run got.
type kindCount struct {
	Requests int            `json:"requests"`
	Statuses map[string]int `json:"statuses"` // by status, or "transport"
}

// loadReport is the --json output: the levels, and what the server went
// through (with --server-pid and --server-log).
type loadReport struct {
	Levels []*loadLevel `json:"levels"`
	// PeakRSS is the server's peak resident memory (VmHWM of
	// /proc/PID/status, bytes) at the end of the runs.
	PeakRSS int64 `json:"server_peak_rss_bytes,omitempty"`
	// Panics counts the lines of the server's log that report a panic.
	Panics *int `json:"server_panics,omitempty"`
}

// badErrors counts errors other than the deliberate 429/503 of bounded
// admission.
func (l *loadLevel) badErrors() int {
	n := 0
	for k, v := range l.Errors {
		if k != "429" && k != "503" {
			n += v
		}
	}
	return n
}

func runLoadtest(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "loadtest", "loadtest --url http://127.0.0.1:PORT [--clients 1,4,16,64] [--seconds-per-request 1] [--duration 20s]")
	rawURL := fs.String("url", "http://127.0.0.1:8080", "base URL of the service (loopback hosts only)")
	clientsFlag := fs.String("clients", "1,4,16,64", "comma-separated numbers of concurrent clients, one run each")
	secPerReq := fs.Float64("seconds-per-request", 1, "seconds of audio each request asks for")
	duration := fs.Duration("duration", 20*time.Second, "length of each run (at most 10m)")
	model := fs.String("model", "", "model id (default: the server's default)")
	format := fs.String("format", "pcm16", "output format asked for")
	stream := fs.Bool("stream", false, "ask for streamed responses")
	keyFile := fs.String("api-key-file", "", "file whose first key is sent as Bearer token")
	asJSON := fs.Bool("json", false, "print the results as JSON instead of a table")
	serverPID := fs.Int("server-pid", 0, "process id of the server, to report its CPU time per run and its peak memory (Linux /proc)")
	serverLog := fs.String("server-log", "", "the server's log file, to count the panics it reports")
	mixFlag := fs.String("mix", "synthesize", "kinds of request and their weights: synthesize, evaluate (POST /v1/detection/evaluate of a generated COCO evaluation), compress (a quantization job) and jobs (POST /v1/jobs of a synthesize job of one 0.2 s request), e.g. synthesize=6,evaluate=1,jobs=1")
	evalKB := fs.Int("evaluate-kb", 1024, "size of each generated evaluation request, in KiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mix, err := parseMix(*mixFlag)
	if err != nil {
		return err
	}
	if *evalKB < 1 || *evalKB > 256<<10 {
		return Usagef("--evaluate-kb is %d, want 1 to %d", *evalKB, 256<<10)
	}
	u, err := url.Parse(*rawURL)
	if err != nil || u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Usagef("--url %q: want http://127.0.0.1:PORT", *rawURL)
	}
	if !isLoopback(u.Hostname()) {
		return Usagef("--url host %q is not a loopback address: loadtest only targets this machine (127.0.0.1, ::1, localhost)", u.Hostname())
	}
	if *duration <= 0 || *duration > 10*time.Minute {
		return Usagef("--duration is %v, want more than 0 and at most 10m", *duration)
	}
	if !(*secPerReq > 0 && *secPerReq <= 600) {
		return Usagef("--seconds-per-request is %v, want more than 0 and at most 600", *secPerReq)
	}
	var levels []int
	for _, s := range strings.Split(*clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 1024 {
			return Usagef("--clients: %q is not a number from 1 to 1024", s)
		}
		levels = append(levels, n)
	}
	key := ""
	if *keyFile != "" {
		keys, err := readAPIKeys(*keyFile)
		if err != nil {
			return err
		}
		key = keys[0]
	}
	maxClients := 0
	for _, n := range levels {
		maxClients = max(maxClients, n)
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: maxClients, MaxIdleConnsPerHost: maxClients, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	body := map[string]any{"seconds": *secPerReq, "format": *format, "stream": *stream}
	if *model != "" {
		body["model"] = *model
	}
	base := strings.TrimSuffix(u.String(), "/")
	kinds, err := loadKinds(ctx, client, base, key, body, mix, *model, *evalKB<<10)
	if err != nil {
		return err
	}

	var results []*loadLevel
	for _, n := range levels {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "loadtest: %d clients for %v...\n", n, *duration)
		cpu0, cpuErr := procCPU(*serverPID)
		lv := runLevel(ctx, kinds, n, *duration)
		if cpu1, err := procCPU(*serverPID); *serverPID > 0 && err == nil && cpuErr == nil && cpu1 > cpu0 {
			lv.ServerCPU = cpu1 - cpu0
			lv.PerCPU = lv.AudioSec / lv.ServerCPU
		}
		results = append(results, lv)
	}
	rep := loadReport{Levels: results}
	if *serverPID > 0 {
		if rep.PeakRSS, err = procPeakRSS(*serverPID); err != nil {
			fmt.Fprintf(env.Stderr, "loadtest: server peak memory: %v\n", err)
		}
	}
	if *serverLog != "" {
		n, err := countPanics(*serverLog)
		if err != nil {
			return err
		}
		rep.Panics = &n
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printLoad(env.Stdout, results, *secPerReq)
	printServer(env.Stdout, rep)
	return nil
}

// mixEntry is one kind of request of --mix and its weight.
type mixEntry struct {
	kind   string
	weight int
}

// parseMix reads --mix: kind or kind=weight, comma-separated.
func parseMix(s string) ([]mixEntry, error) {
	var mix []mixEntry
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		kind, w, hasW := strings.Cut(strings.TrimSpace(part), "=")
		weight := 1
		if hasW {
			n, err := strconv.Atoi(w)
			if err != nil || n < 1 || n > 1000 {
				return nil, Usagef("--mix: weight %q of %s, want 1 to 1000", w, kind)
			}
			weight = n
		}
		switch kind {
		case "synthesize", "evaluate", "compress", "jobs":
		default:
			return nil, Usagef("--mix: kind %q, want synthesize, evaluate, compress or jobs", kind)
		}
		if seen[kind] {
			return nil, Usagef("--mix: %s given twice", kind)
		}
		seen[kind] = true
		mix = append(mix, mixEntry{kind, weight})
	}
	return mix, nil
}

// loadKind is one kind of request of a run: do sends one (the client's
// c, its i-th request) and returns the status, the seconds of audio
// received, the Retry-After of a refusal.
type loadKind struct {
	name   string
	weight int
	do     func(ctx context.Context, c, i int) (status int, audioSec float64, retry time.Duration, err error)
}

// jobSeconds is the audio of the synthesize job the "jobs" kind submits.
const jobSeconds = 0.2

// loadKinds builds the requests of mix against the service at base.
func loadKinds(ctx context.Context, client *http.Client, base, key string, synthBody map[string]any, mix []mixEntry, model string, evalBytes int) ([]loadKind, error) {
	var kinds []loadKind
	for _, m := range mix {
		k := loadKind{name: m.kind, weight: m.weight}
		switch m.kind {
		case "synthesize":
			k.do = func(ctx context.Context, c, i int) (int, float64, time.Duration, error) {
				b := map[string]any{"seed": c*1_000_003 + i}
				for k, v := range synthBody {
					b[k] = v
				}
				return oneRequest(ctx, client, base+"/v1/synthesize", key, b, true)
			}
		case "evaluate":
			body := cocoEvaluation(evalBytes)
			k.do = func(ctx context.Context, c, i int) (int, float64, time.Duration, error) {
				return oneRequest(ctx, client, base+"/v1/detection/evaluate", key, body, false)
			}
		case "compress":
			src := model
			if src == "" {
				var err error
				if src, err = firstModel(ctx, client, base, key); err != nil {
					return nil, err
				}
			}
			k.do = func(ctx context.Context, c, i int) (int, float64, time.Duration, error) {
				b := map[string]any{"method": "quantize", "dtype": "int8"}
				return oneRequest(ctx, client, base+"/v1/models/"+url.PathEscape(src)+"/compress", key, b, false)
			}
		case "jobs":
			// One 0.2 s synthesis of the load's model, stored as a WAV: the
			// submission is what is measured, not the job's run.
			q := map[string]any{"seconds": jobSeconds, "format": "wav"}
			if model != "" {
				q["model"] = model
			}
			k.do = func(ctx context.Context, c, i int) (int, float64, time.Duration, error) {
				r := map[string]any{"seed": c*1_000_003 + i}
				maps.Copy(r, q)
				b := map[string]any{"kind": "synthesize", "requests": []any{r}}
				return oneRequest(ctx, client, base+"/v1/jobs", key, b, false)
			}
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// firstModel is the id of the first model GET /v1/models lists.
func firstModel(ctx context.Context, client *http.Client, base, key string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/models", nil)
	if err != nil {
		return "", err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("loadtest: list models: %w", err)
	}
	defer res.Body.Close()
	var list struct {
		Models []struct{ ID string } `json:"models"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || len(list.Models) == 0 {
		return "", fmt.Errorf("loadtest: GET /v1/models: status %d, no model to compress (%v)", res.StatusCode, err)
	}
	return list.Models[0].ID, nil
}

// cocoEvaluation is a COCO evaluation request of about n bytes: images
// with one ground-truth box each and a detection near it (a fixed
// pattern, so every run sends the same work).
func cocoEvaluation(n int) json.RawMessage {
	const perImage = 190 // bytes of one image's JSON, about
	images := max(1, n/perImage)
	var gt, dets strings.Builder
	gt.WriteString(`{"categories": [{"id": 1, "name": "thing"}], "images": [`)
	for i := 1; i <= images; i++ {
		if i > 1 {
			gt.WriteByte(',')
		}
		fmt.Fprintf(&gt, `{"id":%d}`, i)
	}
	gt.WriteString(`], "annotations": [`)
	dets.WriteByte('[')
	for i := 1; i <= images; i++ {
		if i > 1 {
			gt.WriteByte(',')
			dets.WriteByte(',')
		}
		x, y := float64(i%97), float64(i%89)
		fmt.Fprintf(&gt, `{"id":%d,"image_id":%d,"category_id":1,"bbox":[%g,%g,40,30],"area":1200,"iscrowd":0}`, i, i, x, y)
		fmt.Fprintf(&dets, `{"image_id":%d,"category_id":1,"bbox":[%g,%g,40,30],"score":%.3f}`, i, x+float64(i%7), y, float64(i%1000)/1000)
	}
	gt.WriteString(`]}`)
	dets.WriteByte(']')
	return json.RawMessage(`{"metric": "coco", "curves": false, "ground_truth": ` + gt.String() + `, "detections": ` + dets.String() + `}`)
}

// procPeakRSS returns the peak resident memory of process pid (VmHWM of
// /proc/PID/status), in bytes.
func procPeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("loadtest: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("loadtest: VmHWM %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("loadtest: no VmHWM in /proc status")
}

// countPanics counts the lines of a server log that report a panic
// ("panic in handler", "generator step panicked", a Go panic).
func countPanics(name string) (int, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("loadtest: server log: %w", err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "panic") {
			n++
		}
	}
	return n, nil
}

// printServer prints the per-kind counts of a --mix run and what the
// server went through.
func printServer(w io.Writer, rep loadReport) {
	fiveXX := 0
	for _, l := range rep.Levels {
		fiveXX += l.ServerErrors
		if len(l.Kinds) > 1 {
			for _, name := range sortedKindNames(l.Kinds) {
				k := l.Kinds[name]
				var parts []string
				for st, v := range k.Statuses {
					parts = append(parts, fmt.Sprintf("%s:%d", st, v))
				}
				sort.Strings(parts)
				fmt.Fprintf(w, "%d clients, %s: %d requests (%s)\n", l.Clients, name, k.Requests, strings.Join(parts, " "))
			}
		}
	}
	fmt.Fprintf(w, "5xx answers: %d\n", fiveXX)
	if rep.Panics != nil {
		fmt.Fprintf(w, "panics in the server log: %d\n", *rep.Panics)
	}
	if rep.PeakRSS > 0 {
		fmt.Fprintf(w, "server peak RSS (VmHWM): %.0f MiB\n", float64(rep.PeakRSS)/(1<<20))
	}
}

func sortedKindNames(m map[string]*kindCount) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// procCPU returns the user+system CPU seconds of process pid from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s, the value of
// USER_HZ on Linux).
func procCPU(pid int) (float64, error) {
	if pid <= 0 {
		return 0, errors.New("loadtest: no server pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("loadtest: bad /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("loadtest: short /proc stat")
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("loadtest: bad /proc stat")
	}
	return (ut + st) / 100, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func runLevel(ctx context.Context, kinds []loadKind, clients int, d time.Duration) *loadLevel {
	lv := &loadLevel{Clients: clients, Errors: map[string]int{}, Kinds: map[string]*kindCount{}}
	var order []*loadKind // each kind as often as its weight
	for i := range kinds {
		lv.Kinds[kinds[i].name] = &kindCount{Statuses: map[string]int{}}
		for range kinds[i].weight {
			order = append(order, &kinds[i])
		}
	}
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; rctx.Err() == nil; i++ {
				k := order[(c+i)%len(order)]
				t0 := time.Now()
				status, audioSec, retry, err := k.do(rctx, c, i)
				lat := time.Since(t0).Seconds()
				if rctx.Err() != nil && err != nil {
					return // cut by the end of the window: not counted
				}
				mu.Lock()
				kc := lv.Kinds[k.name]
				kc.Requests++
				key := strconv.Itoa(status)
				if err != nil {
					key = "transport"
				}
				kc.Statuses[key]++
				if status >= 500 {
					lv.ServerErrors++
				}
				if k.name == "synthesize" {
					lv.Requests++
					switch {
					case err != nil:
						lv.Errors["transport"]++
					case status != http.StatusOK:
						lv.Errors[key]++
					default:
						lv.OK++
						lv.AudioSec += audioSec
						lv.latencies = append(lv.latencies, lat)
					}
				} else if err != nil || status >= 300 && status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
					lv.Errors[k.name+" "+key]++
				}
				mu.Unlock()
				if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
					// Back off as Retry-After asks (100 ms without it), but
					// not past the window.
					if retry <= 0 {
						retry = 100 * time.Millisecond
					}
					select {
					case <-rctx.Done():
					case <-time.After(retry):
					}
				}
			}
		}()
	}
	wg.Wait()
	lv.WallSec = time.Since(start).Seconds()
	lv.Throughput = lv.AudioSec / lv.WallSec
	sort.Float64s(lv.latencies)
	if len(lv.latencies) > 0 {
		lv.P50, lv.P99 = quantile(lv.latencies, 0.50), quantile(lv.latencies, 0.99)
	}
	return lv
}

// quantile of sorted xs by the nearest-rank method (NaN when empty).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}

// oneRequest posts body as JSON to target and reads the whole answer; it
// returns the status, for a synthesis (audio) the seconds of audio
// received (from X-Audio-Duration, checked against the body size), and
// the Retry-After of a refusal.
func oneRequest(ctx context.Context, client *http.Client, target, key string, body any, audio bool) (int, float64, time.Duration, error) {
	b, raw := body.(json.RawMessage)
	if !raw {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		return 0, 0, 0, err
	}
	if res.StatusCode != http.StatusOK {
		var retry time.Duration
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			retry = time.Duration(s) * time.Second
		}
		return res.StatusCode, 0, retry, nil
	}
	if !audio {
		return res.StatusCode, 0, 0, nil
	}
	dur, err := strconv.ParseFloat(res.Header.Get("X-Audio-Duration"), 64)
	if err != nil {
		return res.StatusCode, 0, 0, errors.New("loadtest: response without X-Audio-Duration")
	}
	if want, _ := strconv.ParseInt(res.Header.Get("X-Num-Samples"), 10, 64); want > 0 && n < want {
		return res.StatusCode, 0, 0, fmt.Errorf("loadtest: body of %d bytes for %d samples", n, want)
	}
	return res.StatusCode, dur, 0, nil
}

func printLoad(w io.Writer, results []*loadLevel, secPerReq float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\trequests\tok\taudio s\twall s\taudio s / wall s\tx 1 client\tp50 s\tp99 s\tserver cpu s\taudio s / cpu s\terrors\t")
	var base float64
	for _, l := range results {
		if l.Clients == 1 || base == 0 {
			if l.Clients == 1 {
				base = l.Throughput
			}
		}
		speed := "-"
		if base > 0 {
			speed = fmt.Sprintf("%.2f", l.Throughput/base)
		}
		errs := "none"
		if len(l.Errors) > 0 {
			var parts []string
			for k, v := range l.Errors {
				parts = append(parts, fmt.Sprintf("%s:%d", k, v))
			}
			sort.Strings(parts)
			errs = strings.Join(parts, " ")
		}
		cpu, per := "-", "-"
		if l.ServerCPU > 0 {
			cpu, per = fmt.Sprintf("%.1f", l.ServerCPU), fmt.Sprintf("%.2f", l.PerCPU)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%.1f\t%.3f\t%s\t%.3f\t%.3f\t%s\t%s\t%s\t\n",
			l.Clients, l.Requests, l.OK, l.AudioSec, l.WallSec, l.Throughput, speed, l.P50, l.P99, cpu, per, errs)
	}
	tw.Flush()
	bad := 0
	for _, l := range results {
		bad += l.badErrors()
	}
	fmt.Fprintf(w, "\nrequests ask for %g s of audio each; errors other than 429/503: %d\n", secPerReq, bad)
	var one *loadLevel
	for _, l := range results {
		if l.Clients == 1 {
			one = l
		}
	}
	for _, l := range results {
		if l.Clients == 16 && base > 0 {
			verdict := "meets"
			if l.Throughput < 3*base {
				verdict = "MISSES"
			}
			fmt.Fprintf(w, "16 clients: %.2fx the throughput of 1 client (%s the bar of 3x)", l.Throughput/base, verdict)
			if one != nil && one.PerCPU > 0 && l.PerCPU > 0 {
				fmt.Fprintf(w, "; per server CPU second %.2fx, on %.2f cores against %.2f", l.PerCPU/one.PerCPU,
					l.ServerCPU/l.WallSec, one.ServerCPU/one.WallSec)
			}
			fmt.Fprintln(w)
		}
	}
}
