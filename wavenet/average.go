package wavenet

import (
	"errors"
	"fmt"
	"reflect"
)

// Average returns a model whose every weight is the mean of that weight in
// ms, which must share one configuration (a checkpoint that records no
// Preprocess counts as one that records DefaultPreprocess). Averaging checkpoints from late
// in one run (Polyak averaging) smooths out the noise of the last
// optimizer steps.
func Average(ms ...*Model) (*Model, error) {
	if len(ms) == 0 {
		return nil, errors.New("wavenet: average of no models")
	}
	out, err := NewZero(ms[0].Config)
	if err != nil {
		return nil, err
	}
	dst := out.Params()
	sum := make([][]float64, len(dst))
	for i, p := range dst {
		sum[i] = make([]float64, len(p.Data))
	}
	for k, m := range ms {
		if !reflect.DeepEqual(m.Config.withPreprocessing(), ms[0].Config.withPreprocessing()) {
			return nil, fmt.Errorf("wavenet: average: model %d has another configuration than model 0", k)
		}
		if err := m.CheckShapes(); err != nil {
			return nil, fmt.Errorf("wavenet: average: model %d: %w", k, err)
		}
		for i, p := range m.Params() {
			for j, v := range p.Data {
				sum[i][j] += float64(v)
			}
		}
	}
	for i, p := range dst {
		for j := range p.Data {
			p.Data[j] = float32(sum[i][j] / float64(len(ms)))
		}
	}
	return out, nil
}

// withPreprocessing is c with Preprocess set to what Preprocessing says,
// so that configurations that process audio alike compare equal.
func (c Config) withPreprocessing() Config {
	p := c.Preprocessing()
	c.Preprocess = &p
	return c
}
