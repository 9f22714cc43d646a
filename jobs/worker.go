package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler runs one job of its kind. It reads the request with
// Task.Decode, reports progress with Task.Progress and stores its
// outputs with Task.Put; it returns nil once every output is stored,
// ctx's error when ctx is done (the job was cancelled or the worker is
// stopping: a job redelivered later finds the outputs stored so far), or
// an error that fails the job.
type Handler func(ctx context.Context, t *Task) error

// WorkOptions configure Store.Work.
type WorkOptions struct {
	// Handlers by kind: the worker takes jobs of these kinds only.
	Handlers map[string]Handler
	// Concurrency bounds the jobs run at once (default 1).
	Concurrency int
	// PruneEvery is how often the worker applies the retention (Prune):
	// default 1 minute, -1 never.
	PruneEvery time.Duration
	Logger     *slog.Logger
}

// errCancelRequested is the cause of a job's context cancelled by Cancel.
var errCancelRequested = errors.New("jobs: cancelled on request")

// Work runs jobs of the kinds of o.Handlers until ctx is done, at most
// o.Concurrency at a time; then it stops the running jobs, hands their
// messages back for redelivery and returns nil.
func (s *Store) Work(ctx context.Context, o WorkOptions) error {
	if len(o.Handlers) == 0 {
		return fmt.Errorf("jobs: work: no job kinds")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.PruneEvery == 0 {
		o.PruneEvery = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	kinds := make([]string, 0, len(o.Handlers))
	for k := range o.Handlers {
		if !ValidKind(k) {
			return fmt.Errorf("jobs: work: kind %q: want lower-case letters, digits and '-'", k)
		}
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	consumers := make([]jetstream.Consumer, len(kinds))
	for i, k := range kinds {
		c, err := s.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
			Durable:       "kind-" + k,
			Description:   "wavenet workers of job kind " + k,
			FilterSubject: subjectPrefix + k,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       s.opts.AckWait,
			MaxDeliver:    -1,
			MaxAckPending: -1,
		})
		if err != nil {
			return fmt.Errorf("jobs: work: consumer of %s: %w", k, err)
		}
		consumers[i] = c
	}
	slots := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, k := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.pull(ctx, consumers[i], o.Handlers[k], slots, &wg, o.Logger)
		}()
	}
	if o.PruneEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(o.PruneEvery)
			defer t.Stop()
			for {
				if ids, err := s.Prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
					o.Logger.Warn("jobs: retention", "err", err)
				} else if len(ids) > 0 {
					o.Logger.Info("jobs: retention deleted finished jobs", "count", len(ids))
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// pull takes one job of consumer c whenever a slot is free.
func (s *Store) pull(ctx context.Context, c jetstream.Consumer, h Handler, slots chan struct{}, wg *sync.WaitGroup, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case slots <- struct{}{}:
		}
		batch, err := c.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, nats.ErrTimeout) {
				log.Warn("jobs: fetch", "err", err)
			}
			time.Sleep(time.Second) // NATS is away: do not spin
			continue
		}
		got := false
		for msg := range batch.Messages() {
			got = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				s.run(ctx, msg, h, log)
			}()
		}
		if !got {
			<-slots
		}
	}
}

// run runs the job of msg: claim the record, run the handler while
// telling the server the message is in progress, record the end, and
// only then acknowledge.
func (s *Store) run(ctx context.Context, msg jetstream.Msg, h Handler, log *slog.Logger) {
	id := string(msg.Data())
	bg := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		_ = msg.Nak()
		return
	}
	now := time.Now().UTC()
	j, err := s.update(ctx, id, func(j *Job) error {
		switch {
		case j.State.Final():
			return errSkip
		case j.CancelRequested:
			j.State, j.Finished = Cancelled, &now
		case j.Attempts >= s.opts.MaxAttempts:
			j.State, j.Finished = Failed, &now
			j.Error = fmt.Sprintf("gave up after %d attempts (each worker died or stopped before the end)", j.Attempts)
		default:
			j.State, j.Started, j.Error, j.Stage = Running, &now, "", "started"
			j.Attempts++
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		_ = msg.Term() // deleted while queued
		return
	case errors.Is(err, errSkip):
		s.ack(bg, msg, id, log) // finished by an earlier delivery
		return
	case err != nil:
		log.Warn("jobs: claim", "job", id, "err", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	if j.State != Running {
		s.ack(bg, msg, id, log)
		return
	}
	log.Info("jobs: start", "job", id, "kind", j.Kind, "attempt", j.Attempts)
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	var keep sync.WaitGroup
	keep.Add(1)
	go func() {
		defer keep.Done()
		s.keepAlive(jctx, done, msg, id, cancel)
	}()
	t := &Task{ID: id, Kind: j.Kind, Request: j.Request, Attempt: j.Attempts, s: s}
	herr := safeRun(jctx, h, t)
	close(done)
	keep.Wait()
	end := time.Now().UTC()
	switch {
	case herr == nil:
		_, err = s.update(bg, id, func(j *Job) error {
			j.State, j.Finished, j.Progress, j.Stage = Succeeded, &end, 1, "done"
			j.Result = t.result
			return nil
		})
	case errors.Is(context.Cause(jctx), errCancelRequested):
		_, err = s.update(bg, id, func(j *Job) error {
			j.State, j.Finished = Cancelled, &end
			return nil
		})
	case ctx.Err() != nil:
		// The worker is stopping: the job goes back to the queue.
		_, err = s.update(bg, id, func(j *Job) error {
			j.State, j.Stage = Queued, "interrupted (worker stopped); waiting for a worker"
			return nil
		})
		log.Info("jobs: interrupted", "job", id)
		if err == nil {
			_ = msg.Nak()
			return
		}
	default:
		_, err = s.update(bg, id, func(j *Job) error {
			j.State, j.Finished, j.Error = Failed, &end, herr.Error()
			return nil
		})
	}
	if err != nil {
		// The end is not recorded: leave the message to be redelivered.
		log.Warn("jobs: record end", "job", id, "err", err)
		return
	}
	log.Info("jobs: end", "job", id, "err", herr)
	s.ack(bg, msg, id, log)
}

var errSkip = errors.New("jobs: skip")

func (s *Store) ack(ctx context.Context, msg jetstream.Msg, id string, log *slog.Logger) {
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		log.Warn("jobs: ack", "job", id, "err", err)
	}
}

// safeRun runs h, turning a panic into the job's error.
func safeRun(ctx context.Context, h Handler, t *Task) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jobs: %s job panicked: %v\n%s", t.Kind, r, debug.Stack())
		}
	}()
	return h(ctx, t)
}

// keepAlive tells the server the message is in progress every AckWait/4
// and cancels the job when its record asks for it, until done closes.
func (s *Store) keepAlive(ctx context.Context, done chan struct{}, msg jetstream.Msg, id string, cancel context.CancelCauseFunc) {
	w, err := s.kv.Watch(ctx, id, jetstream.UpdatesOnly())
	var updates <-chan jetstream.KeyValueEntry
	if err == nil {
		defer w.Stop()
		updates = w.Updates()
	}
	t := time.NewTicker(s.opts.AckWait / 4)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			_ = msg.InProgress()
		case e, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			if e == nil {
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				cancel(errCancelRequested) // deleted
				continue
			}
			var j Job
			if json.Unmarshal(e.Value(), &j) == nil && j.CancelRequested {
				cancel(errCancelRequested)
			}
		}
	}
}

// Task is a running job, as its Handler sees it.
type Task struct {
	ID      string
	Kind    string
	Request json.RawMessage
	// Attempt is 1 on the first delivery, more when an earlier worker
	// died or stopped: outputs it stored are still there (Task.Open).
	Attempt int

	s            *Store
	mu           sync.Mutex
	lastProgress time.Time
	lastStage    string
	result       json.RawMessage
}

// Store returns the store the task runs on (to read other jobs' outputs).
func (t *Task) Store() *Store { return t.s }

// Decode decodes the request into v, refusing unknown fields.
func (t *Task) Decode(v any) error {
	d := json.NewDecoder(bytes.NewReader(t.Request))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("jobs: %s request: %w", t.Kind, err)
	}
	return nil
}

// progressEvery is the most often Progress writes the record when the
// stage does not change.
const progressEvery = 250 * time.Millisecond

// Progress records what the job is doing and how far it is, fraction in
// [0, 1]. Calls within 250 ms of the last one with the same stage are
// dropped.
func (t *Task) Progress(ctx context.Context, stage string, fraction float64) error {
	t.mu.Lock()
	now := time.Now()
	if stage == t.lastStage && now.Sub(t.lastProgress) < progressEvery && fraction < 1 {
		t.mu.Unlock()
		return nil
	}
	t.lastStage, t.lastProgress = stage, now
	t.mu.Unlock()
	_, err := t.s.update(ctx, t.ID, func(j *Job) error {
		j.Stage, j.Progress = stage, min(max(fraction, 0), 1)
		return nil
	})
	return err
}

// SetResult sets the summary recorded with the job when it succeeds.
func (t *Task) SetResult(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jobs: %s result: %w", t.Kind, err)
	}
	t.mu.Lock()
	t.result = b
	t.mu.Unlock()
	return nil
}

// Put stores output name (path segments of letters, digits, '.', '_',
// '-') read from r, replacing one of the same name, and records it.
func (t *Task) Put(ctx context.Context, name, contentType string, r io.Reader) (Output, error) {
	if !validOutputName(name) {
		return Output{}, fmt.Errorf("%w: output name %q", ErrBadRequest, name)
	}
	meta := jetstream.ObjectMeta{Name: t.ID + "/" + name}
	if contentType != "" {
		meta.Headers = nats.Header{"Content-Type": []string{contentType}}
	}
	info, err := t.s.obj.Put(ctx, meta, r)
	if err != nil {
		return Output{}, fmt.Errorf("jobs: store %s/%s: %w", t.ID, name, err)
	}
	out := Output{Name: name, Size: int64(info.Size), ContentType: contentType}
	_, err = t.s.update(ctx, t.ID, func(j *Job) error {
		j.Outputs = slices.DeleteFunc(j.Outputs, func(o Output) bool { return o.Name == name })
		j.Outputs = append(j.Outputs, out)
		return nil
	})
	return out, err
}

// Open opens the task's output name (stored by this or an earlier
// attempt).
func (t *Task) Open(ctx context.Context, name string) (io.ReadCloser, Output, error) {
	return t.s.OpenOutput(ctx, t.ID, name)
}

// Remove deletes the task's output name.
func (t *Task) Remove(ctx context.Context, name string) error {
	if err := t.s.obj.Delete(ctx, t.ID+"/"+name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("jobs: delete %s/%s: %w", t.ID, name, err)
	}
	_, err := t.s.update(ctx, t.ID, func(j *Job) error {
		j.Outputs = slices.DeleteFunc(j.Outputs, func(o Output) bool { return o.Name == name })
		return nil
	})
	return err
}

// Outputs returns the task's recorded outputs.
func (t *Task) Outputs(ctx context.Context) ([]Output, error) {
	j, err := t.s.Get(ctx, t.ID)
	return j.Outputs, err
}
