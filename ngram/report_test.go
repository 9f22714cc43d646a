package ngram

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	var b strings.Builder
	r := NewReport(&b, 256, true)
	r.WriteHeader()
	// Costs in whole bits, given in nats as a model returns them: 2 and 3
	// bits/sample for the model, 4 and 4 for the trigram.
	r.Add(Score{Name: "0_ann_5.wav", Label: "0", Speaker: "ann", Grouped: true, Samples: 10, Nats: 20 * math.Ln2, TrigramBits: 40})
	r.Skip("1_ann_5.wav", "too short")
	r.Add(Score{Name: "x.wav", Samples: 30, Nats: 90 * math.Ln2, TrigramBits: 120})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	model, tri := r.Overall()
	// Overall: (20 + 90) / 40 = 2.75 bits, trigram 160 / 40 = 4.
	if math.Abs(model.Bits()-2.75) > 1e-12 || math.Abs(tri.Bits()-4) > 1e-12 || model.Files != 2 {
		t.Errorf("Overall() = %+v (%v bits), %+v (%v bits); want 2 files, 2.75 and 4 bits", model, model.Bits(), tri, tri.Bits())
	}
	for _, want := range []string{
		"0_ann_5.wav                                     10       2.0000       4.0000   -2.0000\n",
		"1_ann_5.wav                                      0    too short\n",
		"x.wav                                           30       3.0000       4.0000   -1.0000\n",
		"\nper speaker:\n",
		"  ann             1 files        10       2.0000       4.0000   -2.0000\n",
		"\noverall: 2 files 40 samples 2.7500 bits/sample (uniform over 256 codes: 8.0000)\n",
		"trigram baseline: 4.0000 bits/sample; model - trigram: -1.2500 bits/sample",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "x.wav\n") || strings.Count(b.String(), "  ann ") != 1 {
		t.Errorf("ungrouped x.wav or the skipped file counted in a group:\n%s", b.String())
	}
	if err := NewReport(&b, 256, false).Close(); !errors.Is(err, ErrNothingScored) {
		t.Errorf("Close() of an empty report = %v, want ErrNothingScored", err)
	}
}
