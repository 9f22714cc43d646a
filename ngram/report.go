package ngram

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Sum accumulates cross-entropy over files.
type Sum struct {
	Files, Samples int
	Nats           float64
}

// Add counts one file of n predictions costing nats in all.
func (s *Sum) Add(nats float64, n int) {
	s.Files++
	s.Samples += n
	s.Nats += nats
}

// Bits is the mean cost in bits per sample.
func (s Sum) Bits() float64 { return s.Nats / float64(s.Samples) / math.Ln2 }

// Score is one recording's cost under a model and, in a report with a
// baseline, under the trigram.
type Score struct {
	Name string
	// Label and Speaker group the file (from an FSDD name
	// {digit}_{speaker}_*.wav); Grouped false leaves it out of the groups.
	Label, Speaker string
	Grouped        bool
	Samples        int     // predictions scored
	Nats           float64 // the model's cross-entropy over them, summed
	TrigramBits    float64 // the trigram's over the same predictions, summed
}

// Report writes `wavenet score`'s table as files are scored: one row per
// file, then the sums per label and per speaker and the overall bits per
// sample, beside the uniform bar of log2(Q) and, with a baseline, the
// trigram's and the difference.
type Report struct {
	w        io.Writer
	q        int
	baseline bool
	all, tri Sum
	groups   [2]struct{ model, tri map[string]*Sum } // label, speaker
}

// ErrNothingScored is Report.Close's error when no file had a prediction.
var ErrNothingScored = errors.New("no file had at least 2 samples to score")

// NewReport starts a report to w for a model over q codes, with a
// trigram column when baseline is set. It writes nothing yet.
func NewReport(w io.Writer, q int, baseline bool) *Report {
	r := &Report{w: w, q: q, baseline: baseline}
	for i := range r.groups {
		r.groups[i].model, r.groups[i].tri = map[string]*Sum{}, map[string]*Sum{}
	}
	return r
}

// WriteHeader writes the table's header line.
func (r *Report) WriteHeader() error {
	var err error
	if r.baseline {
		_, err = fmt.Fprintf(r.w, "%-40s %9s %12s %12s %9s\n", "file", "samples", "bits/sample", "trigram", "diff")
	} else {
		_, err = fmt.Fprintf(r.w, "%-40s %9s %12s\n", "file", "samples", "bits/sample")
	}
	return err
}

// Skip writes the row of a file that could not be scored, and why.
func (r *Report) Skip(name, why string) error {
	_, err := fmt.Fprintf(r.w, "%-40s %9d %12s\n", name, 0, why)
	return err
}

// Add counts s and writes its row.
func (r *Report) Add(s Score) error {
	r.all.Add(s.Nats, s.Samples)
	bits := s.Nats / float64(s.Samples) / math.Ln2
	if !r.baseline {
		_, err := fmt.Fprintf(r.w, "%-40s %9d %12.4f\n", s.Name, s.Samples, bits)
		r.group(s, false)
		return err
	}
	r.tri.Add(s.TrigramBits*math.Ln2, s.Samples) // sums are kept in nats
	r.group(s, true)
	_, err := fmt.Fprintf(r.w, "%-40s %9d %12.4f %12.4f %+9.4f\n", s.Name, s.Samples, bits, s.TrigramBits/float64(s.Samples),
		(s.Nats/math.Ln2-s.TrigramBits)/float64(s.Samples))
	return err
}

func (r *Report) group(s Score, tri bool) {
	if !s.Grouped {
		return
	}
	for i, key := range []string{s.Label, s.Speaker} {
		add(r.groups[i].model, key, s.Nats, s.Samples)
		if tri {
			add(r.groups[i].tri, key, s.TrigramBits*math.Ln2, s.Samples)
		}
	}
}

func add(sums map[string]*Sum, key string, nats float64, n int) {
	s := sums[key]
	if s == nil {
		s = &Sum{}
		sums[key] = s
	}
	s.Add(nats, n)
}

// Overall returns the model's and the trigram's sums over all files.
func (r *Report) Overall() (model, trigram Sum) { return r.all, r.tri }

// Close writes the per-label and per-speaker tables and the overall line.
// It returns ErrNothingScored if no file was scored.
func (r *Report) Close() error {
	titles := [2]string{"label (digit, from {digit}_{speaker}_*.wav names)", "speaker"}
	for i, g := range r.groups {
		r.writeGroup(titles[i], g.model, g.tri)
	}
	if r.all.Samples == 0 {
		return ErrNothingScored
	}
	_, err := fmt.Fprintf(r.w, "\noverall: %d files %d samples %.4f bits/sample (uniform over %d codes: %.4f)\n",
		r.all.Files, r.all.Samples, r.all.Bits(), r.q, math.Log2(float64(r.q)))
	if err == nil && r.baseline {
		_, err = fmt.Fprintf(r.w, "trigram baseline: %.4f bits/sample; model - trigram: %+.4f bits/sample (the default voice's bar: -1 or lower, overall and per speaker)\n",
			r.tri.Bits(), r.all.Bits()-r.tri.Bits())
	}
	return err
}

// writeGroup writes one group's bits per sample by key; with a baseline
// beside the trigram's and their difference.
func (r *Report) writeGroup(title string, sums, tris map[string]*Sum) {
	if len(sums) == 0 {
		return
	}
	fmt.Fprintf(r.w, "\nper %s:\n", title)
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !r.baseline {
		for _, k := range keys {
			s := sums[k]
			fmt.Fprintf(r.w, "  %-12s %4d files %9d samples %8.4f bits/sample\n", k, s.Files, s.Samples, s.Bits())
		}
		return
	}
	fmt.Fprintf(r.w, "  %-12s %10s %9s %12s %12s %9s\n", "", "files", "samples", "model", "trigram", "diff")
	for _, k := range keys {
		s, t := sums[k], tris[k]
		fmt.Fprintf(r.w, "  %-12s %4d files %9d %12.4f %12.4f %+9.4f\n", k, s.Files, s.Samples, s.Bits(), t.Bits(), s.Bits()-t.Bits())
	}
}
