package safetensors

import (
	"encoding/binary"
	"math"
)

// Float32s decodes a floating-point tensor (F32, F16, BF16 or F64) to
// float32. F64 values outside float32's range become ±Inf.
func (t Tensor) Float32s() ([]float32, error) {
	n, ok := numBytes(t.Shape, t.DType, uint64(len(t.Data)))
	if !ok || n != uint64(len(t.Data)) {
		return nil, formatErr(t.Name, "%d data bytes do not match shape %v of %s", len(t.Data), t.Shape, t.DType)
	}
	b := t.Data
	switch t.DType {
	case F32:
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v, nil
	case F16:
		v := make([]float32, len(b)/2)
		for i := range v {
			v[i] = F16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return v, nil
	case BF16:
		v := make([]float32, len(b)/2)
		for i := range v {
			v[i] = BF16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return v, nil
	case F64:
		v := make([]float32, len(b)/8)
		for i := range v {
			v[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return v, nil
	}
	return nil, formatErr(t.Name, "dtype %s is not a floating-point type", t.DType)
}

// FromFloat32 returns a tensor holding v, (shape), encoded as d: F32
// (exact), F16 or BF16 (rounded to nearest, ties to even). It panics if
// len(v) does not match the shape or d is another dtype (programmer
// mistakes).
func FromFloat32(name string, shape []int, v []float32, d DType) Tensor {
	t := Tensor{Name: name, DType: d, Shape: append([]int(nil), shape...)}
	if t.NumElements() != len(v) {
		panic("safetensors: FromFloat32: len(v) does not match shape")
	}
	switch d {
	case F32:
		t.Data = make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(x))
		}
	case F16:
		t.Data = make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(t.Data[2*i:], Float32ToF16(x))
		}
	case BF16:
		t.Data = make([]byte, 2*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint16(t.Data[2*i:], Float32ToBF16(x))
		}
	default:
		panic("safetensors: FromFloat32: dtype " + string(d) + " is not F32, F16 or BF16")
	}
	return t
}

// Float32ToF16 rounds f to IEEE 754 binary16 (nearest, ties to even):
// values from 65520 on become Inf, values below 2^-25 become zero, NaN
// stays NaN (quiet).
func Float32ToF16(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23) & 0xff
	mant := bits & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 31 {
		return sign | 0x7c00
	}
	if e >= 1 {
		h := uint32(e)<<10 | mant>>13
		rem := mant & 0x1fff
		if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
			h++ // a carry into the exponent is still correct, up to Inf
		}
		return sign | uint16(h)
	}
	// Subnormal result: m * 2^-24 with m = full * 2^(exp-126).
	shift := uint(126 - exp)
	if shift >= 25 {
		return sign
	}
	full := mant | 0x800000
	m := full >> shift
	rem, half := full&(1<<shift-1), uint32(1)<<(shift-1)
	if rem > half || rem == half && m&1 == 1 {
		m++
	}
	return sign | uint16(m)
}

// F16ToFloat32 converts IEEE 754 binary16 to float32 (exact).
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	case 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp-15+127)<<23 | mant<<13)
}

// Float32ToBF16 rounds f to bfloat16 (the top 16 bits of a float32,
// nearest, ties to even); NaN stays NaN.
func Float32ToBF16(f float32) uint16 {
	bits := math.Float32bits(f)
	if bits&0x7fffffff > 0x7f800000 {
		return uint16(bits>>16) | 0x40
	}
	return uint16((bits + 0x7fff + (bits>>16)&1) >> 16)
}

// BF16ToFloat32 converts bfloat16 to float32 (exact).
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }
