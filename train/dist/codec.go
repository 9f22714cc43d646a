package dist

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/wavenet-go/wavenet/internal/safetensors"
)

// Codec is how float32 vectors (gradients) travel.
type Codec string

const (
	F32  Codec = "f32"  // exact, 4 bytes a value
	BF16 Codec = "bf16" // bfloat16 rounded to nearest even, 2 bytes
	Int8 Codec = "int8" // int8 times a float32 scale per block of 256 values (max |x| / 127), 1 byte and 1/64
)

// ParseCodec reads a codec name ("" is F32).
func ParseCodec(s string) (Codec, error) {
	switch c := Codec(s); c {
	case "":
		return F32, nil
	case F32, BF16, Int8:
		return c, nil
	}
	return "", fmt.Errorf("dist: unknown gradient codec %q (want f32, bf16 or int8)", s)
}

// int8Block is the number of values sharing one int8 scale: one scale for
// a whole gradient lets its largest values round the rest to zero.
const int8Block = 256

// Compressor encodes the pieces of one float32 vector of fixed length with
// a codec and error feedback: the rounding error of each position is kept
// and added to the value sent at that position next time, so what a run of
// messages delivers sums to what was given, up to the last residual (the
// compression is unbiased over steps). With F32 there is no error.
type Compressor struct {
	Codec    Codec
	residual []float32 // by position in the vector; nil for F32
}

// NewCompressor is a compressor for vectors of n values.
func NewCompressor(c Codec, n int) *Compressor {
	cp := &Compressor{Codec: c}
	if c != F32 {
		cp.residual = make([]float32, n)
	}
	return cp
}

// Residual is the error carried to the next message at each position
// (nil for F32).
func (c *Compressor) Residual() []float32 { return c.residual }

// Encode returns x, positions off.. of the vector, as safetensors bytes
// in the codec, after adding the residual of those positions, and sets x
// to the values the receiver decodes (so a sender can use exactly what
// the others see).
func (c *Compressor) Encode(x []float32, off int) []byte {
	var ts []safetensors.Tensor
	shape := []int{len(x)}
	switch c.Codec {
	case F32, "":
		ts = append(ts, safetensors.FromFloat32("v", shape, x, safetensors.F32))
	case BF16:
		r := c.residual[off : off+len(x)]
		for i := range x {
			y := x[i] + r[i]
			x[i] = safetensors.BF16ToFloat32(safetensors.Float32ToBF16(y))
			r[i] = y - x[i]
		}
		ts = append(ts, safetensors.FromFloat32("v", shape, x, safetensors.BF16))
	case Int8:
		r := c.residual[off : off+len(x)]
		scales := make([]float32, (len(x)+int8Block-1)/int8Block)
		q := make([]byte, len(x))
		for b := range scales {
			lo, hi := b*int8Block, min((b+1)*int8Block, len(x))
			var maxAbs float32
			for i := lo; i < hi; i++ {
				x[i] += r[i]
				maxAbs = max(maxAbs, float32(math.Abs(float64(x[i]))))
			}
			scale := maxAbs / 127
			for i := lo; i < hi; i++ {
				y := x[i]
				var v int8
				if scale > 0 {
					v = int8(max(-127, min(127, math.Round(float64(y/scale)))))
				}
				q[i] = byte(v)
				x[i] = float32(v) * scale
				r[i] = y - x[i]
			}
			scales[b] = scale
		}
		ts = append(ts, safetensors.Tensor{Name: "v", DType: safetensors.I8, Shape: shape, Data: q},
			safetensors.FromFloat32("scale", []int{len(scales)}, scales, safetensors.F32))
	default:
		panic("dist: unknown codec " + string(c.Codec))
	}
	return writeTensors(ts, map[string]string{"codec": string(c.Codec)})
}

// Decode writes the vector piece that Encode made into dst (of the same
// length) and returns it.
func Decode(dst []float32, b []byte) ([]float32, error) {
	f, err := safetensors.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("dist: decode: %w", err)
	}
	v, ok := f.Tensor("v")
	if !ok || len(v.Shape) != 1 || v.Shape[0] != len(dst) {
		return nil, fmt.Errorf("dist: decode: want a tensor v of %d values", len(dst))
	}
	if v.DType == safetensors.I8 {
		st, ok := f.Tensor("scale")
		if !ok {
			return nil, fmt.Errorf("dist: decode: int8 without a scale")
		}
		s, err := st.Float32s()
		if err != nil || len(s) != (len(dst)+int8Block-1)/int8Block {
			return nil, fmt.Errorf("dist: decode: bad scales")
		}
		if len(v.Data) != len(dst) {
			return nil, fmt.Errorf("dist: decode: %d int8 bytes for %d values", len(v.Data), len(dst))
		}
		for i, q := range v.Data {
			dst[i] = float32(int8(q)) * s[i/int8Block]
		}
		return dst, nil
	}
	if err := decodeFloats(dst, v); err != nil {
		return nil, err
	}
	return dst, nil
}

// decodeFloats decodes an F32 or BF16 tensor of len(dst) values into dst.
func decodeFloats(dst []float32, t safetensors.Tensor) error {
	switch {
	case t.DType == safetensors.F32 && len(t.Data) == 4*len(dst):
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case t.DType == safetensors.BF16 && len(t.Data) == 2*len(dst):
		for i := range dst {
			dst[i] = safetensors.BF16ToFloat32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	default:
		return fmt.Errorf("dist: decode: tensor %s: %s of %d bytes for %d values", t.Name, t.DType, len(t.Data), len(dst))
	}
	return nil
}

func writeTensors(ts []safetensors.Tensor, meta map[string]string) []byte {
	var b bytes.Buffer
	if err := safetensors.Write(&b, ts, meta); err != nil {
		panic("dist: safetensors.Write: " + err.Error()) // only for bad names or shapes: ours are fixed
	}
	return b.Bytes()
}

// int32Tensor is v, (shape), as an I32 tensor.
func int32Tensor(name string, shape []int, v []int32) safetensors.Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return safetensors.Tensor{Name: name, DType: safetensors.I32, Shape: shape, Data: b}
}

// int32s decodes an I32 tensor.
func int32s(t safetensors.Tensor) ([]int32, error) {
	if t.DType != safetensors.I32 || len(t.Data) != 4*t.NumElements() {
		return nil, fmt.Errorf("dist: tensor %s: want I32, have %s of %d bytes", t.Name, t.DType, len(t.Data))
	}
	v := make([]int32, len(t.Data)/4)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return v, nil
}
