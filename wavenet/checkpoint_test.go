package wavenet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wavenet-go/wavenet/internal/safetensors"
)

// sameWeights reports the first parameter whose values differ bitwise.
func sameWeights(t *testing.T, got, want *Model) {
	t.Helper()
	if !reflect.DeepEqual(got.Config, want.Config) {
		t.Fatalf("loaded config = %+v, want %+v", got.Config, want.Config)
	}
	gp, wp := got.Params(), want.Params()
	if len(gp) != len(wp) {
		t.Fatalf("loaded model has %d params, want %d", len(gp), len(wp))
	}
	for i := range wp {
		for j := range wp[i].Data {
			if math.Float32bits(gp[i].Data[j]) != math.Float32bits(wp[i].Data[j]) {
				t.Fatalf("loaded %s[%d] = %v, want %v", wp[i].Name, j, gp[i].Data[j], wp[i].Data[j])
			}
		}
	}
}

// dirNames lists the entries of dir, to catch leftover temporary dirs.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, bias := range []bool{false, true} {
		m := randomModel(t, testConfig(3, bias, 2), 5, 1)
		root := t.TempDir()
		dir := filepath.Join(root, "runs", "ckpt") // parents are created
		extra := map[string][]byte{"trainer.json": []byte(`{"step":12}`), "optimizer.safetensors": {1, 2, 3}}
		if err := Save(ctx, dir, m, extra); err != nil {
			t.Fatalf("Save: %v", err)
		}
		got, err := Load(ctx, dir)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		sameWeights(t, got, m)
		c, err := LoadCheckpoint(ctx, dir)
		if err != nil {
			t.Fatalf("LoadCheckpoint: %v", err)
		}
		if !reflect.DeepEqual(c.Extra, extra) {
			t.Errorf("LoadCheckpoint Extra = %v, want %v", c.Extra, extra)
		}
		if c.DType != F32 || c.Metadata["format"] != "wavenet" {
			t.Errorf("LoadCheckpoint DType, metadata = %s, %v; want F32, format=wavenet", c.DType, c.Metadata)
		}
		if names := dirNames(t, filepath.Join(root, "runs")); !reflect.DeepEqual(names, []string{"ckpt"}) {
			t.Errorf("after Save, runs/ holds %v, want only ckpt", names)
		}
		// The same through an fs.FS, as for the embedded default model.
		files := fstest.MapFS{}
		for _, name := range dirNames(t, dir) {
			b, _ := os.ReadFile(filepath.Join(dir, name))
			files["models/default/"+name] = &fstest.MapFile{Data: b}
		}
		got, err = LoadFS(files, "models/default")
		if err != nil {
			t.Fatalf("LoadFS: %v", err)
		}
		sameWeights(t, got, m)
	}
}

func TestSaveHalfPrecision(t *testing.T) {
	ctx := context.Background()
	m := randomModel(t, testConfig(2, true, 1), 9, 1)
	for _, tc := range []struct {
		dtype DType
		round func(float32) float32
	}{
		{F16, func(f float32) float32 { return safetensors.F16ToFloat32(safetensors.Float32ToF16(f)) }},
		{BF16, func(f float32) float32 { return safetensors.BF16ToFloat32(safetensors.Float32ToBF16(f)) }},
	} {
		dir := filepath.Join(t.TempDir(), "half")
		if err := SaveCheckpoint(ctx, dir, &Checkpoint{Model: m, DType: tc.dtype, Metadata: map[string]string{"step": "7"}}); err != nil {
			t.Fatalf("SaveCheckpoint(%s): %v", tc.dtype, err)
		}
		c, err := LoadCheckpoint(ctx, dir)
		if err != nil {
			t.Fatalf("LoadCheckpoint(%s): %v", tc.dtype, err)
		}
		if c.DType != tc.dtype || c.Metadata["step"] != "7" {
			t.Errorf("LoadCheckpoint(%s) DType, metadata = %s, %v", tc.dtype, c.DType, c.Metadata)
		}
		want := m.Clone()
		for _, p := range want.Params() {
			for i, v := range p.Data {
				p.Data[i] = tc.round(v)
			}
		}
		sameWeights(t, c.Model, want)
	}
	if err := SaveCheckpoint(ctx, filepath.Join(t.TempDir(), "x"), &Checkpoint{Model: m, DType: Int8}); err == nil {
		t.Errorf("SaveCheckpoint(Int8): no error (int8 is package compress's to write)")
	}
}

func TestSaveReplaces(t *testing.T) {
	ctx := context.Background()
	defer func(f func(a, b string) error) { exchangeDirs = f }(exchangeDirs)
	for _, fallback := range []bool{false, true} {
		exchangeDirs = exchange
		if fallback {
			exchangeDirs = func(a, b string) error { return errors.ErrUnsupported }
		}
		root := t.TempDir()
		dir := filepath.Join(root, "ckpt")
		a := randomModel(t, testConfig(2, true, 0), 1, 1)
		b := randomModel(t, testConfig(2, true, 0), 2, 1)
		if err := Save(ctx, dir, a, map[string][]byte{"old-only": []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if err := Save(ctx, dir, b, nil); err != nil {
			t.Fatalf("Save over an existing checkpoint (fallback %v): %v", fallback, err)
		}
		got, err := Load(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		sameWeights(t, got, b)
		if _, err := os.Stat(filepath.Join(dir, "old-only")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a file of the replaced checkpoint survived (fallback %v): %v", fallback, err)
		}
		if names := dirNames(t, root); !reflect.DeepEqual(names, []string{"ckpt"}) {
			t.Errorf("after replacing (fallback %v), the parent holds %v, want only ckpt", fallback, names)
		}
	}
}

func TestFailedSaveKeepsGoodCheckpoint(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "ckpt")
	good := randomModel(t, testConfig(2, true, 1), 1, 1)
	if err := Save(ctx, dir, good, nil); err != nil {
		t.Fatal(err)
	}
	bad := good.Clone()
	bad.Post2.W = bad.Post2.W[:1]
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		save func() error
	}{
		{"malformed model", func() error { return Save(ctx, dir, bad, nil) }},
		{"bad extra name", func() error { return Save(ctx, dir, good, map[string][]byte{"../evil": nil}) }},
		{"extra shadows weights", func() error { return Save(ctx, dir, good, map[string][]byte{WeightsFile: {1}}) }},
		{"cancelled", func() error { return Save(cancelled, dir, good, nil) }},
		{"written files corrupt", func() error {
			// The write "succeeds" but the file on disk is truncated (a
			// full disk, a bad sector): the read-back check must refuse it.
			files, err := (&Checkpoint{Model: good}).encode()
			if err != nil {
				return err
			}
			files[WeightsFile] = files[WeightsFile][:len(files[WeightsFile])-5]
			return WriteDir(ctx, dir, files, func(tmp string) error {
				_, err := LoadCheckpointFS(ctx, os.DirFS(tmp), ".")
				return err
			})
		}},
	}
	for _, tc := range tests {
		if err := tc.save(); err == nil {
			t.Errorf("%s: Save succeeded, want an error", tc.name)
		}
		got, err := Load(ctx, dir)
		if err != nil {
			t.Fatalf("%s: the good checkpoint no longer loads: %v", tc.name, err)
		}
		sameWeights(t, got, good)
		if names := dirNames(t, root); !reflect.DeepEqual(names, []string{"ckpt"}) {
			t.Errorf("%s: after a failed Save the parent holds %v, want only ckpt", tc.name, names)
		}
	}
}

func TestLoadRefusesBrokenCheckpoints(t *testing.T) {
	ctx := context.Background()
	m := randomModel(t, testConfig(2, true, 1), 1, 1)
	files, err := (&Checkpoint{Model: m}).encode()
	if err != nil {
		t.Fatal(err)
	}
	weights, config := files[WeightsFile], files[ConfigFile]
	otherCfg := testConfig(2, false, 1) // same shapes, no biases
	otherJSON, err := (&Checkpoint{Model: randomModel(t, otherCfg, 1, 1)}).encode()
	if err != nil {
		t.Fatal(err)
	}
	wider := testConfig(2, true, 1)
	wider.SkipChannels++
	widerFiles, err := (&Checkpoint{Model: randomModel(t, wider, 1, 1)}).encode()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		config, weights []byte // nil: file absent
		want            string // fragment of the error
	}{
		{"no config", nil, weights, ConfigFile},
		{"no weights", config, nil, WeightsFile},
		{"config not JSON", []byte("{"), weights, ConfigFile},
		{"invalid config", []byte(`{"filter_width": 1}`), weights, "filter_width"},
		{"truncated weights", config, weights[:len(weights)/2], WeightsFile},
		{"truncated header", config, weights[:20], WeightsFile},
		{"empty weights", config, []byte{}, WeightsFile},
		{"garbage weights", config, []byte(strings.Repeat("\xff", 64)), WeightsFile},
		{"unexpected bias tensors", otherJSON[ConfigFile], weights, "unexpected tensor"},
		{"missing bias tensors", config, otherJSON[WeightsFile], "missing"},
		{"shape mismatch", config, widerFiles[WeightsFile], "shape"},
		// A config that would need terabytes: refused before allocating.
		{"absurd config", []byte(`{"filter_width":2,"sample_rate":8000,"dilations":[1],"residual_channels":1000000000,
			"dilation_channels":1000000000,"skip_channels":1,"quantization_channels":256}`), weights, "needs"},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		if tc.config != nil {
			os.WriteFile(filepath.Join(dir, ConfigFile), tc.config, 0o644)
		}
		if tc.weights != nil {
			os.WriteFile(filepath.Join(dir, WeightsFile), tc.weights, 0o644)
		}
		_, err := Load(ctx, dir)
		var ce *CheckpointError
		if !errors.As(err, &ce) {
			t.Errorf("%s: Load error = %v, want *CheckpointError", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load error = %q, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load(ctx, filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing dir) error = %v, want fs.ErrNotExist", err)
	}
}

func TestParamCount(t *testing.T) {
	for _, k := range []int{2, 3} {
		for _, bias := range []bool{false, true} {
			for conds := 0; conds <= 2; conds++ {
				m := randomModel(t, testConfig(k, bias, conds), 1, 1)
				if got, want := paramCount(m.Config), float64(m.NumParams()); got != want {
					t.Errorf("paramCount(K=%d bias=%v conds=%d) = %v, want NumParams %v", k, bias, conds, got, want)
				}
			}
		}
	}
	// Vocoders: the upsampling weights of either kind (a repeat-conv2d
	// kernel is shared by the channels: too high a count refused to load
	// an 80-band one's own checkpoint).
	locals := repeatConfigs()
	locals["transposed"] = localConfig()
	wide := localConfig()
	wide.Local = &LocalConfig{Channels: 80, Hop: 256, Scales: []int{4, 4, 4, 4}, Width: 2, Net: UpsampleRepeatConv2D, FreqWidth: 5}
	locals["repeat-conv2d 80 bands"] = wide
	for name, cfg := range locals {
		m := randomLocalModel(t, cfg, 3)
		if got, want := paramCount(m.Config), float64(m.NumParams()); got != want {
			t.Errorf("paramCount(%s) = %v, want NumParams %v", name, got, want)
		}
	}
}

// TestLoadInt8 loads hand-made int8 weights: post2.weight (2, 1) holds
// the bytes 5 and 0xfb under each scheme, so the expected values are
// (q - zero_point) * scale worked out by hand.
func TestLoadInt8(t *testing.T) {
	cfg := Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1},
		ResidualChannels: 1, DilationChannels: 1, SkipChannels: 1, QuantizationChannels: 2}
	i32 := func(name string, v ...int32) safetensors.Tensor {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		}
		return safetensors.Tensor{Name: name, DType: safetensors.I32, Shape: []int{len(v)}, Data: b}
	}
	f32 := func(name string, v ...float32) safetensors.Tensor {
		return safetensors.FromFloat32(name, []int{len(v)}, v, safetensors.F32)
	}
	for _, tc := range []struct {
		name    string
		dtype   safetensors.DType
		qscheme string
		aux     []safetensors.Tensor
		want    []float32
	}{
		// I8 5 and -5, zero point 0, scale 0.1.
		{"qint8 per tensor symmetric", safetensors.I8, "per_tensor_symmetric",
			[]safetensors.Tensor{f32("post2.weight.scale", 0.1)}, []float32{0.5, -0.5}},
		// U8 5 and 251, symmetric: zero point 128.
		{"quint8 per tensor symmetric", safetensors.U8, "per_tensor_symmetric",
			[]safetensors.Tensor{f32("post2.weight.scale", 0.5)}, []float32{-61.5, 61.5}},
		// U8 per row: (5-1)*0.25, (251-250)*2.
		{"quint8 per channel affine", safetensors.U8, "per_channel_affine",
			[]safetensors.Tensor{f32("post2.weight.scale", 0.25, 2), i32("post2.weight.zero_point", 1, 250)}, []float32{1, 2}},
		// I8 per row: (5-(-3))*0.5, (-5-2)*1.
		{"qint8 per channel affine", safetensors.I8, "per_channel_affine",
			[]safetensors.Tensor{f32("post2.weight.scale", 0.5, 1), i32("post2.weight.zero_point", -3, 2)}, []float32{4, -7}},
	} {
		b := int8File(t, cfg, tc.dtype, tc.qscheme, tc.aux)
		got, dtype, err := UnmarshalSafetensors(cfg, b)
		if err != nil {
			t.Errorf("%s: UnmarshalSafetensors: %v", tc.name, err)
			continue
		}
		if dtype != Int8 || !reflect.DeepEqual(got.Post2.W, tc.want) {
			t.Errorf("%s: UnmarshalSafetensors = post2.weight %v, dtype %s; want %v, int8", tc.name, got.Post2.W, dtype, tc.want)
		}
		dir := filepath.Join(t.TempDir(), "m")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, WeightsFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, fsys := range []fs.FS{os.DirFS(dir), fstest.MapFS{WeightsFile: {Data: b}}} {
			if d, err := StoredDType(fsys, "."); d != Int8 || err != nil {
				t.Errorf("%s: StoredDType = %q, %v; want int8", tc.name, d, err)
			}
		}
	}
}

// int8File is model.safetensors for a zero model of cfg whose
// post2.weight (2, 1) holds the bytes 5 and 0xfb as dtype, with the
// auxiliary tensors aux and the scheme qscheme in the metadata.
func int8File(t *testing.T, cfg Config, dtype safetensors.DType, qscheme string, aux []safetensors.Tensor) []byte {
	t.Helper()
	m, _ := NewZero(cfg)
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		if p.Name == "post2.weight" {
			ts = append(ts, safetensors.Tensor{Name: p.Name, DType: dtype, Shape: p.Shape, Data: []byte{5, 0xfb}})
			continue
		}
		ts = append(ts, safetensors.FromFloat32(p.Name, p.Shape, p.Data, safetensors.F32))
	}
	ts = append(ts, aux...)
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, map[string]string{QSchemeKey: qscheme}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLoadInt8Refuses: malformed scales or zero points are a *QuantError,
// never a panic.
func TestLoadInt8Refuses(t *testing.T) {
	cfg := Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1},
		ResidualChannels: 1, DilationChannels: 1, SkipChannels: 1, QuantizationChannels: 2}
	for _, tc := range []struct {
		name    string
		qscheme string
		aux     []safetensors.Tensor
	}{
		{"no scale", "per_tensor_symmetric", nil},
		{"affine without zero point", "per_tensor_affine", []safetensors.Tensor{safetensors.FromFloat32("post2.weight.scale", []int{1}, []float32{1}, safetensors.F32)}},
		{"negative scale", "per_tensor_symmetric", []safetensors.Tensor{safetensors.FromFloat32("post2.weight.scale", []int{1}, []float32{-1}, safetensors.F32)}},
		{"three scales for two rows", "per_channel_symmetric", []safetensors.Tensor{safetensors.FromFloat32("post2.weight.scale", []int{3}, []float32{1, 1, 1}, safetensors.F32)}},
	} {
		b := int8File(t, cfg, safetensors.I8, tc.qscheme, tc.aux)
		_, _, err := UnmarshalSafetensors(cfg, b)
		var qe *QuantError
		if !errors.As(err, &qe) {
			t.Errorf("%s: UnmarshalSafetensors error = %v, want a *QuantError", tc.name, err)
		}
	}
}

// TestStoredDType: the float dtypes Save writes are told from the header.
func TestStoredDType(t *testing.T) {
	ctx := context.Background()
	m := randomModel(t, testConfig(2, true, 1), 9, 1)
	for _, d := range []DType{F32, F16, BF16} {
		dir := filepath.Join(t.TempDir(), "m")
		if err := SaveCheckpoint(ctx, dir, &Checkpoint{Model: m, DType: d}); err != nil {
			t.Fatal(err)
		}
		if got, err := StoredDType(os.DirFS(dir), "."); got != d || err != nil {
			t.Errorf("StoredDType(%s checkpoint) = %q, %v", d, got, err)
		}
	}
	if _, err := StoredDType(os.DirFS(t.TempDir()), "."); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("StoredDType(empty directory) error = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadConfigJSON(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "ibab_wavenet_params.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := LoadConfigJSON(f)
	if err != nil {
		t.Fatalf("LoadConfigJSON(ibab's wavenet_params.json): %v", err)
	}
	// DESIGN.md: the ibab preset is ibab's defaults.
	want, _ := Preset("ibab")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadConfigJSON(ibab) = %+v, want the ibab preset %+v", got, want)
	}
	if rf := got.ReceptiveField(); rf != 5117 {
		t.Errorf("ibab ReceptiveField() = %d, want 5117 (DESIGN.md)", rf)
	}
	// The 2016 file predates skip_channels: refused, naming the field.
	old, err := os.Open(filepath.Join("testdata", "ibab_wavenet_params_2016.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if _, err := LoadConfigJSON(old); err == nil || !strings.Contains(err.Error(), "skip_channels") {
		t.Errorf("LoadConfigJSON(2016 ibab file) error = %v, want one naming skip_channels", err)
	}
	scalar := `{"filter_width":2,"sample_rate":16000,"dilations":[1],"residual_channels":1,"dilation_channels":1,
		"skip_channels":1,"quantization_channels":256,"scalar_input":true}`
	if _, err := LoadConfigJSON(strings.NewReader(scalar)); err == nil || !strings.Contains(err.Error(), "scalar_input") {
		t.Errorf("LoadConfigJSON(scalar_input true) error = %v, want one naming scalar_input", err)
	}
}

// TestCleanTemp: the leftovers of a WriteDir killed part way are removed
// (a temporary directory; an old copy set aside while its directory is
// in place), an old copy whose directory is missing is put back, and
// everything else is left alone.
func TestCleanTemp(t *testing.T) {
	parent := t.TempDir()
	mk := func(name string) {
		if err := os.MkdirAll(filepath.Join(parent, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(parent, name, "f"), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"step-1", ".step-2.tmp-123", "kept", ".kept.tmp-9.old", ".lost.tmp-7.old", ".hidden"} {
		mk(n)
	}
	removed, err := CleanTemp(parent)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(parent, ".kept.tmp-9.old"), filepath.Join(parent, ".step-2.tmp-123")}
	if fmt.Sprint(removed) != fmt.Sprint(want) {
		t.Errorf("CleanTemp removed %v, want %v", removed, want)
	}
	entries, _ := os.ReadDir(parent)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if got := fmt.Sprint(left); got != "[.hidden kept lost step-1]" {
		t.Errorf("left %s, want [.hidden kept lost step-1] (lost put back from its old copy)", got)
	}
	if b, _ := os.ReadFile(filepath.Join(parent, "lost", "f")); string(b) != ".lost.tmp-7.old" {
		t.Errorf("lost/f = %q, want the old copy's content", b)
	}
}
