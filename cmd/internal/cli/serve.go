package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/detectionapi"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/web"
)

type serveConfig struct {
	addr            string
	modelsDir       string
	apiKeyFile      string
	maxStreams      int
	maxQueue        int
	workers         int
	queueWait       time.Duration
	maxSeconds      float64
	maxScoreSeconds float64
	maxScores       int
	maxBodyBytes    int64
	requestTimeout  time.Duration
	shutdownTimeout time.Duration
	corsOrigins     string
	logFormat       string
	randomModel     string
	noRL            bool
	dataDir         string
	maxEvaluations  int
	evalMemory      int64
	jobs            jobFlags
	modelMemory     int64
}

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "serve", "serve [--addr :8080] [--models DIR] [--api-key-file F] [--max-streams N] [--max-seconds S] ...")
	var c serveConfig
	fs.StringVar(&c.addr, "addr", ":8080", "listen address (host:port; port 0 picks a free one, printed at start)")
	fs.StringVar(&c.modelsDir, "models", "", "directory of checkpoint directories (ids are the directory names), or one checkpoint directory; default: the embedded default model")
	fs.StringVar(&c.apiKeyFile, "api-key-file", "", "file with one API key per line; when given, /v1 routes need \"Authorization: Bearer KEY\"")
	fs.IntVar(&c.maxStreams, "max-streams", 16, "generation slots per model: requests batched together")
	fs.IntVar(&c.workers, "workers", 0, "generator goroutines per model sharing its slots (0: min(GOMAXPROCS, 4)); each batches its streams")
	fs.IntVar(&c.maxQueue, "max-queue", 0, "requests per model that may wait for a slot (0: as many as --max-streams; -1: none); more get 429")
	fs.DurationVar(&c.queueWait, "queue-wait", 10*time.Second, "longest wait for a slot before 429")
	fs.Float64Var(&c.maxSeconds, "max-seconds", 30, "longest audio one request may ask for")
	fs.Float64Var(&c.maxScoreSeconds, "max-score-seconds", 20, "longest WAV /v1/score accepts")
	fs.IntVar(&c.maxScores, "max-scores", 0, "/v1/score forward passes run at once (0: GOMAXPROCS); as many more may wait")
	fs.Int64Var(&c.maxBodyBytes, "max-body-bytes", 32<<20, "largest request body")
	fs.DurationVar(&c.requestTimeout, "request-timeout", 5*time.Minute, "server-wide deadline of one request")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long running syntheses may take to finish")
	fs.StringVar(&c.corsOrigins, "cors-origin", "", "comma-separated origins allowed by CORS (\"*\" for any); default: CORS off")
	fs.StringVar(&c.logFormat, "log-format", "text", "access log format: text or json (log/slog, on stderr)")
	fs.StringVar(&c.randomModel, "random-model", "", "serve an UNTRAINED model with random weights from a preset (tiny, small, ibab) as \"random\": noise, for load tests only")
	fs.BoolVar(&c.noRL, "no-rl", false, "do not mount the reinforcement-learning routes (/v1/rl/...)")
	fs.StringVar(&c.dataDir, "data-dir", "wavenet-data", "the service's data: the embedded NATS JetStream store (DIR/nats: jobs, listening tests, models made by jobs; created if need be); listening tests may be made from folders of WAVs under DIR/wavs")
	fs.IntVar(&c.maxEvaluations, "max-evaluations", 2, "/v1/detection/evaluate requests run at once; as many more may wait --queue-wait")
	fs.Int64Var(&c.evalMemory, "evaluation-memory", 512<<20, "memory budget of the detection evaluations running at once, in bytes (a request is estimated at 6x its body); larger requests get 413")
	c.jobs.register(fs, "job-")
	fs.Int64Var(&c.modelMemory, "model-memory", 1<<30, "memory budget in bytes of the models made by jobs that this replica loads from the job store when first asked for (least recently used evicted beyond it)")
	fs.BoolVar(&c.jobs.noWorker, "no-worker", false, "accept jobs but run none here (`wavenet worker` processes run them)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var logger *slog.Logger
	switch c.logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(env.Stderr, nil))
	case "json":
		logger = slog.New(slog.NewJSONHandler(env.Stderr, nil))
	default:
		return Usagef("--log-format is %q, want text or json", c.logFormat)
	}

	opts := api.Options{
		MaxStreams: c.maxStreams, MaxQueue: c.maxQueue, Workers: c.workers, QueueWait: c.queueWait,
		MaxSeconds: c.maxSeconds, MaxScoreSeconds: c.maxScoreSeconds, MaxScores: c.maxScores, MaxBodyBytes: c.maxBodyBytes,
		RequestTimeout: c.requestTimeout, Logger: logger,
	}
	if c.maxStreams < 1 || c.maxStreams > 1024 {
		return Usagef("--max-streams is %d, want 1 to 1024", c.maxStreams)
	}
	if c.maxSeconds <= 0 || c.maxScoreSeconds <= 0 || c.maxBodyBytes <= 0 {
		return Usagef("--max-seconds, --max-score-seconds and --max-body-bytes must be positive")
	}
	if c.maxEvaluations < 1 || c.evalMemory <= 0 {
		return Usagef("--max-evaluations and --evaluation-memory must be positive")
	}
	if c.corsOrigins != "" {
		for _, o := range strings.Split(c.corsOrigins, ",") {
			if o = strings.TrimSpace(o); o != "" {
				opts.CORSOrigins = append(opts.CORSOrigins, o)
			}
		}
	}
	if c.apiKeyFile != "" {
		keys, err := readAPIKeys(c.apiKeyFile)
		if err != nil {
			return err
		}
		opts.APIKeys = keys
	}
	if c.randomModel != "" {
		if _, err := wavenet.Preset(c.randomModel); err != nil {
			return Usagef("--random-model: %v", err)
		}
	}
	served := synth.Served{Random: c.randomModel, Dir: c.modelsDir, Logger: logger}
	if c.randomModel == "" && c.modelsDir == "" {
		if !models.Available() {
			return Usagef("--models DIR is required (this binary has no embedded default model)")
		}
		served.FS, served.FSDirs = models.FS(), models.IDs()
	}
	var err error
	if opts.Models, opts.FailedModels, err = synth.LoadServed(ctx, served); err != nil {
		return err
	}
	jobs, err := openServeJobs(ctx, &c.jobs, c.dataDir, logger)
	if err != nil {
		return err
	}
	defer jobs.close()
	features, err := newServeFeatures(c.noRL, c.dataDir, jobs.store, featureLimits{
		detection: detectionapi.Options{MaxEvaluations: c.maxEvaluations, MemoryBudget: c.evalMemory, QueueWait: c.queueWait},
	})
	if err != nil {
		return err
	}
	opts.Features = append(features.list, jobs.feature)
	// The models jobs made, in the object store every replica shares.
	opts.ModelSource, opts.ModelBudget = kinds.ModelSource{Store: jobs.store}, c.modelMemory
	opts.Page = web.Handler() // the web page at /
	defer features.close()
	srv, err := api.New(opts)
	if err != nil {
		return err
	}
	features.serve(srv)
	if err := jobs.work(ctx, srv.Engine()); err != nil {
		return err
	}
	go syncModels(ctx, srv.Engine(), logger)
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(env.Stdout, "wavenet serve: listening on http://%s\n", ln.Addr())
	return srv.Serve(ctx, ln, api.ServeOptions{ShutdownTimeout: c.shutdownTimeout})
}

// syncEvery is how often serve drops the models it loaded from the job
// store that were deleted there (by any replica).
const syncEvery = 10 * time.Second

// syncModels runs e.SyncSource every syncEvery until ctx is done.
func syncModels(ctx context.Context, e *synth.Engine, logger *slog.Logger) {
	t := time.NewTicker(syncEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.SyncSource(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("models: the job store cannot be listed", "err", err)
			}
		}
	}
}

// readAPIKeys reads one key per line; blank lines and lines starting with
// # are ignored.
func readAPIKeys(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("serve: api key file: %w", err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		k := strings.TrimSpace(sc.Text())
		if k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("serve: api key file: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("serve: api key file %s has no keys (one per line)", name)
	}
	return keys, nil
}
