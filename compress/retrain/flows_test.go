package retrain

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/corpus"
)

func TestSpread(t *testing.T) {
	utts := make([]*corpus.Utterance, 10)
	for i := range utts {
		utts[i] = &corpus.Utterance{Name: string(rune('a' + i))}
	}
	tests := []struct {
		n    int
		want string
	}{
		{0, "abcdefghij"}, {10, "abcdefghij"}, {20, "abcdefghij"},
		{4, "acfh"}, // indices i*10/4: 0, 2, 5, 7
		{1, "a"},
	}
	for _, tt := range tests {
		var b strings.Builder
		for _, u := range spread(utts, tt.n) {
			b.WriteString(u.Name)
		}
		if b.String() != tt.want {
			t.Errorf("spread(a..j, %d) = %s, want %s", tt.n, b.String(), tt.want)
		}
	}
}

func TestMeasurementString(t *testing.T) {
	tests := []struct {
		r    Measurement
		want string
	}{
		{Measurement{Name: "q8", Format: "int8", Bytes: 1000, Ratio: 0.25, Sparsity: 0, Bits: math.NaN()},
			"q8: int8, 1000 bytes (25.0% of fp32), sparsity 0.0%"},
		{Measurement{Name: "p", Format: "fp32", Bytes: 4000, Ratio: 1, Sparsity: 0.5, Bits: 2.5, Speed1: 100, Speed16: 900, CPUSpeed1: 110, CPUSpd16: 95, Int8Gen: true},
			"p: fp32, 4000 bytes (100.0% of fp32), sparsity 50.0%, validation 2.5000 bits/sample, int8 generator: 100 samples/s (1 stream), 900 samples/s (16 streams); per CPU second 110 and 95"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v.String() =\n%s\nwant\n%s", tt.r, got, tt.want)
		}
	}
}

func TestPruneFlow(t *testing.T) {
	ctx := context.Background()
	trainUtts, val := testCorpus(32)
	m := testModel(t, 1)
	var lines []string
	var finals int
	res, err := Prune(ctx, m, PruneOptions{Amount: 0.5, Rounds: 2, FineTune: Options{Steps: 1, Segment: 20, Workers: 1, Seed: 1},
		Train: trainUtts, Val: val, Sweep: true, DenseControl: true, ValWorkers: 1, Source: "dense",
		Progress: func(e Event) {
			if e.Stage == "" {
				lines = append(lines, e.Line)
			} else if e.Final {
				finals++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if got := compress.Sparsity(m); math.Abs(got-0.5) > 0.01 { // rounding of each matrix's count
		t.Errorf("Prune(0.5): sparsity %v, want 0.5", got)
	}
	if len(res.Rounds) != 2 || len(res.OneShot) != 9 || math.IsNaN(res.Dense) || math.IsNaN(res.DenseFineTuned) || !res.HasCurve() {
		t.Errorf("Prune result %+v: want 2 rounds, 9 sweep points, dense bits and the control", res)
	}
	// Dense score, sweep notice, control; two stages (control, rounds) closed.
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "compress: dense model dense: validation ") || finals != 2 {
		t.Errorf("Prune progress lines %q, %d stages finished; want 3 lines, the first naming the dense model, and 2 stages", lines, finals)
	}
	png := filepath.Join(t.TempDir(), "s.png")
	if err := res.WriteCurve(png); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(strings.TrimSuffix(png, ".png") + ".json"); err != nil || !strings.Contains(string(b), "dense_fine_tuned_bits") {
		t.Errorf("WriteCurve JSON = %s, %v; want dense_fine_tuned_bits", b, err)
	}
}

func TestReportFlow(t *testing.T) {
	ctx := context.Background()
	_, val := testCorpus(32)
	m := testModel(t, 1)
	p := m.Clone()
	if _, err := compress.PruneModel(p, compress.PruneOptions{Amount: compress.Fraction(0.5), Global: true}, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := Report(ctx, m, ReportOptions{Pruned: []Named{{"p50", p}}, Val: val, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || rows[0].Ratio != 1 || !(rows[1].Ratio < 0.6) || rows[5].Name != "p50 (sparsity 50%)" {
		t.Fatalf("Report rows %+v: want fp32 (ratio 1), fp16 (about half), bf16, two int8, p50", rows)
	}
	for _, r := range rows {
		if math.IsNaN(r.Bits) || r.Speed1 != 0 {
			t.Errorf("Report row %s: bits %v, speed %v; want validation bits and no speed without Bench", r.Name, r.Bits, r.Speed1)
		}
	}
	var b strings.Builder
	if err := WriteReport(&b, "run", m, len(val), 0, rows); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n| "); n != 7 { // header and six rows (the separator starts "|---")
		t.Errorf("WriteReport wrote %d table rows, want 7:\n%s", n, b.String())
	}
}

func TestMeasurementJSON(t *testing.T) {
	for _, tc := range []struct {
		bits float64
		want string // the val_bits_per_sample field as written
	}{
		{math.NaN(), `"val_bits_per_sample":null`},
		{4.25, `"val_bits_per_sample":4.25`},
	} {
		b, err := json.Marshal(Measurement{Name: "int8", Bits: tc.bits})
		if err != nil {
			t.Fatalf("Marshal(Bits %v): %v", tc.bits, err)
		}
		if !strings.Contains(string(b), tc.want) || strings.Count(string(b), "val_bits_per_sample") != 1 {
			t.Errorf("Marshal(Bits %v) = %s, want one %s", tc.bits, b, tc.want)
		}
	}
}

// Prune refuses fine-tuning without training utterances before it prunes
// (the model is left dense) rather than reporting NaN bits.
func TestPruneFineTuneNeedsTrain(t *testing.T) {
	m := testModel(t, 1)
	_, err := Prune(context.Background(), m, PruneOptions{Amount: 0.3, Rounds: 1, FineTune: Options{Steps: 1, Segment: 20, Workers: 1, Seed: 1}})
	if err == nil || !strings.Contains(err.Error(), "training utterances") {
		t.Errorf("Prune(fine-tune 1 step, no Train) = %v, want an error naming the training utterances", err)
	}
	if s := compress.Sparsity(m); s != 0 {
		t.Errorf("Prune(fine-tune 1 step, no Train) left sparsity %v, want 0 (nothing pruned)", s)
	}
}
