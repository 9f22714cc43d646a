package compress

import (
	"fmt"
	"math"
	"sort"
)

// Amount is how much to prune, with torch.nn.utils.prune's meaning: a
// Fraction in [0, 1] of the weights (the count is round(fraction * n), with
// Python's round half to even), or an absolute Count.
type Amount struct {
	Fraction float64
	Count    int
	IsCount  bool
}

// Fraction returns an Amount of a fraction of the weights.
func Fraction(f float64) Amount { return Amount{Fraction: f} }

// Count returns an Amount of n weights.
func Count(n int) Amount { return Amount{Count: n, IsCount: true} }

// of returns how many of n items to prune (prune._compute_nparams_toprune).
func (a Amount) of(n int) (int, error) {
	if a.IsCount {
		if a.Count < 0 || a.Count > n {
			return 0, fmt.Errorf("compress: prune: amount %d is outside [0, %d] (the number of weights)", a.Count, n)
		}
		return a.Count, nil
	}
	if math.IsNaN(a.Fraction) || a.Fraction < 0 || a.Fraction > 1 {
		return 0, fmt.Errorf("compress: prune: fraction %v is outside [0, 1]", a.Fraction)
	}
	return int(math.RoundToEven(a.Fraction * float64(n))), nil
}

// Mask marks kept weights with 1 and pruned ones with 0, as the
// weight_mask buffers of torch.nn.utils.prune; applying it after every
// optimizer step keeps pruned weights at zero during fine-tuning.
type Mask []float32

// Apply zeroes the pruned weights of w.
func (m Mask) Apply(w []float32) {
	for i, k := range m {
		if k == 0 {
			w[i] = 0
		}
	}
}

// Sparsity is the fraction of pruned entries.
func (m Mask) Sparsity() float64 {
	z := 0
	for _, k := range m {
		if k == 0 {
			z++
		}
	}
	return float64(z) / float64(len(m))
}

// smallest returns the indices of the k entries of smallest |value| (ties
// broken by index, so the result is deterministic), among those with
// keep[i] still 1 when keep is not nil.
func smallest(vals []float32, k int) []int {
	idx := make([]int, len(vals))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return math.Abs(float64(vals[idx[a]])) < math.Abs(float64(vals[idx[b]]))
	})
	return idx[:k]
}

// L1Unstructured returns the mask that prunes the amount of w's entries of
// smallest absolute value, as prune.l1_unstructured. Entries already pruned
// by prev (may be nil) stay pruned and are pruned first, as PyTorch's
// PruningContainer applies a new amount to the remaining weights.
func L1Unstructured(w []float32, amount Amount, prev Mask) (Mask, error) {
	if prev != nil && len(prev) != len(w) {
		return nil, fmt.Errorf("compress: prune: mask has %d entries, weights %d", len(prev), len(w))
	}
	alive := make([]int, 0, len(w))
	for i := range w {
		if prev == nil || prev[i] != 0 {
			alive = append(alive, i)
		}
	}
	k, err := amount.of(len(alive))
	if err != nil {
		return nil, err
	}
	vals := make([]float32, len(alive))
	for j, i := range alive {
		vals[j] = w[i]
	}
	m := make(Mask, len(w))
	for i := range m {
		m[i] = 1
		if prev != nil {
			m[i] = prev[i]
		}
	}
	for _, j := range smallest(vals, k) {
		m[alive[j]] = 0
	}
	return m, nil
}

// GlobalUnstructured prunes the amount of the smallest-magnitude weights
// across all tensors together, as prune.global_unstructured with
// L1Unstructured: layers with small weights lose more.
func GlobalUnstructured(ws [][]float32, amount Amount) ([]Mask, error) {
	var all []float32
	for _, w := range ws {
		all = append(all, w...)
	}
	m, err := L1Unstructured(all, amount, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Mask, len(ws))
	off := 0
	for i, w := range ws {
		out[i] = m[off : off+len(w)]
		off += len(w)
	}
	return out, nil
}

// LnStructured prunes whole output channels (rows of w, (rows, cols)) of
// smallest Ln norm (n = 1 or 2), as prune.ln_structured with dim=0.
func LnStructured(w []float32, rows, cols int, amount Amount, n int) (Mask, error) {
	if rows <= 0 || cols <= 0 || len(w) != rows*cols {
		return nil, fmt.Errorf("compress: prune: %d weights do not make a (%d, %d) matrix", len(w), rows, cols)
	}
	if n != 1 && n != 2 {
		return nil, fmt.Errorf("compress: prune: norm %d, want 1 or 2", n)
	}
	k, err := amount.of(rows)
	if err != nil {
		return nil, err
	}
	norms := make([]float32, rows)
	for r := 0; r < rows; r++ {
		s := 0.0
		for _, v := range w[r*cols : (r+1)*cols] {
			if n == 1 {
				s += math.Abs(float64(v))
			} else {
				s += float64(v) * float64(v)
			}
		}
		norms[r] = float32(s)
	}
	m := make(Mask, len(w))
	for i := range m {
		m[i] = 1
	}
	for _, r := range smallest(norms, k) {
		for c := 0; c < cols; c++ {
			m[r*cols+c] = 0
		}
	}
	return m, nil
}
