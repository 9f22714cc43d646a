package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/jobsapi"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/synth"
)

// jobFlags are the job store and worker flags of serve and worker.
type jobFlags struct {
	nats        string
	kinds       string
	concurrency int
	keep        int
	maxAge      time.Duration
	noWorker    bool
	replicas    int
}

// register adds the flags; prefix ("job-" for serve, whose --workers
// means something else) goes before the worker's own flags.
func (f *jobFlags) register(fs *flag.FlagSet, prefix string) {
	fs.StringVar(&f.nats, "nats", "", "NATS server or cluster of the durable jobs (nats://host:4222, comma-separated); default: an embedded NATS server, its files under --data-dir/nats, on a free loopback port")
	fs.StringVar(&f.kinds, prefix+"kinds", "", "job kinds run here, comma-separated (default all: "+strings.Join(kinds.Names(), ",")+")")
	fs.IntVar(&f.concurrency, prefix+"concurrency", 1, "jobs run at once")
	fs.IntVar(&f.replicas, "nats-replicas", 1, "copies JetStream keeps of the job stream, records and outputs (3 on a NATS cluster of 3)")
	fs.IntVar(&f.keep, "keep-jobs", 1000, "finished jobs kept with their outputs, the newest (-1: no limit)")
	fs.DurationVar(&f.maxAge, "job-max-age", 30*24*time.Hour, "finished jobs older than this are deleted with their outputs (-1ns: never)")
}

// kindNames returns the kinds of --kinds, checked.
func (f *jobFlags) kindNames(prefix string) ([]string, error) {
	if f.concurrency < 1 {
		return nil, Usagef("--%sconcurrency is %d, want at least 1", prefix, f.concurrency)
	}
	if f.kinds == "" {
		return kinds.Names(), nil
	}
	var names []string
	for _, k := range strings.Split(f.kinds, ",") {
		if k = strings.TrimSpace(k); k != "" && !slices.Contains(names, k) {
			if !kinds.Known(k) {
				return nil, Usagef("--%skinds: unknown kind %q (want %s)", prefix, k, strings.Join(kinds.Names(), ", "))
			}
			names = append(names, k)
		}
	}
	return names, nil
}

// open connects to the job store: --nats, or the embedded server with
// its files under dataDir/nats.
func (f *jobFlags) open(ctx context.Context, dataDir string) (*jobs.Store, error) {
	return jobs.Open(ctx, jobs.Options{URL: f.nats, DataDir: filepath.Join(dataDir, "nats"), KeepFinished: f.keep, MaxAge: f.maxAge, Replicas: f.replicas})
}

// workOptions are the options of the worker running names.
func (f *jobFlags) workOptions(names []string, engine *synth.Engine, dataDir string, logger *slog.Logger) (jobs.WorkOptions, error) {
	hs, err := kinds.Handlers(kinds.Options{Engine: engine, WorkDir: filepath.Join(dataDir, "work"),
		CorpusRoot: filepath.Join(dataDir, "corpora"), Logger: logger}, names)
	if err != nil {
		return jobs.WorkOptions{}, err
	}
	return jobs.WorkOptions{Handlers: hs, Concurrency: f.concurrency, Logger: logger}, nil
}

func runWorker(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "worker", "worker [--nats URL] [--kinds train,compress,synthesize] [--concurrency N] [--data-dir DIR] [--models DIR]")
	var f jobFlags
	f.register(fs, "")
	dataDir := fs.String("data-dir", "wavenet-data", "the embedded NATS server's files (without --nats), the corpora of train jobs (DIR/corpora: their data is a path under it) and the scratch space of training runs")
	modelsDir := fs.String("models", "", "the models synthesize jobs may name (as serve --models); default: the embedded models")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	names, err := f.kindNames("")
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
	var engine *synth.Engine
	if slices.Contains(names, kinds.Synthesize) {
		served := synth.Served{Dir: *modelsDir, Logger: logger}
		if *modelsDir == "" {
			if !models.Available() {
				return Usagef("--models DIR is required for synthesize jobs (this binary has no embedded model)")
			}
			served.FS, served.FSDirs = models.FS(), models.IDs()
		}
		bundles, _, err := synth.LoadServed(ctx, served) // failed ones are logged
		if err != nil {
			return err
		}
		if engine, err = synth.New(bundles, synth.Options{Logger: logger}); err != nil {
			return err
		}
		defer engine.Close()
	}
	st, err := f.open(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	wo, err := f.workOptions(names, engine, *dataDir, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wavenet worker: %s jobs from %s\n", strings.Join(names, ","), st.URL())
	return st.Work(ctx, wo)
}

// serveJobs are serve's durable jobs: the store, the /v1/jobs routes
// and, unless --no-worker, a worker in the process.
type serveJobs struct {
	f       *jobFlags
	store   *jobs.Store
	feature api.Feature
	names   []string
	dataDir string
	logger  *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{}
}

// openServeJobs opens the job store for serve and logs where it is.
func openServeJobs(ctx context.Context, f *jobFlags, dataDir string, logger *slog.Logger) (*serveJobs, error) {
	names, err := f.kindNames("job-")
	if err != nil {
		return nil, err
	}
	st, err := f.open(ctx, dataDir)
	if err != nil {
		return nil, err
	}
	where := "external"
	if f.nats == "" {
		where = "embedded, files in " + filepath.Join(dataDir, "nats")
	}
	logger.Info("jobs: NATS JetStream", "url", st.URL(), "server", where, "worker", !f.noWorker)
	return &serveJobs{f: f, store: st, names: names, dataDir: dataDir, logger: logger,
		feature: jobsapi.New(jobsapi.Options{Store: st, Validate: kinds.Validate}).Feature()}, nil
}

// work starts the in-process worker (unless --no-worker) with the
// server's synthesis engine.
func (j *serveJobs) work(ctx context.Context, engine *synth.Engine) error {
	if j.f.noWorker {
		return nil
	}
	wo, err := j.f.workOptions(j.names, engine, j.dataDir, j.logger)
	if err != nil {
		return err
	}
	ctx, j.cancel = context.WithCancel(ctx)
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		if err := j.store.Work(ctx, wo); err != nil {
			j.logger.Error("jobs: worker", "err", err)
		}
	}()
	return nil
}

// close stops the worker (its running jobs go back to the queue) and
// closes the store (and the embedded NATS server).
func (j *serveJobs) close() {
	if j.cancel != nil {
		j.cancel()
		<-j.done
	}
	j.store.Close()
}
