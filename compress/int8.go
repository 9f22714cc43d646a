package compress

import (
	"fmt"
	"math"
)

// DType is an 8-bit quantized type, as PyTorch names them.
type DType int

const (
	QUInt8 DType = iota // unsigned, [0, 255]
	QInt8               // signed, [-128, 127]
)

func (d DType) String() string {
	if d == QInt8 {
		return "qint8"
	}
	return "quint8"
}

func (d DType) bounds() (qmin, qmax int32) {
	if d == QInt8 {
		return -128, 127
	}
	return 0, 255
}

// Scheme is how a range becomes a scale and zero point.
type Scheme int

const (
	// Affine uses the full [min, max] range (torch.per_tensor_affine /
	// per_channel_affine).
	Affine Scheme = iota
	// Symmetric centres the range on zero (torch.per_tensor_symmetric /
	// per_channel_symmetric).
	Symmetric
)

// float32Eps is torch.finfo(torch.float32).eps, the observer's floor on the
// scale.
const float32Eps = 1.1920928955078125e-07

// QParams are one quantization range's scale and zero point.
type QParams struct {
	Scale     float32
	ZeroPoint int32
}

// CalcQParams follows torch.ao.quantization.observer's
// _calculate_qparams (reduce_range false): the range is first widened to
// include 0; affine: scale = (max - min) / (qmax - qmin), floored at eps,
// zero_point = qmin - round(min / scale) (round half to even, as
// torch.round), clamped to [qmin, qmax]; symmetric: scale =
// max(-min, max) / ((qmax - qmin) / 2), floored at eps, zero point 0 for
// qint8 and 128 for quint8.
func CalcQParams(minV, maxV float32, d DType, s Scheme) QParams {
	qmin, qmax := d.bounds()
	minV = min(minV, 0)
	maxV = max(maxV, 0)
	if s == Symmetric {
		m := max(-minV, maxV)
		scale := max(m/(float32(qmax-qmin)/2), float32Eps)
		zp := int32(0)
		if d == QUInt8 {
			zp = 128
		}
		return QParams{Scale: scale, ZeroPoint: zp}
	}
	scale := max((maxV-minV)/float32(qmax-qmin), float32Eps)
	zp := qmin - int32(math.RoundToEven(float64(minV/scale)))
	zp = max(qmin, min(qmax, zp))
	return QParams{Scale: scale, ZeroPoint: zp}
}

// Quantize returns clamp(round(x * (1/scale)) + zero_point, qmin, qmax)
// with rounding half to even, as ATen's quantize_val (std::nearbyint on
// value * inv_scale, in float32).
func (q QParams) Quantize(x float32, d DType) int32 {
	qmin, qmax := d.bounds()
	inv := 1 / q.Scale
	v := int64(math.RoundToEven(float64(x*inv))) + int64(q.ZeroPoint)
	return int32(max(int64(qmin), min(int64(qmax), v)))
}

// Dequantize returns (q - zero_point) * scale.
func (q QParams) Dequantize(v int32) float32 { return float32(v-q.ZeroPoint) * q.Scale }

// Int8Tensor is a quantized (rows, cols) weight: one QParams per tensor, or
// per row (output channel) when PerChannel.
type Int8Tensor struct {
	Rows, Cols int
	DType      DType
	Scheme     Scheme
	PerChannel bool
	Params     []QParams // 1, or Rows when PerChannel
	Data       []int8    // quint8 values are stored offset by -128
}

// QuantizeInt8 quantizes w (rows, cols) row-major, per tensor
// (MinMaxObserver) or per output channel (PerChannelMinMaxObserver, axis 0).
func QuantizeInt8(w []float32, rows, cols int, d DType, s Scheme, perChannel bool) (*Int8Tensor, error) {
	if rows <= 0 || cols <= 0 || len(w) != rows*cols {
		return nil, fmt.Errorf("compress: quantize: %d values do not make a (%d, %d) matrix", len(w), rows, cols)
	}
	for i, v := range w {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("compress: quantize: weight %d is %v, want finite", i, v)
		}
	}
	t := &Int8Tensor{Rows: rows, Cols: cols, DType: d, Scheme: s, PerChannel: perChannel, Data: make([]int8, len(w))}
	groups, size := 1, len(w)
	if perChannel {
		groups, size = rows, cols
	}
	off := int32(0)
	if d == QUInt8 {
		off = 128
	}
	for g := 0; g < groups; g++ {
		part := w[g*size : (g+1)*size]
		lo, hi := part[0], part[0]
		for _, v := range part {
			lo, hi = min(lo, v), max(hi, v)
		}
		qp := CalcQParams(lo, hi, d, s)
		t.Params = append(t.Params, qp)
		for i, v := range part {
			t.Data[g*size+i] = int8(qp.Quantize(v, d) - off)
		}
	}
	return t, nil
}

// Params returns the QParams of row r.
func (t *Int8Tensor) ParamsOf(r int) QParams {
	if t.PerChannel {
		return t.Params[r]
	}
	return t.Params[0]
}

// Value returns the stored quantized value of element i (in the dtype's
// own range).
func (t *Int8Tensor) Value(i int) int32 {
	if t.DType == QUInt8 {
		return int32(t.Data[i]) + 128
	}
	return int32(t.Data[i])
}

// Dequantize returns the float32 weights.
func (t *Int8Tensor) Dequantize(dst []float32) []float32 {
	if cap(dst) < len(t.Data) {
		dst = make([]float32, len(t.Data))
	}
	dst = dst[:len(t.Data)]
	for r := 0; r < t.Rows; r++ {
		qp := t.ParamsOf(r)
		for c := 0; c < t.Cols; c++ {
			i := r*t.Cols + c
			dst[i] = qp.Dequantize(t.Value(i))
		}
	}
	return dst
}
