package compress

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/wavenet-go/wavenet/internal/safetensors"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Format is how a checkpoint stores the model's weights.
type Format string

// The formats Save writes and wavenet.Load reads (int8 once this package
// is linked in: its init registers the dequantizer).
const (
	FP32 Format = "fp32" // float32, as wavenet.Save
	FP16 Format = "fp16" // IEEE binary16 (safetensors F16), half the size
	BF16 Format = "bf16" // bfloat16 (safetensors BF16), half the size
	Int8 Format = "int8" // 8-bit affine or symmetric, I8 or U8 with F32 scales
)

// Formats lists the formats, in the order of the report table.
func Formats() []Format { return []Format{FP32, FP16, BF16, Int8} }

// ParseFormat accepts a format name ("int8", "fp16", "bf16", "fp32";
// "float16", "bfloat16", "float32" too).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "fp32", "float32", "f32":
		return FP32, nil
	case "fp16", "float16", "f16", "half":
		return FP16, nil
	case "bf16", "bfloat16":
		return BF16, nil
	case "int8", "i8", "qint8":
		return Int8, nil
	}
	return "", fmt.Errorf("compress: format %q, want int8, fp16, bf16 or fp32", s)
}

// SaveOptions say how Save stores the weights.
type SaveOptions struct {
	Format Format // default FP32
	// The int8 options (ignored by the other formats). The zero values
	// give quint8 affine per tensor, PyTorch's default MinMaxObserver.
	DType      DType  // QUInt8 (U8) or QInt8 (I8)
	Scheme     Scheme // Affine or Symmetric
	PerChannel bool   // one scale per output channel (weight row)
	// Metadata goes into model.safetensors' __metadata__, next to the
	// keys Save sets ("format", "compress.*").
	Metadata map[string]string
}

// The __metadata__ keys of an int8 checkpoint.
const (
	metaFormat  = "compress.format"  // "int8"
	metaDType   = "compress.dtype"   // "qint8" or "quint8"
	metaQScheme = "compress.qscheme" // per_tensor_affine, per_channel_symmetric, ...
)

// Suffixes of the auxiliary tensors of an int8 weight W (rows, cols):
// W.scale is F32 (1) or (rows); W.zero_point is I32 of the same shape,
// written only for the affine schemes (symmetric ones have zero point 0
// for qint8 and 128 for quint8, as PyTorch's).
const (
	ScaleSuffix     = ".scale"
	ZeroPointSuffix = ".zero_point"
)

// qscheme is PyTorch's name of a quantization scheme.
func qscheme(perChannel bool, s Scheme) string {
	p := "per_tensor_"
	if perChannel {
		p = "per_channel_"
	}
	if s == Symmetric {
		return p + "symmetric"
	}
	return p + "affine"
}

// Save writes m as a checkpoint directory (config.json, model.safetensors)
// in the given format, atomically and read back before it replaces dir,
// as wavenet.SaveCheckpoint. In int8, every 2-D tensor (weights and
// conditioning embeddings) is quantized per tensor or per row and biases
// stay float32, as PyTorch's quantized Linear keeps them.
func Save(ctx context.Context, dir string, m *wavenet.Model, opts SaveOptions) error {
	if m == nil {
		return errNoModel
	}
	st, err := Marshal(m, opts)
	if err != nil {
		return err
	}
	cfg, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return fmt.Errorf("compress: save: %w", err)
	}
	files := map[string][]byte{wavenet.ConfigFile: append(cfg, '\n'), wavenet.WeightsFile: st}
	return wavenet.WriteDir(ctx, dir, files, func(tmp string) error {
		_, err := wavenet.Load(ctx, tmp)
		return err
	})
}

// Marshal encodes m's parameters as the model.safetensors of a checkpoint
// of the given format.
func Marshal(m *wavenet.Model, opts SaveOptions) ([]byte, error) {
	if m == nil {
		return nil, errNoModel
	}
	switch opts.Format {
	case "", FP32:
		return m.MarshalSafetensors(safetensors.F32, opts.Metadata)
	case FP16:
		return m.MarshalSafetensors(safetensors.F16, opts.Metadata)
	case BF16:
		return m.MarshalSafetensors(safetensors.BF16, opts.Metadata)
	case Int8:
		return MarshalInt8(m, opts)
	}
	return nil, fmt.Errorf("compress: format %q, want int8, fp16, bf16 or fp32", opts.Format)
}

// Quantized returns a copy of m holding exactly the weights a checkpoint
// of the given format stores (rounded to fp16 or bf16, or int8
// dequantized), as the loader gives them back, and the size of its
// model.safetensors.
func Quantized(m *wavenet.Model, opts SaveOptions) (*wavenet.Model, int, error) {
	b, err := Marshal(m, opts)
	if err != nil {
		return nil, 0, err
	}
	f, err := safetensors.Decode(b)
	if err != nil {
		return nil, 0, fmt.Errorf("compress: %w", err)
	}
	q, _, err := wavenet.FromSafetensors(m.Config, f)
	if err != nil {
		return nil, 0, fmt.Errorf("compress: %w", err)
	}
	return q, len(b), nil
}

// MarshalInt8 encodes m's parameters as a safetensors file with int8
// weights (see Save).
func MarshalInt8(m *wavenet.Model, opts SaveOptions) ([]byte, error) {
	if err := m.CheckShapes(); err != nil {
		return nil, fmt.Errorf("compress: save: %w", err)
	}
	md := map[string]string{}
	for k, v := range opts.Metadata {
		md[k] = v
	}
	md["format"] = "wavenet"
	md[metaFormat] = string(Int8)
	md[metaDType] = opts.DType.String()
	md[metaQScheme] = qscheme(opts.PerChannel, opts.Scheme)
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		if len(p.Shape) != 2 {
			ts = append(ts, safetensors.FromFloat32(p.Name, p.Shape, p.Data, safetensors.F32))
			continue
		}
		q, err := QuantizeInt8(p.Data, p.Shape[0], p.Shape[1], opts.DType, opts.Scheme, opts.PerChannel)
		if err != nil {
			return nil, fmt.Errorf("compress: save: %s: %w", p.Name, err)
		}
		dt := safetensors.U8
		if opts.DType == QInt8 {
			dt = safetensors.I8
		}
		data := make([]byte, len(q.Data))
		for i := range q.Data {
			data[i] = byte(q.Value(i)) // two's complement for I8, 0..255 for U8
		}
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: dt, Shape: append([]int(nil), p.Shape...), Data: data})
		n := len(q.Params)
		scales := make([]byte, 4*n)
		zps := make([]byte, 4*n)
		for i, qp := range q.Params {
			binary.LittleEndian.PutUint32(scales[4*i:], math.Float32bits(qp.Scale))
			binary.LittleEndian.PutUint32(zps[4*i:], uint32(qp.ZeroPoint))
		}
		ts = append(ts, safetensors.Tensor{Name: p.Name + ScaleSuffix, DType: safetensors.F32, Shape: []int{n}, Data: scales})
		if opts.Scheme == Affine {
			ts = append(ts, safetensors.Tensor{Name: p.Name + ZeroPointSuffix, DType: safetensors.I32, Shape: []int{n}, Data: zps})
		}
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, md); err != nil {
		return nil, fmt.Errorf("compress: save: %w", err)
	}
	return buf.Bytes(), nil
}

func init() {
	wavenet.RegisterDequantizer(safetensors.I8, dequantizeInt8)
	wavenet.RegisterDequantizer(safetensors.U8, dequantizeInt8)
}

// QuantError reports an int8 tensor of a checkpoint that cannot be
// decoded: missing or malformed scales or zero points.
type QuantError struct {
	Tensor string
	Msg    string
}

func (e *QuantError) Error() string { return "compress: int8 tensor " + e.Tensor + ": " + e.Msg }

// dequantizeInt8 is the wavenet.Dequantizer of I8 and U8 weights:
// (q - zero_point) * scale per tensor or per row.
func dequantizeInt8(f *safetensors.File, t safetensors.Tensor) ([]float32, []string, error) {
	bad := func(format string, args ...any) ([]float32, []string, error) {
		return nil, nil, &QuantError{Tensor: t.Name, Msg: fmt.Sprintf(format, args...)}
	}
	if len(t.Shape) != 2 || t.NumElements() != len(t.Data) {
		return bad("shape %v with %d bytes, want a matrix of one byte per element", t.Shape, len(t.Data))
	}
	rows, cols := t.Shape[0], t.Shape[1]
	d := QUInt8
	if t.DType == safetensors.I8 {
		d = QInt8
	}
	scheme := Affine
	if strings.HasSuffix(f.Metadata[metaQScheme], "symmetric") {
		scheme = Symmetric
	}
	sc, ok := f.Tensor(t.Name + ScaleSuffix)
	if !ok {
		return bad("no %s%s tensor", t.Name, ScaleSuffix)
	}
	n := sc.NumElements()
	if sc.DType != safetensors.F32 || len(sc.Shape) != 1 || (n != 1 && n != rows) || len(sc.Data) != 4*n {
		return bad("scale tensor is %s %v, want F32 (1) or (%d)", sc.DType, sc.Shape, rows)
	}
	aux := []string{sc.Name}
	params := make([]QParams, n)
	for i := range params {
		s := math.Float32frombits(binary.LittleEndian.Uint32(sc.Data[4*i:]))
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return bad("scale %d is %v, want a positive finite number", i, s)
		}
		params[i].Scale = s
		if scheme == Symmetric && d == QUInt8 {
			params[i].ZeroPoint = 128
		}
	}
	if zp, ok := f.Tensor(t.Name + ZeroPointSuffix); ok {
		if zp.DType != safetensors.I32 || zp.NumElements() != n || len(zp.Shape) != 1 || len(zp.Data) != 4*n {
			return bad("zero point tensor is %s %v, want I32 (%d)", zp.DType, zp.Shape, n)
		}
		qmin, qmax := d.bounds()
		for i := range params {
			z := int32(binary.LittleEndian.Uint32(zp.Data[4*i:]))
			if z < qmin || z > qmax {
				return bad("zero point %d is %d, outside [%d, %d]", i, z, qmin, qmax)
			}
			params[i].ZeroPoint = z
		}
		aux = append(aux, zp.Name)
	} else if scheme == Affine {
		return bad("no %s%s tensor (the scheme is affine)", t.Name, ZeroPointSuffix)
	}
	v := make([]float32, len(t.Data))
	for r := 0; r < rows; r++ {
		qp := params[0]
		if n > 1 {
			qp = params[r]
		}
		for c := 0; c < cols; c++ {
			i := r*cols + c
			q := int32(t.Data[i])
			if d == QInt8 {
				q = int32(int8(t.Data[i]))
			}
			v[i] = qp.Dequantize(q)
		}
	}
	return v, aux, nil
}

// Info describes a checkpoint's storage.
type Info struct {
	Format   Format
	DType    string            // int8 only: qint8 or quint8
	QScheme  string            // int8 only: per_tensor_affine, per_channel_symmetric, ...
	Bytes    int64             // size of model.safetensors
	Params   int               // number of weights
	Sparsity float64           // fraction of zero weights in the weight matrices
	Metadata map[string]string // the safetensors __metadata__
}

// Load reads a checkpoint directory in any format Save writes, with the
// weights converted to float32, and describes its storage.
func Load(ctx context.Context, dir string) (*wavenet.Model, Info, error) {
	c, err := wavenet.LoadCheckpoint(ctx, dir)
	if err != nil {
		return nil, Info{}, err
	}
	info := Info{Metadata: c.Metadata, Params: c.Model.NumParams(), Sparsity: Sparsity(c.Model)}
	switch c.DType {
	case safetensors.F16:
		info.Format = FP16
	case safetensors.BF16:
		info.Format = BF16
	case safetensors.I8, safetensors.U8:
		info.Format = Int8
		info.DType, info.QScheme = c.Metadata[metaDType], c.Metadata[metaQScheme]
	default:
		info.Format = FP32
	}
	st, err := os.Stat(filepath.Join(dir, wavenet.WeightsFile))
	if err != nil {
		return nil, Info{}, fmt.Errorf("compress: load: %w", err)
	}
	info.Bytes = st.Size()
	return c.Model, info, nil
}

// errNoModel is returned for a nil model.
var errNoModel = errors.New("compress: no model")
