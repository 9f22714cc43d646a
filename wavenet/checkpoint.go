package wavenet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wavenet-go/wavenet/internal/safetensors"
)

// The files of a checkpoint directory.
const (
	ConfigFile  = "config.json"       // the Config, as JSON
	WeightsFile = "model.safetensors" // the Model's Params, by name
)

// maxConfigSize bounds config.json: a real one is a few kilobytes.
const maxConfigSize = 1 << 20

// CheckpointError reports a checkpoint that cannot be read: a missing,
// truncated or corrupt file, or weights that do not match the config.
// Errors from the file system (a missing directory) are wrapped, so
// errors.Is(err, fs.ErrNotExist) works.
type CheckpointError struct {
	Path string // the file concerned
	Err  error
}

func (e *CheckpointError) Error() string {
	return "wavenet: checkpoint " + e.Path + ": " + e.Err.Error()
}
func (e *CheckpointError) Unwrap() error { return e.Err }

// Checkpoint is everything a checkpoint directory holds.
type Checkpoint struct {
	Model *Model
	// DType is the element type the weights are stored as: F32 (the
	// default when empty), F16 or BF16 (rounded to nearest even, half the
	// size); Load also reads Int8 (written by package compress). Load
	// converts them back to float32.
	DType DType
	// Metadata goes into model.safetensors' "__metadata__" (say, the
	// training step). "format" is set by Save.
	Metadata map[string]string
	// Extra holds the other files of the directory by name, written and
	// read as they are: the trainer's optimizer.safetensors and
	// trainer.json, for example. Names must be plain file names.
	Extra map[string][]byte
}

// Save writes m as a checkpoint directory dir (config.json,
// model.safetensors in float32, plus the extra files), atomically: see
// SaveCheckpoint.
func Save(ctx context.Context, dir string, m *Model, extra map[string][]byte) error {
	return SaveCheckpoint(ctx, dir, &Checkpoint{Model: m, Extra: extra})
}

// SaveCheckpoint writes c to dir atomically. The files go into a new
// temporary sibling directory, are fsynced, read back and checked with the
// same code Load uses; only then does the new directory take dir's place
// (an atomic exchange where the OS has one, otherwise the old directory is
// renamed aside, the new one renamed in, and the old one removed) and the
// parent directory is fsynced. If anything fails, dir is left as it was:
// a checkpoint that does not load never replaces one that does.
func SaveCheckpoint(ctx context.Context, dir string, c *Checkpoint) error {
	files, err := c.encode()
	if err != nil {
		return err
	}
	return WriteDir(ctx, dir, files, func(tmp string) error {
		_, err := LoadCheckpointFS(ctx, os.DirFS(tmp), ".")
		return err
	})
}

// encode returns the files of the checkpoint.
func (c *Checkpoint) encode() (map[string][]byte, error) {
	m := c.Model
	if m == nil {
		return nil, errors.New("wavenet: save: no model")
	}
	if err := m.CheckShapes(); err != nil {
		return nil, fmt.Errorf("wavenet: save: %w", err)
	}
	files := make(map[string][]byte, len(c.Extra)+2)
	for name, b := range c.Extra {
		if name == ConfigFile || name == WeightsFile {
			return nil, fmt.Errorf("wavenet: save: extra file %q would overwrite the model's", name)
		}
		files[name] = b
	}
	cfg, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("wavenet: save: %w", err)
	}
	files[ConfigFile] = append(cfg, '\n')
	w, err := m.MarshalSafetensors(c.DType, c.Metadata)
	if err != nil {
		return nil, err
	}
	files[WeightsFile] = w
	return files, nil
}

// MarshalSafetensors encodes the model's Params as a safetensors file
// (model.safetensors) with elements of type dtype (F32 when empty, F16 or
// BF16; package compress writes Int8) and the given metadata plus
// "format": "wavenet".
func (m *Model) MarshalSafetensors(dtype DType, metadata map[string]string) ([]byte, error) {
	sd, ok := dtype.safetensorsDType()
	if !ok {
		return nil, fmt.Errorf("wavenet: save: weights as %s not supported (f32, f16 or bf16; package compress writes int8)", dtype)
	}
	if err := m.CheckShapes(); err != nil {
		return nil, fmt.Errorf("wavenet: save: %w", err)
	}
	md := map[string]string{"format": "wavenet"}
	for k, v := range metadata {
		md[k] = v
	}
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		ts = append(ts, safetensors.FromFloat32(p.Name, p.Shape, p.Data, sd))
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, md); err != nil {
		return nil, fmt.Errorf("wavenet: save: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteDir atomically replaces directory dir by one holding files (name
// to content; names must be plain file names). verify, if not nil, is
// called on the fsynced temporary directory before it replaces dir; an
// error from it aborts the replacement. ctx is checked between files.
// See SaveCheckpoint for the procedure.
func WriteDir(ctx context.Context, dir string, files map[string][]byte, verify func(tmp string) error) (err error) {
	for name := range files {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("wavenet: save %s: %q is not a plain file name", dir, name)
		}
	}
	dir = filepath.Clean(dir)
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("wavenet: save %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+tempInfix)
	if err != nil {
		return fmt.Errorf("wavenet: save %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("wavenet: save %s: %w", dir, err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeFileSync(filepath.Join(tmp, name), files[name]); err != nil {
			return fmt.Errorf("wavenet: save %s: %w", dir, err)
		}
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("wavenet: save %s: %w", dir, err)
	}
	if verify != nil {
		if err := verify(tmp); err != nil {
			return fmt.Errorf("wavenet: save %s: written files do not load back: %w", dir, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := replaceDir(tmp, dir); err != nil {
		return fmt.Errorf("wavenet: save %s: %w", dir, err)
	}
	if err := syncDir(parent); err != nil {
		return fmt.Errorf("wavenet: save %s: %w", dir, err)
	}
	return nil
}

// tempInfix marks WriteDir's temporary directories: "." + base +
// tempInfix + random, beside the directory they replace (and, in the
// fallback without an atomic exchange, the old one renamed aside with
// ".old" appended).
const tempInfix = ".tmp-"

// CleanTemp removes the temporary directories WriteDir left in parent
// when it was killed part way (a directory named "." + base + ".tmp-..."),
// and returns their paths. An old directory renamed aside whose base is
// missing (killed between the two renames of the fallback) is the only
// complete copy: it is renamed back to base instead. No WriteDir may be
// writing into parent meanwhile: call it when a run starts or resumes.
func CleanTemp(parent string) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("wavenet: clean %s: %w", parent, err)
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, ".") || !strings.Contains(name, tempInfix) {
			continue
		}
		p := filepath.Join(parent, name)
		if strings.HasSuffix(name, ".old") {
			base := filepath.Join(parent, name[1:strings.Index(name, tempInfix)])
			if _, err := os.Lstat(base); errors.Is(err, fs.ErrNotExist) {
				if err := os.Rename(p, base); err != nil {
					return removed, fmt.Errorf("wavenet: clean %s: %w", parent, err)
				}
				continue
			}
		}
		if err := os.RemoveAll(p); err != nil {
			return removed, fmt.Errorf("wavenet: clean %s: %w", parent, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// exchangeDirs is exchange, replaceable by tests of the fallback.
var exchangeDirs = exchange

// replaceDir puts directory tmp in place of dst. After an exchange, tmp
// holds the old directory, which is removed.
func replaceDir(tmp, dst string) error {
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, dst)
	}
	if err := exchangeDirs(tmp, dst); err == nil {
		return os.RemoveAll(tmp)
	}
	// No atomic exchange: rename the old directory aside first, so that
	// at every moment either dst or the aside copy is a complete checkpoint.
	aside := tmp + ".old"
	if err := os.Rename(dst, aside); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		if rerr := os.Rename(aside, dst); rerr != nil {
			return fmt.Errorf("%w (and restoring the old checkpoint from %s: %v)", err, aside, rerr)
		}
		return err
	}
	return os.RemoveAll(aside)
}

func writeFileSync(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Load reads the model of checkpoint directory dir.
func Load(ctx context.Context, dir string) (*Model, error) {
	c, err := loadCheckpoint(ctx, os.DirFS(dir), ".", dir, false)
	if err != nil {
		return nil, err
	}
	return c.Model, nil
}

// LoadFS reads the model of the checkpoint directory dir of fsys (for
// example an embed.FS holding the default model).
func LoadFS(fsys fs.FS, dir string) (*Model, error) {
	c, err := loadCheckpoint(context.Background(), fsys, dir, dir, false)
	if err != nil {
		return nil, err
	}
	return c.Model, nil
}

// LoadCheckpoint reads a whole checkpoint directory: the model, the
// storage dtype and metadata of its weights, and every other regular file
// of the directory into Extra.
func LoadCheckpoint(ctx context.Context, dir string) (*Checkpoint, error) {
	return loadCheckpoint(ctx, os.DirFS(dir), ".", dir, true)
}

// LoadCheckpointFS is LoadCheckpoint on the directory dir of fsys.
func LoadCheckpointFS(ctx context.Context, fsys fs.FS, dir string) (*Checkpoint, error) {
	return loadCheckpoint(ctx, fsys, dir, dir, true)
}

func loadCheckpoint(ctx context.Context, fsys fs.FS, dir, display string, extra bool) (*Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	where := func(name string) string { return filepath.Join(display, name) }
	cfgBytes, err := readFile(fsys, path.Join(dir, ConfigFile), maxConfigSize)
	if err != nil {
		return nil, &CheckpointError{where(ConfigFile), err}
	}
	cfg, err := LoadConfigJSON(bytes.NewReader(cfgBytes))
	if err != nil {
		return nil, &CheckpointError{where(ConfigFile), err}
	}
	st, err := readSafetensors(fsys, path.Join(dir, WeightsFile))
	if err != nil {
		return nil, &CheckpointError{where(WeightsFile), err}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, dtype, err := fromSafetensors(cfg, st)
	if err != nil {
		return nil, &CheckpointError{where(WeightsFile), err}
	}
	c := &Checkpoint{Model: m, DType: dtype, Metadata: st.Metadata}
	if !extra {
		return c, nil
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, &CheckpointError{display, err}
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == ConfigFile || e.Name() == WeightsFile {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, &CheckpointError{where(e.Name()), err}
		}
		if c.Extra == nil {
			c.Extra = map[string][]byte{}
		}
		c.Extra[e.Name()] = b
	}
	return c, nil
}

func readFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// readSafetensors reads a safetensors file, from its ReaderAt when the
// file system offers one (os, embed), so that a lying header costs no
// allocation.
func readSafetensors(fsys fs.FS, name string) (*safetensors.File, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if ra, ok := f.(io.ReaderAt); ok && info.Mode().IsRegular() {
		return safetensors.Read(ra, info.Size())
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return safetensors.Decode(b)
}

// UnmarshalSafetensors builds a model for cfg from b, the bytes of a
// model.safetensors in any dtype (F32, F16, BF16, Int8), checking that
// every parameter is present with the right shape and that nothing else
// is. It returns the dtype the weights are stored as.
func UnmarshalSafetensors(cfg Config, b []byte) (*Model, DType, error) {
	f, err := safetensors.Decode(b)
	if err != nil {
		return nil, "", fmt.Errorf("wavenet: %w", err)
	}
	m, d, err := fromSafetensors(cfg, f)
	if err != nil {
		return nil, "", fmt.Errorf("wavenet: %w", err)
	}
	return m, d, nil
}

// fromSafetensors builds a model for cfg from the tensors of f (see
// UnmarshalSafetensors).
func fromSafetensors(cfg Config, f *safetensors.File) (*Model, DType, error) {
	// A config that lies (residual_channels 1e9) must not make NewZero
	// allocate more than the file could fill: every weight takes at least
	// one byte of the file.
	var have float64
	for _, t := range f.Tensors {
		have += float64(len(t.Data))
	}
	if need := paramCount(cfg); need > have {
		return nil, "", fmt.Errorf("the config needs %.0f weights, the file holds only %.0f bytes", need, have)
	}
	m, err := NewZero(cfg)
	if err != nil {
		return nil, "", err
	}
	byName := make(map[string]safetensors.Tensor, len(f.Tensors))
	for _, t := range f.Tensors {
		byName[t.Name] = t
	}
	used := make(map[string]bool, len(f.Tensors))
	for _, p := range m.Params() {
		t, ok := byName[p.Name]
		if !ok {
			return nil, "", fmt.Errorf("tensor %s missing (the config needs shape %v)", p.Name, p.Shape)
		}
		used[p.Name] = true
		if !equalShape(t.Shape, p.Shape) {
			return nil, "", fmt.Errorf("tensor %s has shape %v, the config needs %v", p.Name, t.Shape, p.Shape)
		}
		var v []float32
		switch t.DType {
		case safetensors.F32, safetensors.F16, safetensors.BF16:
			v, err = t.Float32s()
		case safetensors.I8, safetensors.U8:
			var aux []string
			v, aux, err = dequantizeInt8(f, t)
			for _, a := range aux {
				used[a] = true
			}
		default:
			return nil, "", fmt.Errorf("tensor %s: weights of dtype %s not supported", p.Name, t.DType)
		}
		if err != nil {
			return nil, "", fmt.Errorf("tensor %s: %w", p.Name, err)
		}
		if len(v) != len(p.Data) {
			return nil, "", fmt.Errorf("tensor %s decodes to %d values, want %d", p.Name, len(v), len(p.Data))
		}
		copy(p.Data, v)
	}
	for _, t := range f.Tensors {
		if !used[t.Name] {
			return nil, "", fmt.Errorf("unexpected tensor %s (does the config match the weights? use_biases is %v)", t.Name, cfg.UseBiases)
		}
	}
	return m, weightsDType(f.Tensors), nil
}

// paramCount is the number of weights cfg implies, in float64 so that an
// absurd config cannot overflow it.
func paramCount(cfg Config) float64 {
	K, Q := float64(cfg.FilterWidth), float64(cfg.QuantizationChannels)
	R, D, S := float64(cfg.ResidualChannels), float64(cfg.DilationChannels), float64(cfg.SkipChannels)
	var b float64
	if cfg.UseBiases {
		b = 1
	}
	var vals float64
	for _, c := range cfg.Conditions {
		vals += float64(c.Rows())
	}
	layer := 2*D*K*R + R*D + S*D + b*(2*D+R+S) + vals*2*D
	var up float64
	if lc := cfg.Local; lc != nil {
		C := float64(lc.Channels)
		layer += 2 * D * C
		for _, s := range lc.Scales {
			if lc.RepeatConv() { // one (Width*s, FreqWidth) kernel shared by the channels
				up += float64(lc.Width) * float64(s) * float64(lc.FreqKernel())
			} else {
				up += C * float64(lc.Width) * float64(s) * C
			}
		}
	}
	return R*K*Q + b*R + float64(len(cfg.Dilations))*layer + S*S + Q*S + b*(S+Q) + up
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// LoadConfigJSON reads a Config from JSON: this package's config.json or
// ibab/tensorflow-wavenet's wavenet_params.json (whose scalar_input must be
// false: this model takes one-hot codes; initial_filter_width, used by ibab
// only with scalar input, is then ignored, and other unknown fields too).
// The config is validated.
func LoadConfigJSON(r io.Reader) (Config, error) {
	var c struct {
		Config
		ScalarInput bool `json:"scalar_input"`
	}
	b, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return Config{}, fmt.Errorf("wavenet: config: %w", err)
	}
	if len(b) > maxConfigSize {
		return Config{}, fmt.Errorf("wavenet: config: larger than %d bytes", maxConfigSize)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("wavenet: config: %w", err)
	}
	if c.ScalarInput {
		return Config{}, errors.New("wavenet: config: scalar_input is true, but this model takes one-hot mu-law codes (set it to false)")
	}
	if err := c.Config.Validate(); err != nil {
		return Config{}, err
	}
	return c.Config, nil
}
