package compress

import (
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// FuzzLoadInt8 feeds mutated int8 weight files to wavenet's loader: it must
// return a model or an error, never panic. The seeds are int8 files of the
// tiny test model in two schemes.
func FuzzLoadInt8(f *testing.F) {
	m := testModel(f, 1)
	for _, o := range []SaveOptions{
		{Format: Int8, DType: QInt8, PerChannel: true},
		{Format: Int8, DType: QUInt8, Scheme: Symmetric},
	} {
		b, err := MarshalInt8(m, o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cfg := m.Config
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, _, err := wavenet.UnmarshalSafetensors(cfg, b); err == nil {
			if err := q.CheckShapes(); err != nil {
				t.Errorf("UnmarshalSafetensors returned a model with bad shapes: %v", err)
			}
		}
	})
}
