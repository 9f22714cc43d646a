package dist

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// rankEnv, when set in the environment, makes the test binary one rank of
// a run (its JSON): the tests below start real subprocesses this way.
const rankEnv = "WAVENET_DIST_TEST_RANK"

type rankSpec struct {
	URL, Subject, Dir, Ckpt string // Ckpt "": the run's latest
	Mode                    Mode
	Rank, World             int
	Steps                   int64
	Algorithm               Algorithm
	Timeout                 time.Duration
}

func TestMain(m *testing.M) {
	if s := os.Getenv(rankEnv); s != "" {
		if err := runRank(s); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if errors.Is(err, ErrTimeout) {
				os.Exit(3)
			}
			if errors.Is(err, ErrStopped) {
				os.Exit(4)
			}
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runRank(js string) error {
	var rs rankSpec
	if err := json.Unmarshal([]byte(js), &rs); err != nil {
		return err
	}
	ctx := context.Background()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var wait []int
	if rs.Mode == AsyncMode && rs.Rank > 0 {
		wait = []int{0}
	} else if rs.Mode == AsyncMode {
		wait = []int{}
	}
	net, err := Dial(dctx, rs.URL, rs.Rank, rs.World, NATSOptions{Subject: rs.Subject, Wait: wait})
	if err != nil {
		return err
	}
	defer net.Close()
	ckpt := rs.Ckpt
	if ckpt == "" {
		if ckpt, err = train.LatestCheckpoint(rs.Dir); err != nil {
			return err
		}
	}
	opts := testOptions(rs.Steps)
	opts.ValidateEvery = 0
	opts.CheckpointEvery = 1000
	tr, va := testCorpus(256)
	dopts := Options{Algorithm: rs.Algorithm, Timeout: rs.Timeout}
	var t Trainer
	if rs.Mode == AsyncMode {
		t, err = NewAsync(ctx, net, rs.Dir, ckpt, tr, va, opts, dopts)
	} else {
		t, err = NewSync(ctx, net, rs.Dir, ckpt, tr, va, opts, dopts)
	}
	if err != nil {
		return err
	}
	defer t.Close()
	return t.Run(ctx)
}

// startRanks starts the ranks of specs as subprocesses.
func startRanks(t *testing.T, specs []rankSpec) []*exec.Cmd {
	t.Helper()
	var cmds []*exec.Cmd
	for _, rs := range specs {
		b, _ := json.Marshal(rs)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), rankEnv+"="+string(b))
		cmd.Stderr = &prefixWriter{t: t, prefix: fmt.Sprintf("rank %d: ", rs.Rank)}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		cmds = append(cmds, cmd)
	}
	return cmds
}

// prefixWriter logs a subprocess's output lines.
type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	if s := strings.TrimSpace(string(b)); s != "" {
		w.t.Log(w.prefix + s)
	}
	return len(b), nil
}

// exitCode waits for cmd and returns its exit code.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// specs are the ranks of one run.
func specs(url, subject, dir, ckpt string, mode Mode, world int, steps int64, timeout time.Duration) []rankSpec {
	var out []rankSpec
	for r := range world {
		out = append(out, rankSpec{URL: url, Subject: subject, Dir: dir, Ckpt: ckpt, Mode: mode, Rank: r, World: world,
			Steps: steps, Algorithm: Ring, Timeout: timeout})
	}
	return out
}

// latestModel loads the newest checkpoint of the run in dir and returns
// its model and step.
func latestModel(t *testing.T, dir string) (*wavenet.Model, int64) {
	t.Helper()
	ckpt, err := train.LatestCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	step, err := strconv.ParseInt(filepath.Base(ckpt)[len("step-"):], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wavenet.Load(context.Background(), ckpt)
	if err != nil {
		t.Fatal(err)
	}
	return m, step
}

// waitStep waits until the run in dir has logged step (metrics.jsonl).
func waitStep(t *testing.T, dir string, step int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if f, err := os.Open(filepath.Join(dir, train.MetricsFile)); err == nil {
			sc := bufio.NewScanner(f)
			var last train.Metric
			for sc.Scan() {
				json.Unmarshal(sc.Bytes(), &last)
			}
			f.Close()
			if last.Step >= step {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the run in %s did not reach step %d", dir, step)
}

// TestSyncProcesses: 2 subprocesses over NATS (ring all-reduce) train as
// one process does, within syncTol.
func TestSyncProcesses(t *testing.T) {
	url := natsURL(t)
	ckpt, opts := startRun(t, t.TempDir(), testOptions(4))
	opts.ValidateEvery = 0
	want := reference(t, ckpt, opts)
	dir := t.TempDir()
	for r, cmd := range startRanks(t, specs(url, "proc.sync", dir, ckpt, SyncMode, 2, 4, time.Minute)) {
		if code := exitCode(t, cmd); code != 0 {
			t.Fatalf("rank %d exited with %d", r, code)
		}
	}
	got, step := latestModel(t, dir)
	if d := maxDiff(got, want); step != 4 || d > syncTol {
		t.Errorf("2 processes: step %d, weights differ from one process's by %g, want step 4 within %g", step, d, syncTol)
	}
}

// TestSyncKilledRank: rank 2 of 3 is killed mid-run; the others stop
// within the all-reduce timeout (rank 0 having saved the last finished
// step); the three restarted ranks resume
// and end where one uninterrupted process does.
func TestSyncKilledRank(t *testing.T) {
	url := natsURL(t)
	const steps = 30
	ckpt, opts := startRun(t, t.TempDir(), testOptions(steps))
	opts.ValidateEvery = 0
	dir := t.TempDir()
	cmds := startRanks(t, specs(url, "proc.kill", dir, ckpt, SyncMode, 3, steps, time.Second))
	waitStep(t, dir, 3)
	cmds[2].Process.Kill()
	for r := range 2 {
		// Each waits for the next in the ring: one times out, and tells the
		// other, unless it has timed out too.
		if code := exitCode(t, cmds[r]); code != 3 && code != 4 {
			t.Errorf("rank %d exited with %d after rank 2 was killed, want 3 (timeout) or 4 (stopped by the other)", r, code)
		}
	}
	_, stopped := latestModel(t, dir)
	if stopped < 3 || stopped >= steps {
		t.Fatalf("checkpoint after the kill at step %d, want one between 3 and %d", stopped, steps-1)
	}
	for r, cmd := range startRanks(t, specs(url, "proc.kill2", dir, "", SyncMode, 3, steps, time.Minute)) {
		if code := exitCode(t, cmd); code != 0 {
			t.Fatalf("restarted rank %d exited with %d", r, code)
		}
	}
	got, step := latestModel(t, dir)
	if d := maxDiff(got, reference(t, ckpt, opts)); step != steps || d > syncTol {
		t.Errorf("resumed after a kill at step %d: step %d, weights differ from one process's by %g, want step %d within %g", stopped, step, d, steps, syncTol)
	}
}

// TestAsyncKilledWorker: worker rank 2 of 3 is killed mid-run; the server
// goes on with the other workers to the last update.
func TestAsyncKilledWorker(t *testing.T) {
	url := natsURL(t)
	const steps = 30
	ckpt, _ := startRun(t, t.TempDir(), testOptions(steps))
	dir := t.TempDir()
	cmds := startRanks(t, specs(url, "proc.async", dir, ckpt, AsyncMode, 3, steps, 10*time.Second))
	waitStep(t, dir, 3)
	cmds[2].Process.Kill()
	for r := range 2 {
		if code := exitCode(t, cmds[r]); code != 0 {
			t.Errorf("rank %d exited with %d after worker 2 was killed, want 0", r, code)
		}
	}
	if _, step := latestModel(t, dir); step != steps {
		t.Errorf("server's last checkpoint at step %d, want %d", step, steps)
	}
}
