package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRLTrainThenEval(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb}
	err := runRL(context.Background(), env, []string{"train", "--env", "FrozenLake-v1-nonslippery",
		"--agent", "q-learning", "--episodes", "2000", "--seed", "3", "--out", dir})
	if err != nil {
		t.Fatalf("rl train: %v\n%s", err, errb.String())
	}
	var res struct {
		EvalMean float64 `json:"eval_mean"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("rl train printed %q, not JSON: %v", out.String(), err)
	}
	// Without slipping, the greedy policy of a trained table always reaches G.
	if res.EvalMean != 1 {
		t.Errorf("eval_mean = %v, want 1 on the non-slippery lake", res.EvalMean)
	}
	for _, f := range []string{"summary.json", "policy.json", "learning-curve.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run dir lacks %s: %v", f, err)
		}
	}
	out.Reset()
	if err := runRL(context.Background(), env, []string{"eval", "--run", dir, "--episodes", "10"}); err != nil {
		t.Fatalf("rl eval: %v", err)
	}
	if !strings.HasPrefix(out.String(), "mean return 1.0000 over 10 episodes") {
		t.Errorf("rl eval printed %q", out.String())
	}
	if err := runRL(context.Background(), env, []string{"train", "--env", "Pong", "--agent", "q-learning", "--out", dir}); err == nil ||
		!strings.Contains(err.Error(), "unknown environment") {
		t.Errorf("rl train --env Pong: err = %v, want unknown environment", err)
	}
}
