package classify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"

	"github.com/wavenet-go/wavenet/internal/safetensors"
)

// The files of a saved CNN judge directory.
const (
	ConfigFile  = "config.json"       // CNNConfig
	WeightsFile = "model.safetensors" // every Weight by name, F32 or int8
)

// Int8 is a weight stored as int8 with one symmetric scale per output
// channel (the first dimension): value = Scale[row] * Data[i].
type Int8 struct {
	Data  []int8
	Scale []float32
}

// scaleSuffix names the per-channel scales of an int8 weight.
const scaleSuffix = ".scale"

// Save writes the judge to dir (created): config.json and
// model.safetensors. Weights named in int8 are stored as I8 tensors with
// an F32 "<name>.scale" tensor beside each; the rest as F32.
func (m *CNN) Save(dir string, int8 map[string]Int8) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("classify: save: %w", err)
	}
	cfg, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return fmt.Errorf("classify: save: %w", err)
	}
	var ts []safetensors.Tensor
	for _, w := range m.Weights() {
		q, ok := int8[w.Name]
		if !ok {
			ts = append(ts, safetensors.FromFloat32(w.Name, w.Shape, w.Value, safetensors.F32))
			continue
		}
		if len(q.Data) != len(w.Value) || len(q.Scale) != w.Shape[0] {
			return fmt.Errorf("classify: save: int8 %s has %d values and %d scales, want %d and %d",
				w.Name, len(q.Data), len(q.Scale), len(w.Value), w.Shape[0])
		}
		b := make([]byte, len(q.Data))
		for i, v := range q.Data {
			b[i] = byte(v)
		}
		ts = append(ts, safetensors.Tensor{Name: w.Name, DType: safetensors.I8, Shape: w.Shape, Data: b},
			safetensors.FromFloat32(w.Name+scaleSuffix, []int{len(q.Scale)}, q.Scale, safetensors.F32))
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, map[string]string{"format": "classify-cnn", "arch": m.Config.Arch}); err != nil {
		return fmt.Errorf("classify: save: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), append(cfg, '\n'), 0o644); err != nil {
		return fmt.Errorf("classify: save: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, WeightsFile), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("classify: save: %w", err)
	}
	return nil
}

// LoadCNN reads a judge saved by Save from dir.
func LoadCNN(dir string) (*CNN, error) { return LoadCNNFS(os.DirFS(dir), ".") }

// LoadCNNFS reads a judge saved by Save from directory dir of fsys (the
// embedded models, say). Int8 weights are dequantized.
func LoadCNNFS(fsys fs.FS, dir string) (*CNN, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("classify: load: %w", err)
	}
	var c CNNConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("classify: load %s: %w", ConfigFile, err)
	}
	m, err := buildCNN(c)
	if err != nil {
		return nil, err
	}
	if b, err = fs.ReadFile(fsys, path.Join(dir, WeightsFile)); err != nil {
		return nil, fmt.Errorf("classify: load: %w", err)
	}
	f, err := safetensors.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("classify: load %s: %w", WeightsFile, err)
	}
	for _, w := range m.Weights() {
		t, ok := f.Tensor(w.Name)
		if !ok {
			return nil, fmt.Errorf("classify: load %s: no tensor %s", WeightsFile, w.Name)
		}
		if t.NumElements() != len(w.Value) || len(t.Shape) != len(w.Shape) {
			return nil, fmt.Errorf("classify: load %s: %s has shape %v, want %v", WeightsFile, w.Name, t.Shape, w.Shape)
		}
		if t.DType != safetensors.I8 {
			v, err := t.Float32s()
			if err != nil {
				return nil, fmt.Errorf("classify: load: %w", err)
			}
			copy(w.Value, v)
			continue
		}
		st, ok := f.Tensor(w.Name + scaleSuffix)
		if !ok || st.NumElements() != w.Shape[0] {
			return nil, fmt.Errorf("classify: load %s: int8 %s needs %d scales in %s", WeightsFile, w.Name, w.Shape[0], w.Name+scaleSuffix)
		}
		scale, err := st.Float32s()
		if err != nil {
			return nil, fmt.Errorf("classify: load: %w", err)
		}
		per := len(w.Value) / w.Shape[0]
		for i := range w.Value {
			w.Value[i] = scale[i/per] * float32(int8(t.Data[i]))
		}
	}
	for _, w := range m.Weights() {
		for _, v := range w.Value {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("classify: load %s: %s holds %v", WeightsFile, w.Name, v)
			}
		}
	}
	return m, nil
}
