package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// State is where a job is in its life.
type State string

// The states of a job. Succeeded, Failed and Cancelled are final.
const (
	Queued    State = "queued"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Cancelled State = "cancelled"
)

// Final reports whether a job in state s is finished.
func (s State) Final() bool { return s == Succeeded || s == Failed || s == Cancelled }

// Names of the JetStream stream, buckets and subjects.
const (
	StreamName    = "WAVENET_JOBS"
	subjectPrefix = "wavenet.jobs."
	RecordsBucket = "wavenet_jobs"
	OutputsBucket = "wavenet_job_outputs"
)

// Sentinel errors; Store methods wrap them.
var (
	ErrNotFound    = errors.New("jobs: not found")
	ErrNotFinished = errors.New("jobs: job not finished (cancel it first)")
	ErrFinished    = errors.New("jobs: job already finished")
	ErrBadRequest  = errors.New("jobs: bad job")
	ErrLocked      = errors.New("jobs: data directory in use")
)

// Job is a job's record, as kept in the key-value bucket.
type Job struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Request json.RawMessage `json:"request"`
	State   State           `json:"state"`
	// Stage says what a running job is doing; Progress is in [0, 1].
	Stage    string  `json:"stage,omitempty"`
	Progress float64 `json:"progress"`
	Error    string  `json:"error,omitempty"`
	// CancelRequested is set by Cancel; the worker running the job stops
	// it and records Cancelled.
	CancelRequested bool       `json:"cancel_requested,omitempty"`
	Created         time.Time  `json:"created"`
	Started         *time.Time `json:"started,omitempty"`
	Finished        *time.Time `json:"finished,omitempty"`
	// Attempts counts the times a worker started the job (more than one
	// after a worker died or was stopped).
	Attempts int      `json:"attempts"`
	Outputs  []Output `json:"outputs"`
	// Result is the handler's summary of a succeeded job (kind-specific).
	Result json.RawMessage `json:"result,omitempty"`
}

// Output is one stored output of a job.
type Output struct {
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type,omitempty"`
}

// Options configure Open.
type Options struct {
	// URL is an external NATS server or cluster ("nats://host:4222",
	// comma-separated for several). Empty: start an embedded server.
	URL string
	// DataDir is where the embedded server keeps JetStream's files
	// (DataDir/jetstream). Required without URL.
	DataDir string
	// Host and Port of the embedded server's client listener: loopback
	// and a free port unless set.
	Host string
	Port int
	// Replicas of the stream and buckets (1; 3 on a cluster of 3).
	Replicas int
	// AckWait is how long a job's message stays with a worker that no
	// longer reports (killed) before it is redelivered (default 30 s).
	// Running workers report every AckWait/4.
	AckWait time.Duration
	// MaxAttempts bounds the starts of one job (default 5): a job that
	// kills its workers fails after that many.
	MaxAttempts int
	// KeepFinished and MaxAge are the retention of finished jobs and their
	// outputs, applied by Prune: at most KeepFinished finished jobs are
	// kept (the newest; 0: 1000, -1: no limit), none finished longer ago
	// than MaxAge (0: 30 days, -1: no limit).
	KeepFinished int
	MaxAge       time.Duration
	// Name names the connection (shown by NATS monitoring).
	Name string
}

// Store is a connection to the jobs' stream, records and outputs.
type Store struct {
	opts   Options
	srv    *server.Server // embedded server, nil with Options.URL
	lock   *os.File       // the lock on the embedded server's directory
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	kv     jetstream.KeyValue
	obj    jetstream.ObjectStore
}

// Open connects to NATS (starting the embedded server unless opts.URL)
// and creates the stream and buckets if they do not exist.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.AckWait <= 0 {
		opts.AckWait = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.KeepFinished == 0 {
		opts.KeepFinished = 1000
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = 30 * 24 * time.Hour
	}
	if opts.Name == "" {
		opts.Name = "wavenet"
	}
	s := &Store{opts: opts}
	url := opts.URL
	if url == "" {
		if opts.DataDir == "" {
			return nil, fmt.Errorf("jobs: no NATS URL and no data directory for the embedded server")
		}
		lock, err := lockDir(opts.DataDir)
		if err != nil {
			return nil, err
		}
		s.lock = lock
		srv, err := startServer(opts)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.srv, url = srv, srv.ClientURL()
	}
	nc, err := nats.Connect(url, nats.Name(opts.Name), nats.MaxReconnects(-1))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("jobs: connect to %s: %w", url, err)
	}
	s.nc = nc
	if err := s.setup(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) setup(ctx context.Context) error {
	var err error
	if s.js, err = jetstream.New(s.nc); err != nil {
		return fmt.Errorf("jobs: jetstream: %w", err)
	}
	s.stream, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "wavenet jobs: one message per submitted job, subject wavenet.jobs.KIND",
		Subjects:    []string{subjectPrefix + "*"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    s.opts.Replicas,
		Duplicates:  time.Minute,
	})
	if err != nil {
		return fmt.Errorf("jobs: stream %s: %w", StreamName, err)
	}
	if s.kv, err = s.records(ctx); err != nil {
		return fmt.Errorf("jobs: bucket %s: %w", RecordsBucket, err)
	}
	s.obj, err = s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      OutputsBucket,
		Description: "wavenet job outputs, named JOBID/NAME",
		Storage:     jetstream.FileStorage,
		Replicas:    s.opts.Replicas,
	})
	if err != nil {
		return fmt.Errorf("jobs: bucket %s: %w", OutputsBucket, err)
	}
	return nil
}

// records opens the records bucket, creating it if need be, with reads
// from its stream's leader only: a key-value bucket lets any replica
// answer a get ("direct get"), and a replica that lags would show a
// worker an older record than the one it just wrote, on which it would
// decide wrongly (a job taken over, or not finished).
func (s *Store) records(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := s.js.KeyValue(ctx, RecordsBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      RecordsBucket,
			Description: "wavenet job records (JSON), by job id",
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    s.opts.Replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another process made it meanwhile
			kv, err = s.js.KeyValue(ctx, RecordsBucket)
		}
	}
	if err != nil {
		return nil, err
	}
	st, err := s.js.Stream(ctx, "KV_"+RecordsBucket)
	if err != nil {
		return nil, err
	}
	cfg := st.CachedInfo().Config
	if !cfg.AllowDirect && cfg.Replicas == s.opts.Replicas {
		return kv, nil
	}
	cfg.AllowDirect, cfg.Replicas = false, s.opts.Replicas
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		return nil, err
	}
	return s.js.KeyValue(ctx, RecordsBucket)
}

// Close closes the connection and shuts the embedded server down.
func (s *Store) Close() {
	if s.nc != nil {
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	if s.lock != nil {
		s.lock.Close()
	}
}

// URL is the NATS URL the store is connected to: the embedded server's
// when there is one, for `wavenet worker --nats`.
func (s *Store) URL() string { return s.nc.ConnectedUrl() }

// Options returns the options in effect (defaults filled in).
func (s *Store) Options() Options { return s.opts }

// MaxRequestBytes bounds a job's request: it is kept in the job's
// record, a key-value entry, under NATS's default 1 MiB message limit
// with room for the rest of the record.
const MaxRequestBytes = 512 << 10

var kindRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// ValidKind reports whether kind can name a job kind (a subject token).
func ValidKind(kind string) bool { return kindRe.MatchString(kind) }

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Submit queues a job of kind with its request (JSON, handed to the
// kind's Handler as it is) and returns its record.
func (s *Store) Submit(ctx context.Context, kind string, request json.RawMessage) (Job, error) {
	if !ValidKind(kind) {
		return Job{}, fmt.Errorf("%w: kind %q: want lower-case letters, digits and '-'", ErrBadRequest, kind)
	}
	if len(request) == 0 {
		request = json.RawMessage("{}")
	}
	if len(request) > MaxRequestBytes {
		return Job{}, fmt.Errorf("%w: the request is %d bytes, at most %d: split the job", ErrBadRequest, len(request), MaxRequestBytes)
	}
	if !json.Valid(request) {
		return Job{}, fmt.Errorf("%w: request is not JSON", ErrBadRequest)
	}
	j := Job{ID: newID(), Kind: kind, Request: request, State: Queued, Created: time.Now().UTC(), Outputs: []Output{}}
	b, err := json.Marshal(j)
	if err != nil {
		return Job{}, fmt.Errorf("jobs: submit: %w", err)
	}
	if _, err := s.kv.Create(ctx, j.ID, b); err != nil {
		return Job{}, fmt.Errorf("jobs: submit: %w", err)
	}
	if _, err := s.js.Publish(ctx, subjectPrefix+kind, []byte(j.ID), jetstream.WithMsgID(j.ID)); err != nil {
		_ = s.kv.Purge(context.WithoutCancel(ctx), j.ID)
		return Job{}, fmt.Errorf("jobs: submit: %w", err)
	}
	return j, nil
}

// Get returns job id's record.
func (s *Store) Get(ctx context.Context, id string) (Job, error) {
	j, _, err := s.get(ctx, id)
	return j, err
}

func (s *Store) get(ctx context.Context, id string) (Job, uint64, error) {
	if !validID(id) {
		return Job{}, 0, fmt.Errorf("%w: job %q", ErrNotFound, id)
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Job{}, 0, fmt.Errorf("%w: job %q", ErrNotFound, id)
	}
	if err != nil {
		return Job{}, 0, fmt.Errorf("jobs: get %s: %w", id, err)
	}
	var j Job
	if err := json.Unmarshal(e.Value(), &j); err != nil {
		return Job{}, 0, fmt.Errorf("jobs: record %s: %w", id, err)
	}
	return j, e.Revision(), nil
}

var idRe = regexp.MustCompile(`^[0-9a-f]{24}$`)

func validID(id string) bool { return idRe.MatchString(id) }

// update applies f to job id's record and stores it, retrying when
// another process changed the record in between (compare and set).
func (s *Store) update(ctx context.Context, id string, f func(*Job) error) (Job, error) {
	for {
		j, rev, err := s.get(ctx, id)
		if err != nil {
			return Job{}, err
		}
		if err := f(&j); errors.Is(err, errStale) {
			select {
			case <-ctx.Done():
				return j, ctx.Err()
			case <-time.After(10 * time.Millisecond):
				continue
			}
		} else if err != nil {
			return j, err
		}
		b, err := json.Marshal(j)
		if err != nil {
			return Job{}, fmt.Errorf("jobs: update %s: %w", id, err)
		}
		_, err = s.kv.Update(ctx, id, b, rev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			return Job{}, fmt.Errorf("jobs: update %s: %w", id, err)
		}
		return j, nil
	}
}

// List returns every job's record, oldest first. It reads the bucket
// once (a watch of every key's last value), not one key at a time.
func (s *Store) List(ctx context.Context) ([]Job, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	defer w.Stop()
	var out []Job
	for e := range w.Updates() {
		if e == nil {
			break // every current value is in
		}
		var j Job
		if err := json.Unmarshal(e.Value(), &j); err != nil {
			return nil, fmt.Errorf("jobs: record %s: %w", e.Key(), err)
		}
		out = append(out, j)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Job) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Cancel asks for job id to stop: a queued job is cancelled at once, a
// running one by its worker as soon as it notices. A finished job
// answers ErrFinished.
func (s *Store) Cancel(ctx context.Context, id string) (Job, error) {
	return s.update(ctx, id, func(j *Job) error {
		if j.State.Final() {
			return fmt.Errorf("%w: job %s is %s", ErrFinished, id, j.State)
		}
		j.CancelRequested = true
		if j.State == Queued {
			now := time.Now().UTC()
			j.State, j.Finished = Cancelled, &now
		}
		return nil
	})
}

// Delete removes finished job id's record and outputs. A job not
// finished answers ErrNotFinished.
func (s *Store) Delete(ctx context.Context, id string) error {
	names, err := s.outputNames(ctx)
	if err != nil {
		return err
	}
	return s.delete(ctx, id, names[id])
}

// delete removes finished job id's record and its outputs named.
func (s *Store) delete(ctx context.Context, id string, names []string) error {
	j, rev, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	if !j.State.Final() {
		return fmt.Errorf("%w: job %s is %s", ErrNotFinished, id, j.State)
	}
	for _, o := range j.Outputs {
		if !slices.Contains(names, id+"/"+o.Name) {
			names = append(names, id+"/"+o.Name)
		}
	}
	for _, n := range names {
		if err := s.obj.Delete(ctx, n); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("jobs: delete %s: %w", n, err)
		}
	}
	if err := s.kv.Purge(ctx, id, jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("jobs: delete %s: %w", id, err)
	}
	return nil
}

// outputNames returns the names of every stored object by job id,
// recorded or not (a worker may have died between storing an output and
// recording it).
func (s *Store) outputNames(ctx context.Context) (map[string][]string, error) {
	infos, err := s.obj.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: list outputs: %w", err)
	}
	byJob := map[string][]string{}
	for _, in := range infos {
		if id, _, ok := strings.Cut(in.Name, "/"); ok {
			byJob[id] = append(byJob[id], in.Name)
		}
	}
	return byJob, nil
}

// OpenOutput opens output name of job id. The caller closes it.
func (s *Store) OpenOutput(ctx context.Context, id, name string) (io.ReadCloser, Output, error) {
	if !validID(id) || !validOutputName(name) {
		return nil, Output{}, fmt.Errorf("%w: output %s/%s", ErrNotFound, id, name)
	}
	r, err := s.obj.Get(ctx, id+"/"+name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, Output{}, fmt.Errorf("%w: output %s/%s", ErrNotFound, id, name)
	}
	if err != nil {
		return nil, Output{}, fmt.Errorf("jobs: output %s/%s: %w", id, name, err)
	}
	info, err := r.Info()
	if err != nil {
		r.Close()
		return nil, Output{}, fmt.Errorf("jobs: output %s/%s: %w", id, name, err)
	}
	return r, Output{Name: name, Size: int64(info.Size), ContentType: info.Headers.Get("Content-Type")}, nil
}

// ReadOutput returns output name of job id.
func (s *Store) ReadOutput(ctx context.Context, id, name string) ([]byte, error) {
	r, _, err := s.OpenOutput(ctx, id, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("jobs: output %s/%s: %w", id, name, err)
	}
	return b, nil
}

var outputRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$`)

// validOutputName reports whether name can name an output: path
// segments of letters, digits, '.', '_' and '-', none starting with '.'.
func validOutputName(name string) bool { return len(name) <= 200 && outputRe.MatchString(name) }

// Watch sends job id's record each time it changes, starting with the
// current one, until ctx is done or the job is deleted; then it closes
// the channel.
func (s *Store) Watch(ctx context.Context, id string) (<-chan Job, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	w, err := s.kv.Watch(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("jobs: watch %s: %w", id, err)
	}
	ch := make(chan Job, 1)
	go func() {
		defer close(ch)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue // the initial values are all sent
				}
				if e.Operation() != jetstream.KeyValuePut {
					return
				}
				var j Job
				if json.Unmarshal(e.Value(), &j) != nil {
					continue
				}
				select {
				case ch <- j:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch, nil
}

// startServer starts the embedded nats-server with JetStream on
// opts.DataDir, listening on loopback.
func startServer(opts Options) (*server.Server, error) {
	host := opts.Host
	if host == "" {
		host = "127.0.0.1" // the embedded server is the process's own
	}
	srv, err := StartServer(host, opts.Port, opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("%w (is %s locked by another process?)", err, opts.DataDir)
	}
	return srv, nil
}

// StartServer starts a NATS server in this process on host:port (host ""
// is every interface, port 0 a free one), with JetStream files under
// storeDir, or without JetStream when storeDir is "" (distributed
// training needs only subjects). Stop it with Shutdown and
// WaitForShutdown.
func StartServer(host string, port int, storeDir string) (*server.Server, error) {
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "wavenet-embedded",
		Host:       host,
		Port:       port,
		JetStream:  storeDir != "",
		StoreDir:   storeDir,
		NoSigs:     true,
		NoLog:      true,
		HTTPPort:   0,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: embedded nats-server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("jobs: embedded nats-server on %s:%d did not start", host, port)
	}
	return srv, nil
}
