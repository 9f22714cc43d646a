package wavenet

import (
	"errors"
	"math/rand/v2"
	"slices"
)

// Grow returns a copy of m with residual blocks of the given dilations
// appended to the stack, which widens the receptive field of a trained
// model. The new blocks' gate weights are drawn from rng as New draws
// them; their residual and skip outputs start at zero, so the grown model
// computes exactly what m computes until training moves them.
func (m *Model) Grow(dilations []int, rng *rand.Rand) (*Model, error) {
	if len(dilations) == 0 {
		return nil, errors.New("wavenet: grow: no dilations to add")
	}
	cfg := m.Config
	cfg.Dilations = append(slices.Clone(m.Config.Dilations), dilations...)
	g, err := New(cfg, rng)
	if err != nil {
		return nil, err
	}
	old := map[string][]float32{}
	for _, p := range m.Params() {
		old[p.Name] = p.Data
	}
	for _, p := range g.Params() {
		if src, ok := old[p.Name]; ok {
			copy(p.Data, src)
		}
	}
	for i := len(m.Layers); i < len(g.Layers); i++ {
		l := &g.Layers[i]
		for _, d := range []Dense{l.Res, l.Skip} {
			clear(d.W)
			clear(d.B)
		}
	}
	return g, nil
}

// WithNull returns a copy of m in which every condition has a null row
// (Condition.Null), for training with conditioning dropout. A missing null
// row starts as the mean of the condition's value rows, the embedding of
// "every value a little"; conditions that have one keep it. The rows of
// the values are unchanged, so the copy computes what m computes for
// every value.
func (m *Model) WithNull() *Model { return m.withNull(false) }

// WithMeanNull is WithNull with every null row set to the mean of its
// condition's value rows, existing ones included (a null row that was not
// trained goes stale when the value rows are trained on).
func (m *Model) WithMeanNull() *Model { return m.withNull(true) }

func (m *Model) withNull(reset bool) *Model {
	c := m.Clone()
	c.Config.Conditions = slices.Clone(m.Config.Conditions) // Clone shares the config's slices
	for ci, cond := range m.Config.Conditions {
		if cond.Null && !reset {
			continue
		}
		n := len(cond.Values)
		for l := range c.Layers {
			rows := c.Layers[l].Cond[ci]
			w := len(rows) / cond.Rows()
			mean := make([]float32, w)
			for h := range n {
				for j, v := range rows[h*w : (h+1)*w] {
					mean[j] += v
				}
			}
			for j := range mean {
				mean[j] /= float32(n)
			}
			c.Layers[l].Cond[ci] = append(rows[:n*w], mean...)
		}
		cond.Values = slices.Clone(cond.Values)
		cond.Null = true
		c.Config.Conditions[ci] = cond
	}
	return c
}
