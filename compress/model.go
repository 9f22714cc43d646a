package compress

import (
	"fmt"
	"strings"

	"github.com/wavenet-go/wavenet/wavenet"
)

// PruneOptions say how PruneModel prunes.
type PruneOptions struct {
	Amount Amount
	// Global ranks the weights of all matrices together
	// (prune.global_unstructured); otherwise every matrix loses Amount of
	// its own weights (prune.l1_unstructured per module).
	Global bool
	// Structured prunes whole output channels (rows) of every matrix by
	// their Ln norm (prune.ln_structured, dim 0) instead of single weights.
	Structured bool
	Norm       int // 1 or 2 for Structured (default 2, as PyTorch examples)
}

// Masks are the pruning masks of a model, by parameter name.
type Masks map[string]Mask

// Prunable reports whether the parameter called name is pruned: the
// weight matrices ("*.weight"), not biases nor conditioning embeddings,
// as the torch examples prune Linear/Conv weights only.
func Prunable(name string) bool { return strings.HasSuffix(name, ".weight") }

// PruneModel computes masks for m's weight matrices, applies them (pruned
// weights become zero) and returns them. prev (may be nil) holds the masks
// of earlier rounds: their zeros stay, and an unstructured amount applies to
// the weights still alive, as PyTorch's PruningContainer does in
// iterative pruning.
func PruneModel(m *wavenet.Model, opts PruneOptions, prev Masks) (Masks, error) {
	if m == nil {
		return nil, errNoModel
	}
	var ps []wavenet.Param
	for _, p := range m.Params() {
		if Prunable(p.Name) {
			ps = append(ps, p)
		}
	}
	out := Masks{}
	switch {
	case opts.Structured:
		n := opts.Norm
		if n == 0 {
			n = 2
		}
		for _, p := range ps {
			mk, err := LnStructured(p.Data, p.Shape[0], p.Shape[1], opts.Amount, n)
			if err != nil {
				return nil, fmt.Errorf("compress: prune %s: %w", p.Name, err)
			}
			if old := prev[p.Name]; old != nil {
				for i := range mk {
					mk[i] *= old[i]
				}
			}
			out[p.Name] = mk
		}
	case opts.Global:
		// Global ranking over the alive weights: pruned ones (already
		// zero) are the smallest and are counted again only through prev.
		var ws [][]float32
		alive := 0
		for _, p := range ps {
			ws = append(ws, p.Data)
			for i := range p.Data {
				if old := prev[p.Name]; old == nil || old[i] != 0 {
					alive++
				}
			}
		}
		k, err := opts.Amount.of(alive)
		if err != nil {
			return nil, err
		}
		// The already-pruned weights are zero, so they come first in the
		// ranking: prune them again plus k more.
		total := 0
		for _, p := range ps {
			total += len(p.Data)
		}
		ms, err := GlobalUnstructured(ws, Count(k+total-alive))
		if err != nil {
			return nil, err
		}
		for i, p := range ps {
			if old := prev[p.Name]; old != nil {
				for j := range ms[i] {
					ms[i][j] *= old[j] // a tie among zeros must not revive a pruned weight
				}
			}
			out[p.Name] = ms[i]
		}
	default:
		for _, p := range ps {
			mk, err := L1Unstructured(p.Data, opts.Amount, prev[p.Name])
			if err != nil {
				return nil, fmt.Errorf("compress: prune %s: %w", p.Name, err)
			}
			out[p.Name] = mk
		}
	}
	out.Apply(m)
	return out, nil
}

// Apply zeroes the pruned weights of m (after an optimizer step, say).
func (ms Masks) Apply(m *wavenet.Model) {
	for _, p := range m.Params() {
		if mk := ms[p.Name]; mk != nil {
			mk.Apply(p.Data)
		}
	}
}

// Sparsity is the fraction of zero weights among m's prunable matrices.
func Sparsity(m *wavenet.Model) float64 {
	zero, n := 0, 0
	for _, p := range m.Params() {
		if !Prunable(p.Name) {
			continue
		}
		for _, v := range p.Data {
			if v == 0 {
				zero++
			}
		}
		n += len(p.Data)
	}
	if n == 0 {
		return 0
	}
	return float64(zero) / float64(n)
}
