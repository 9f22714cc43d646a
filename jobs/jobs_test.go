package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/jobs"
)

// ackWait is the tests' redelivery delay after a worker dies: short, so
// that a killed worker's job comes back within the test's time.
const ackWait = time.Second

// open starts an embedded server in a temporary directory.
func open(t *testing.T, o jobs.Options) *jobs.Store {
	t.Helper()
	if o.URL == "" && o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.AckWait == 0 {
		o.AckWait = ackWait
	}
	s, err := jobs.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// work runs s.Work with handlers until the test ends.
func work(t *testing.T, s *jobs.Store, concurrency int, handlers map[string]jobs.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Work(ctx, jobs.WorkOptions{Handlers: handlers, Concurrency: concurrency, PruneEvery: -1})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Work: %v", err)
		}
	})
}

// waitFor polls job id until cond holds (10 s at most: the slowest step
// waited for is a redelivery after ackWait).
func waitFor(t *testing.T, s *jobs.Store, id string, what string, cond func(jobs.Job) bool) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := s.Get(context.Background(), id)
		if err == nil && cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: not %s after 10 s: %+v (err %v)", id, what, j, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func final(j jobs.Job) bool { return j.State.Final() }

func submit(t *testing.T, s *jobs.Store, kind, req string) jobs.Job {
	t.Helper()
	j, err := s.Submit(context.Background(), kind, json.RawMessage(req))
	if err != nil {
		t.Fatalf("Submit(%s, %s): %v", kind, req, err)
	}
	return j
}

// echo stores its request as output "out.json".
func echo(ctx context.Context, t *jobs.Task) error {
	if err := t.Progress(ctx, "echoing", 0.5); err != nil {
		return err
	}
	_, err := t.Put(ctx, "out.json", "application/json", strings.NewReader(string(t.Request)))
	if err != nil {
		return err
	}
	return t.SetResult(map[string]int{"bytes": len(t.Request)})
}

func TestSubmitRunGetDelete(t *testing.T) {
	s := open(t, jobs.Options{})
	ctx := context.Background()
	work(t, s, 2, map[string]jobs.Handler{
		"echo": echo,
		"fail": func(context.Context, *jobs.Task) error { return errors.New("no good") },
	})
	ok := submit(t, s, "echo", `{"x":1}`)
	bad := submit(t, s, "fail", `{}`)
	if ok.State != jobs.Queued {
		t.Errorf("Submit state = %s, want queued", ok.State)
	}
	j := waitFor(t, s, ok.ID, "final", final)
	if j.State != jobs.Succeeded || j.Attempts != 1 || j.Progress != 1 || len(j.Outputs) != 1 || string(j.Result) != `{"bytes":7}` {
		t.Errorf("echo job = %+v, want succeeded after 1 attempt with 1 output and result {\"bytes\":7}", j)
	}
	b, err := s.ReadOutput(ctx, ok.ID, "out.json")
	if err != nil || string(b) != `{"x":1}` {
		t.Errorf("ReadOutput(out.json) = %q, %v; want the request", b, err)
	}
	j = waitFor(t, s, bad.ID, "final", final)
	if j.State != jobs.Failed || j.Error != "no good" {
		t.Errorf("fail job = %s %q, want failed \"no good\"", j.State, j.Error)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != ok.ID {
		t.Errorf("List = %d jobs, %v; want 2, oldest first", len(list), err)
	}
	if err := s.Delete(ctx, ok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, ok.ID); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := s.ReadOutput(ctx, ok.ID, "out.json"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("ReadOutput after Delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Submit(ctx, "Bad Kind", nil); !errors.Is(err, jobs.ErrBadRequest) {
		t.Errorf("Submit(\"Bad Kind\"): %v, want ErrBadRequest", err)
	}
}

func TestCancel(t *testing.T) {
	s := open(t, jobs.Options{})
	ctx := context.Background()
	// A queued job of a kind no worker takes is cancelled at once.
	q := submit(t, s, "nobody", `{}`)
	if j, err := s.Cancel(ctx, q.ID); err != nil || j.State != jobs.Cancelled {
		t.Errorf("Cancel(queued) = %s, %v; want cancelled", j.State, err)
	}
	if _, err := s.Cancel(ctx, q.ID); !errors.Is(err, jobs.ErrFinished) {
		t.Errorf("Cancel(cancelled): %v, want ErrFinished", err)
	}
	// A running job stops when its worker notices.
	started := make(chan struct{})
	work(t, s, 1, map[string]jobs.Handler{"block": func(ctx context.Context, t *jobs.Task) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	r := submit(t, s, "block", `{}`)
	<-started
	if err := s.Delete(ctx, r.ID); !errors.Is(err, jobs.ErrNotFinished) {
		t.Errorf("Delete(running): %v, want ErrNotFinished", err)
	}
	if _, err := s.Cancel(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	j := waitFor(t, s, r.ID, "final", final)
	if j.State != jobs.Cancelled {
		t.Errorf("cancelled running job = %s, want cancelled", j.State)
	}
}

// TestFinishedNotRerun: a message redelivered after its job's record
// says succeeded (the worker died between recording and acknowledging)
// is acknowledged without running the handler.
func TestFinishedNotRerun(t *testing.T) {
	s := open(t, jobs.Options{})
	j := submit(t, s, "once", `{}`)
	// Play the dead worker: record the end without acknowledging.
	w := open(t, jobs.Options{URL: s.URL()})
	var runs atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- w.Work(ctx, jobs.WorkOptions{PruneEvery: -1, Handlers: map[string]jobs.Handler{"once": func(ctx context.Context, t *jobs.Task) error {
			runs.Add(1)
			return nil
		}}})
	}()
	waitFor(t, s, j.ID, "succeeded", func(j jobs.Job) bool { return j.State == jobs.Succeeded })
	cancel()
	<-done
	// Now publish the same job again as a redelivery would present it.
	if err := jobs.Redeliver(context.Background(), s, j); err != nil {
		t.Fatal(err)
	}
	work(t, s, 1, map[string]jobs.Handler{"once": func(ctx context.Context, t *jobs.Task) error {
		runs.Add(1)
		return nil
	}})
	deadline := time.Now().Add(3 * ackWait)
	for time.Now().Before(deadline) && jobs.Pending(t, s, "once") > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if n := jobs.Pending(t, s, "once"); n != 0 {
		t.Errorf("%d messages still pending, want 0 (acknowledged)", n)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// TestTwoWorkersShareQueue: two workers (separate connections, as two
// processes) take jobs from one queue; each job runs once.
func TestTwoWorkersShareQueue(t *testing.T) {
	s := open(t, jobs.Options{})
	var mu sync.Mutex
	ran := map[string][]string{} // job -> workers
	worker := func(name string) jobs.Handler {
		return func(ctx context.Context, t *jobs.Task) error {
			mu.Lock()
			ran[t.ID] = append(ran[t.ID], name)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond) // long enough that the other worker takes the next job
			return nil
		}
	}
	for _, name := range []string{"a", "b"} {
		w := open(t, jobs.Options{URL: s.URL()})
		work(t, w, 1, map[string]jobs.Handler{"share": worker(name)})
	}
	var ids []string
	for range 10 {
		ids = append(ids, submit(t, s, "share", `{}`).ID)
	}
	per := map[string]int{}
	for _, id := range ids {
		j := waitFor(t, s, id, "final", final)
		if j.State != jobs.Succeeded || j.Attempts != 1 {
			t.Errorf("job %s = %s after %d attempts, want succeeded after 1", id, j.State, j.Attempts)
		}
		mu.Lock()
		if len(ran[id]) != 1 {
			t.Errorf("job %s ran on %v, want one worker", id, ran[id])
		}
		for _, w := range ran[id] {
			per[w]++
		}
		mu.Unlock()
	}
	if per["a"] == 0 || per["b"] == 0 {
		t.Errorf("jobs per worker = %v, want both workers used", per)
	}
}

// TestTwoClientsSeeSameJobs: jobs submitted through one connection (one
// serve replica) are listed, cancelled and deleted through another.
func TestTwoClientsSeeSameJobs(t *testing.T) {
	a := open(t, jobs.Options{})
	b := open(t, jobs.Options{URL: a.URL()})
	ctx := context.Background()
	j := submit(t, a, "nobody", `{"n":1}`)
	list, err := b.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != j.ID || string(list[0].Request) != `{"n":1}` {
		t.Fatalf("List through b = %+v, %v; want the job submitted through a", list, err)
	}
	if _, err := b.Cancel(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Get(ctx, j.ID); got.State != jobs.Cancelled {
		t.Errorf("a sees state %s after b cancelled, want cancelled", got.State)
	}
	if err := b.Delete(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := a.List(ctx); len(list) != 0 {
		t.Errorf("a lists %d jobs after b deleted the only one, want 0", len(list))
	}
}

func TestRetention(t *testing.T) {
	s := open(t, jobs.Options{KeepFinished: 2, MaxAge: time.Hour})
	ctx := context.Background()
	work(t, s, 1, map[string]jobs.Handler{"echo": echo})
	var done []string
	for i := range 4 {
		j := submit(t, s, "echo", fmt.Sprintf(`{"i":%d}`, i))
		waitFor(t, s, j.ID, "final", final) // one at a time: finish times in order
		done = append(done, j.ID)
	}
	queued := submit(t, s, "nobody", `{}`)
	ids, err := s.Prune(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	want := slices.Sorted(slices.Values(done[:2]))
	if !slices.Equal(ids, want) {
		t.Errorf("Prune(now) deleted %v, want the 2 oldest finished %v", ids, want)
	}
	for _, id := range done[2:] {
		if _, err := s.ReadOutput(ctx, id, "out.json"); err != nil {
			t.Errorf("output of kept job %s: %v", id, err)
		}
	}
	for _, id := range done[:2] {
		if _, err := s.ReadOutput(ctx, id, "out.json"); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("output of deleted job %s: %v, want ErrNotFound", id, err)
		}
	}
	// Two hours on, every finished job is older than MaxAge; the queued
	// one stays.
	ids, err = s.Prune(ctx, time.Now().Add(2*time.Hour))
	if err != nil || len(ids) != 2 {
		t.Errorf("Prune(now+2h) = %v, %v; want the 2 remaining finished jobs", ids, err)
	}
	list, _ := s.List(ctx)
	if len(list) != 1 || list[0].ID != queued.ID {
		t.Errorf("after retention %d jobs remain, want only the queued %s", len(list), queued.ID)
	}
}

// The kill -9 test runs a worker in a subprocess: this test binary
// re-executed with helperEnv set to the NATS URL (or "embedded:DIR" for
// a worker with its own embedded server, as `wavenet serve` runs).
const helperEnv = "WAVENET_JOBS_TEST_WORKER"

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(helperWorker(v))
	}
	os.Exit(m.Run())
}

// slowKind is the kind of the job the killed worker runs.
const slowKind = "slow"

// slow stores "checkpoint" then, on the first attempt, waits to be
// killed; later attempts find the checkpoint and store "done".
func slow(ctx context.Context, t *jobs.Task) error {
	if t.Attempt == 1 {
		if _, err := t.Put(ctx, "checkpoint", "", strings.NewReader("step 1")); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	}
	b, err := readAll(ctx, t, "checkpoint")
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	_, err = t.Put(ctx, "done", "", strings.NewReader("resumed from "+b))
	return err
}

func readAll(ctx context.Context, t *jobs.Task, name string) (string, error) {
	r, _, err := t.Open(ctx, name)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}

func helperWorker(v string) int {
	o := jobs.Options{URL: v, AckWait: ackWait}
	if dir, ok := strings.CutPrefix(v, "embedded:"); ok {
		o = jobs.Options{DataDir: dir, AckWait: ackWait}
	}
	s, err := jobs.Open(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(s.URL())
	if err := s.Work(context.Background(), jobs.WorkOptions{Handlers: map[string]jobs.Handler{slowKind: slow}, PruneEvery: -1}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestKill9: a worker killed with SIGKILL mid-job (alone, or together
// with the embedded NATS server it runs, as `wavenet serve` does) leaves
// its job to be redelivered; another worker resumes it from the stored
// checkpoint and it succeeds exactly once.
func TestKill9(t *testing.T) {
	for _, withServer := range []bool{false, true} {
		t.Run(fmt.Sprintf("server_killed=%v", withServer), func(t *testing.T) {
			dir := t.TempDir()
			var s *jobs.Store
			env := ""
			if withServer {
				env = "embedded:" + dir
			} else {
				s = open(t, jobs.Options{DataDir: dir})
				env = s.URL()
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+env)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			var url string
			if _, err := fmt.Fscanln(out, &url); err != nil {
				t.Fatalf("worker subprocess printed no URL: %v", err)
			}
			client := s
			if withServer {
				client = open(t, jobs.Options{URL: url})
			}
			j := submit(t, client, slowKind, `{}`)
			waitFor(t, client, j.ID, "checkpointed", func(j jobs.Job) bool { return len(j.Outputs) == 1 })
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if withServer {
				client.Close()
				s = open(t, jobs.Options{DataDir: dir}) // the restarted server
			}
			if got, _ := s.Get(context.Background(), j.ID); got.State != jobs.Running {
				t.Errorf("after kill -9 the record says %s, want running (nobody recorded the end)", got.State)
			}
			var runs atomic.Int32
			work(t, s, 1, map[string]jobs.Handler{slowKind: func(ctx context.Context, t *jobs.Task) error {
				runs.Add(1)
				return slow(ctx, t)
			}})
			got := waitFor(t, s, j.ID, "final", final)
			if got.State != jobs.Succeeded || got.Attempts != 2 || runs.Load() != 1 {
				t.Errorf("after kill -9: %s after %d attempts, %d runs here; want succeeded after 2 attempts, 1 run", got.State, got.Attempts, runs.Load())
			}
			b, err := s.ReadOutput(context.Background(), j.ID, "done")
			if err != nil || string(b) != "resumed from step 1" {
				t.Errorf("output done = %q, %v; want \"resumed from step 1\"", b, err)
			}
		})
	}
}
