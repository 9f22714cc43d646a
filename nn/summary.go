package nn

import (
	"fmt"
	"io"
	"strings"
)

// Summary lists a network's layers with their output shapes, parameter
// counts and FLOPs for one sample, like torchinfo's summary.
//
// FLOPs counts 2 per multiply-add of the convolutions and linear layers
// (their biases not counted); batch normalisation, activations, pooling,
// concatenations and residual additions count 0: at inference BN folds
// into the preceding convolution and the rest is small. Params counts the
// trainable values (convolution and linear weights and biases, BN gamma
// and beta), not BN's running statistics.
type Summary struct {
	Rows []SummaryRow
}

// SummaryRow is one layer of a [Summary]. Shape is the output of one
// sample: (C, H, W) for image layers, (F) for vectors.
type SummaryRow struct {
	Name   string
	Shape  []int
	Params int
	FLOPs  int64
}

// Add appends a row.
func (s *Summary) Add(name string, shape []int, params int, flops int64) {
	s.Rows = append(s.Rows, SummaryRow{Name: name, Shape: append([]int(nil), shape...), Params: params, FLOPs: flops})
}

// AddLinear appends the row of a linear layer l (a classification head).
func (s *Summary) AddLinear(name string, l *Linear) {
	s.Add(name, []int{l.Out}, len(l.W)+len(l.B), 2*int64(len(l.W)))
}

// Params is the total parameter count.
func (s *Summary) Params() int {
	n := 0
	for _, r := range s.Rows {
		n += r.Params
	}
	return n
}

// FLOPs is the total FLOPs of one sample (2 per multiply-add).
func (s *Summary) FLOPs() int64 {
	var n int64
	for _, r := range s.Rows {
		n += r.FLOPs
	}
	return n
}

// WriteTo writes the table: one line per layer, then the totals.
func (s *Summary) WriteTo(w io.Writer) (int64, error) {
	width := len("layer")
	for _, r := range s.Rows {
		width = max(width, len(r.Name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-12s  %10s  %12s\n", width, "layer", "output", "params", "FLOPs")
	for _, r := range s.Rows {
		fmt.Fprintf(&b, "%-*s  %-12s  %10d  %12d\n", width, r.Name, shapeString(r.Shape), r.Params, r.FLOPs)
	}
	fmt.Fprintf(&b, "%-*s  %-12s  %10d  %12d\n", width, "total", "", s.Params(), s.FLOPs())
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// String returns the table of WriteTo.
func (s *Summary) String() string {
	var b strings.Builder
	s.WriteTo(&b)
	return b.String()
}

func shapeString(sh []int) string {
	parts := make([]string, len(sh))
	for i, d := range sh {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}
