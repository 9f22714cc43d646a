package wavenet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"strings"

	"github.com/wavenet-go/wavenet/internal/safetensors"
)

// DType is the element type a checkpoint stores its weights as. Loading
// converts every one of them to float32.
type DType string

// The dtypes of a checkpoint's weights.
const (
	F32  DType = "f32"  // float32 (safetensors F32), what Save writes
	F16  DType = "f16"  // IEEE binary16 (safetensors F16), half the size
	BF16 DType = "bf16" // bfloat16 (safetensors BF16), half the size
	// Int8 is 8-bit weights (safetensors I8 or U8) with F32 scales and I32
	// zero points per tensor or per row, as package compress writes them:
	// every 2-D weight W comes with W+ScaleSuffix and, for the affine
	// schemes, W+ZeroPointSuffix; the other tensors (biases) stay F32.
	Int8 DType = "int8"
)

// Suffixes of the auxiliary tensors of an Int8 weight W (rows, cols):
// W.scale is F32 (1) or (rows); W.zero_point is I32 of the same shape,
// written only for the affine schemes (symmetric ones have zero point 0
// for I8 and 128 for U8, as PyTorch's).
const (
	ScaleSuffix     = ".scale"
	ZeroPointSuffix = ".zero_point"
)

// QSchemeKey is the model.safetensors metadata key that names the
// quantization scheme of an Int8 checkpoint, in PyTorch's words
// (per_tensor_affine, per_channel_symmetric, ...).
const QSchemeKey = "compress.qscheme"

// safetensorsDType maps the float dtypes to safetensors' (F32 for "").
func (d DType) safetensorsDType() (safetensors.DType, bool) {
	switch d {
	case "", F32:
		return safetensors.F32, true
	case F16:
		return safetensors.F16, true
	case BF16:
		return safetensors.BF16, true
	}
	return "", false
}

// weightsDType is the dtype of a checkpoint whose parameter tensors have
// these safetensors dtypes: Int8 if any weight is I8 or U8, else F16 or
// BF16 if any is, else F32. Auxiliary tensors (scales) are F32 and do not
// count for more than that.
func weightsDType(ts []safetensors.Tensor) DType {
	d := F32
	for _, t := range ts {
		switch t.DType {
		case safetensors.I8, safetensors.U8:
			return Int8
		case safetensors.F16:
			d = F16
		case safetensors.BF16:
			d = BF16
		}
	}
	return d
}

// StoredDType reports the dtype the checkpoint directory dir of fsys
// stores its weights as, from the header of its model.safetensors alone
// (at most the header's bounded size is read, not the weights).
func StoredDType(fsys fs.FS, dir string) (DType, error) {
	name := path.Join(dir, WeightsFile)
	f, err := fsys.Open(name)
	if err != nil {
		return "", &CheckpointError{name, err}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", &CheckpointError{name, err}
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		// Read the length and the header sequentially.
		var nb [8]byte
		if _, err := io.ReadFull(f, nb[:]); err != nil {
			return "", &CheckpointError{name, fmt.Errorf("header length: %w", err)}
		}
		n := binary.LittleEndian.Uint64(nb[:])
		if n > safetensors.MaxHeader {
			return "", &CheckpointError{name, fmt.Errorf("header length %d is larger than the %d-byte limit", n, safetensors.MaxHeader)}
		}
		b := make([]byte, 8+n)
		copy(b, nb[:])
		if _, err := io.ReadFull(f, b[8:]); err != nil {
			return "", &CheckpointError{name, fmt.Errorf("header: %w", err)}
		}
		ra = bytes.NewReader(b)
	}
	h, err := safetensors.ReadHeader(ra, info.Size())
	if err != nil {
		return "", &CheckpointError{name, err}
	}
	return weightsDType(h.Tensors), nil
}

// QuantError reports an Int8 tensor of a checkpoint that cannot be
// decoded: missing or malformed scales or zero points.
type QuantError struct {
	Tensor string
	Msg    string
}

func (e *QuantError) Error() string { return "wavenet: int8 tensor " + e.Tensor + ": " + e.Msg }

// dequantizeInt8 decodes an I8 or U8 weight t of f: (q - zero_point) *
// scale per tensor or per row. It returns the names of the auxiliary
// tensors it used.
func dequantizeInt8(f *safetensors.File, t safetensors.Tensor) ([]float32, []string, error) {
	bad := func(format string, args ...any) ([]float32, []string, error) {
		return nil, nil, &QuantError{Tensor: t.Name, Msg: fmt.Sprintf(format, args...)}
	}
	if len(t.Shape) != 2 || t.NumElements() != len(t.Data) {
		return bad("shape %v with %d bytes, want a matrix of one byte per element", t.Shape, len(t.Data))
	}
	rows, cols := t.Shape[0], t.Shape[1]
	signed := t.DType == safetensors.I8
	qmin, qmax := int32(0), int32(255)
	if signed {
		qmin, qmax = -128, 127
	}
	symmetric := strings.HasSuffix(f.Metadata[QSchemeKey], "symmetric")
	sc, ok := f.Tensor(t.Name + ScaleSuffix)
	if !ok {
		return bad("no %s%s tensor", t.Name, ScaleSuffix)
	}
	n := sc.NumElements()
	if sc.DType != safetensors.F32 || len(sc.Shape) != 1 || (n != 1 && n != rows) || len(sc.Data) != 4*n {
		return bad("scale tensor is %s %v, want F32 (1) or (%d)", sc.DType, sc.Shape, rows)
	}
	aux := []string{sc.Name}
	scales := make([]float32, n)
	zps := make([]int32, n)
	for i := range scales {
		s := math.Float32frombits(binary.LittleEndian.Uint32(sc.Data[4*i:]))
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return bad("scale %d is %v, want a positive finite number", i, s)
		}
		scales[i] = s
		if symmetric && !signed {
			zps[i] = 128
		}
	}
	if zp, ok := f.Tensor(t.Name + ZeroPointSuffix); ok {
		if zp.DType != safetensors.I32 || zp.NumElements() != n || len(zp.Shape) != 1 || len(zp.Data) != 4*n {
			return bad("zero point tensor is %s %v, want I32 (%d)", zp.DType, zp.Shape, n)
		}
		for i := range zps {
			z := int32(binary.LittleEndian.Uint32(zp.Data[4*i:]))
			if z < qmin || z > qmax {
				return bad("zero point %d is %d, outside [%d, %d]", i, z, qmin, qmax)
			}
			zps[i] = z
		}
		aux = append(aux, zp.Name)
	} else if !symmetric {
		return bad("no %s%s tensor (the scheme is affine)", t.Name, ZeroPointSuffix)
	}
	v := make([]float32, len(t.Data))
	for r := 0; r < rows; r++ {
		i := 0
		if n > 1 {
			i = r
		}
		s, z := scales[i], zps[i]
		for c := 0; c < cols; c++ {
			k := r*cols + c
			q := int32(t.Data[k])
			if signed {
				q = int32(int8(t.Data[k]))
			}
			v[k] = float32(q-z) * s
		}
	}
	return v, aux, nil
}
