package cli

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

func TestAverageCommand(t *testing.T) {
	ctx := context.Background()
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var ms []*wavenet.Model
	var dirs []string
	for s := range uint64(2) {
		m, err := wavenet.New(cfg, rand.New(rand.NewPCG(s, 3)))
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(dir, "step", string(rune('a'+s)))
		extra := map[string][]byte{}
		if s == 0 {
			extra[speech.StatsFile] = []byte(`{"marker": true}`)
		}
		if err := wavenet.Save(ctx, d, m, extra); err != nil {
			t.Fatal(err)
		}
		ms, dirs = append(ms, m), append(dirs, d)
	}
	out := filepath.Join(dir, "avg")
	if _, stderr, err := runCmd(ctx, runAverage, append([]string{"--out", out}, dirs...)...); err != nil {
		t.Fatalf("average: %v\n%s", err, stderr)
	}
	avg, err := wavenet.Load(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	a, b := ms[0].Params(), ms[1].Params()
	for i, p := range avg.Params() {
		for j, v := range p.Data {
			if want := (float64(a[i].Data[j]) + float64(b[i].Data[j])) / 2; math.Abs(float64(v)-want) > 1e-7 {
				t.Fatalf("%s[%d] = %g, want %g", p.Name, j, v, want)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, speech.StatsFile)); err != nil || string(b) != `{"marker": true}` {
		t.Errorf("speech.json of the average = %q, %v; want the first checkpoint's", b, err)
	}
	for _, args := range [][]string{{"--out", out}, {dirs[0]}, {"--out", dirs[0], dirs[0]}} {
		if _, _, err := runCmd(ctx, runAverage, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("average %q = %v, want a usage error", args, err)
		}
	}
	if _, _, err := runCmd(ctx, runAverage, "--out", filepath.Join(dir, "x"), filepath.Join(dir, "missing")); err == nil {
		t.Errorf("average of a missing checkpoint = nil error, want an error")
	}
}

func TestAverageNull(t *testing.T) {
	ctx := context.Background()
	dir, m := genTestModel(t, true)
	out := filepath.Join(t.TempDir(), "null")
	if _, stderr, err := runCmd(ctx, runAverage, "--null", "--out", out, dir); err != nil {
		t.Fatalf("average --null: %v\n%s", err, stderr)
	}
	n, err := wavenet.Load(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range n.Config.Conditions {
		if !c.Null {
			t.Errorf("condition %s has no null row after average --null", c.Name)
		}
	}
	codes := make([]int32, 50)
	for i := range codes {
		codes[i] = int32(i * 5 % 256)
	}
	a, _ := m.Forward(ctx, nil, codes, []int{1, 7})
	b, err := n.Forward(ctx, nil, codes, []int{1, 7})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %g after average --null of one checkpoint, %g before; want identical", i, b[i], a[i])
		}
	}
	if _, err := n.Forward(ctx, nil, codes, []int{1, 10}); err != nil {
		t.Errorf("Forward with the digit's null row: %v", err)
	}
}
