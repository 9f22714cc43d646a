package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	latencies []float64
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
	serverPID := fs.Int("server-pid", 0, "process id of the server, to report its CPU time per run (Linux /proc)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
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
	target := strings.TrimSuffix(u.String(), "/") + "/v1/synthesize"

	var results []*loadLevel
	for _, n := range levels {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "loadtest: %d clients for %v...\n", n, *duration)
		cpu0, cpuErr := procCPU(*serverPID)
		lv := runLevel(ctx, client, target, key, body, n, *duration)
		if cpu1, err := procCPU(*serverPID); *serverPID > 0 && err == nil && cpuErr == nil && cpu1 > cpu0 {
			lv.ServerCPU = cpu1 - cpu0
			lv.PerCPU = lv.AudioSec / lv.ServerCPU
		}
		results = append(results, lv)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printLoad(env.Stdout, results, *secPerReq)
	return nil
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

func runLevel(ctx context.Context, client *http.Client, target, key string, body map[string]any, clients int, d time.Duration) *loadLevel {
	lv := &loadLevel{Clients: clients, Errors: map[string]int{}}
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
				b := map[string]any{"seed": c*1_000_003 + i}
				for k, v := range body {
					b[k] = v
				}
				t0 := time.Now()
				status, audioSec, retry, err := oneRequest(rctx, client, target, key, b)
				lat := time.Since(t0).Seconds()
				if rctx.Err() != nil && err != nil {
					return // cut by the end of the window: not counted
				}
				mu.Lock()
				lv.Requests++
				switch {
				case err != nil:
					lv.Errors["transport"]++
				case status != http.StatusOK:
					lv.Errors[strconv.Itoa(status)]++
				default:
					lv.OK++
					lv.AudioSec += audioSec
					lv.latencies = append(lv.latencies, lat)
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

// oneRequest posts one synthesis and reads the whole body; it returns the
// status, the seconds of audio received (from X-Audio-Duration, checked
// against the body size) and the Retry-After of a refusal.
func oneRequest(ctx context.Context, client *http.Client, target, key string, body map[string]any) (int, float64, time.Duration, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(string(b)))
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
