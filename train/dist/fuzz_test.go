package dist

import (
	"testing"

	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// FuzzDecode feeds Decode, decodePull and decodeFlow (what a rank reads
// from the network) arbitrary bytes: errors, never panics.
func FuzzDecode(f *testing.F) {
	x := randVec(3, 300)
	for _, c := range []Codec{F32, BF16, Int8} {
		f.Add(NewCompressor(c, len(x)).Encode(append([]float32(nil), x...), 0))
	}
	m := wavenettest.Tiny(f, 1, wavenettest.FSDD())
	b := newBatch(2, false)
	for i := range b.segs {
		b.segs[i], b.conds[i] = make([]int32, 5), []int{1, 0}
	}
	var params []nn.Param
	for _, p := range m.Params() {
		params = append(params, nn.Param{Name: p.Name, Value: p.Data})
	}
	f.Add(encodePull(7, params, b))
	f.Add(encodeStop())
	f.Add(encodeFlow(flow{m: 1, x: x[:20], skip: x[20:30]}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		Decode(make([]float32, 300), msg)
		decodePull(msg, m.Clone().Params(), 2, false)
		decodePull(msg, m.Clone().Params(), 2, true)
		decodeFlow(msg)
	})
}
