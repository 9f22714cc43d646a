package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// unhex decodes hex written with spaces and line breaks for readability.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// golden is a file built by hand from the format description: tensor "a",
// F32, shape [2], values 1.0 and -2.0; tensor "b", U8, shape [3], values
// 1, 2, 3; metadata {"format": "pt"}. The writer puts F32 (4-byte
// elements) before U8, so "a" takes bytes 0..8 of the data and "b" 8..11.
func golden(t testing.TB) []byte {
	header := `{"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}`
	// The header above is 138 bytes; 6 spaces pad it to 144 = 0x90, a
	// multiple of 8, so the data starts 8-byte aligned at offset 152.
	if len(header) != 138 {
		t.Fatalf("golden header is %d bytes, the test's arithmetic assumes 138", len(header))
	}
	var b []byte
	b = append(b, unhex(t, "90 00 00 00 00 00 00 00")...) // N = 144, little-endian u64
	b = append(b, header...)
	b = append(b, "      "...)                             // 6 spaces of padding
	b = append(b, unhex(t, "00 00 80 3f  00 00 00 c0")...) // float32 1.0 = 0x3f800000, -2.0 = 0xc0000000, little-endian
	b = append(b, unhex(t, "01 02 03")...)                 // "b"
	return b
}

func goldenTensors() []Tensor {
	return []Tensor{
		{Name: "b", DType: U8, Shape: []int{3}, Data: []byte{1, 2, 3}},
		FromFloat32("a", []int{2}, []float32{1, -2}, F32),
	}
}

func TestWriteGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, goldenTensors(), map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if want := golden(t); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Write(golden tensors) =\n%s\nwant\n%s", hex.Dump(buf.Bytes()), hex.Dump(want))
	}
}

func TestReferenceSerialization(t *testing.T) {
	// The byte vector of the reference implementation's own
	// test_serialization: "attn.0", F32, shape [1, 2, 3], values 0..5. Its
	// header is exactly 64 bytes, so there is no padding.
	want := []byte{64, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, `{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`...)
	want = append(want, unhex(t, "00000000 0000803f 00000040 00004040 00008040 0000a040")...) // 0, 1, 2, 3, 4, 5
	var buf bytes.Buffer
	err := Write(&buf, []Tensor{FromFloat32("attn.0", []int{1, 2, 3}, []float32{0, 1, 2, 3, 4, 5}, F32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Write(attn.0) =\n%s\nwant\n%s", hex.Dump(buf.Bytes()), hex.Dump(want))
	}
	// An empty file: "{}" and 6 spaces, as the reference's test_empty.
	buf.Reset()
	if err := Write(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if want := append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, "{}      "...); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Write(nothing) = %q, want %q", buf.Bytes(), want)
	}
}

func TestReadGolden(t *testing.T) {
	b := golden(t)
	for _, read := range []struct {
		name string
		f    func() (*File, error)
	}{
		{"Decode", func() (*File, error) { return Decode(b) }},
		{"Read", func() (*File, error) { return Read(bytes.NewReader(b), int64(len(b))) }},
	} {
		f, err := read.f()
		if err != nil {
			t.Fatalf("%s(golden): %v", read.name, err)
		}
		if !reflect.DeepEqual(f.Metadata, map[string]string{"format": "pt"}) {
			t.Errorf("%s(golden).Metadata = %v, want format=pt", read.name, f.Metadata)
		}
		if len(f.Tensors) != 2 || f.Tensors[0].Name != "a" || f.Tensors[1].Name != "b" {
			t.Fatalf("%s(golden) tensors = %v, want a then b", read.name, f.Tensors)
		}
		a, _ := f.Tensor("a")
		v, err := a.Float32s()
		if err != nil || !reflect.DeepEqual(v, []float32{1, -2}) || !reflect.DeepEqual(a.Shape, []int{2}) {
			t.Errorf("%s(golden) a = %v %v (%v), want [2] [1 -2]", read.name, a.Shape, v, err)
		}
		bt, _ := f.Tensor("b")
		if bt.DType != U8 || !bytes.Equal(bt.Data, []byte{1, 2, 3}) {
			t.Errorf("%s(golden) b = %s %v, want U8 [1 2 3]", read.name, bt.DType, bt.Data)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tensors := []Tensor{
		FromFloat32("w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}, F32),
		FromFloat32("h", []int{3}, []float32{0.5, -1, 65504}, F16),
		FromFloat32("bf", []int{1}, []float32{3}, BF16),
		{Name: "i8", DType: I8, Shape: []int{2}, Data: []byte{0xff, 1}},
		{Name: "i32", DType: I32, Shape: []int{1}, Data: []byte{1, 0, 0, 0}},
		{Name: "i64", DType: I64, Shape: []int{}, Data: make([]byte, 8)}, // a scalar
		{Name: "empty", DType: F32, Shape: []int{0, 5}, Data: []byte{}},
		{Name: "odd \"name\" <&>", DType: U8, Shape: []int{1}, Data: []byte{7}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, tensors, map[string]string{"step": "12", "unicode": "é"}); err != nil {
		t.Fatal(err)
	}
	if (buf.Len()-8-len(tensorBytes(tensors)))%8 != 0 {
		t.Errorf("header length not a multiple of 8")
	}
	f, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatalf("Decode(Write(...)): %v", err)
	}
	if len(f.Tensors) != len(tensors) {
		t.Fatalf("Decode gave %d tensors, want %d", len(f.Tensors), len(tensors))
	}
	for _, want := range tensors {
		got, ok := f.Tensor(want.Name)
		if !ok || got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tensor %q = %+v, want %+v", want.Name, got, want)
		}
	}
	if f.Metadata["step"] != "12" || f.Metadata["unicode"] != "é" {
		t.Errorf("metadata = %v", f.Metadata)
	}
	// Data is laid out by descending element size: 8-byte I64 first.
	if f.Tensors[0].Name != "i64" {
		t.Errorf("first tensor in data order = %q, want i64", f.Tensors[0].Name)
	}
}

func tensorBytes(ts []Tensor) []byte {
	var b []byte
	for _, t := range ts {
		b = append(b, t.Data...)
	}
	return b
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name string
		ts   []Tensor
	}{
		{"duplicate", []Tensor{{Name: "x", DType: U8, Shape: []int{1}, Data: []byte{1}}, {Name: "x", DType: U8, Shape: []int{1}, Data: []byte{1}}}},
		{"reserved", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int{1}, Data: []byte{1}}}},
		{"dtype", []Tensor{{Name: "x", DType: "F128", Shape: []int{1}, Data: []byte{1}}}},
		{"size", []Tensor{{Name: "x", DType: F32, Shape: []int{2}, Data: []byte{1, 2, 3, 4}}}},
		{"negative", []Tensor{{Name: "x", DType: F32, Shape: []int{-1}}}},
	}
	for _, tc := range tests {
		var fe *FormatError
		if err := Write(&bytes.Buffer{}, tc.ts, nil); !errors.As(err, &fe) {
			t.Errorf("Write(%s) error = %v, want *FormatError", tc.name, err)
		}
	}
}

// file builds a safetensors file from a header string and a data buffer.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestReadRefuses(t *testing.T) {
	eight := make([]byte, 8)
	huge := binary.LittleEndian.AppendUint64(nil, 1<<62)
	tests := []struct {
		name, want string // want: a fragment of the error message
		b          []byte
	}{
		{"empty", "shorter than the 8-byte", nil},
		{"short", "shorter than the 8-byte", []byte{1, 2, 3}},
		{"absurd header length", "limit", append(huge, '{', '}')},
		{"header past end", "past the end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...)},
		{"not json", "header", file(`{"a":`, nil)},
		{"not an object", "start with", file(`[1,2]`, nil)},
		{"bad utf8", "UTF-8", file("{\"\xff\":1}", nil)},
		{"trailing junk", "after the JSON", file(`{}x`, nil)},
		{"duplicate key", "twice", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2})},
		{"duplicate metadata", "twice", file(`{"__metadata__":{"k":"1"},"__metadata__":{}}`, nil)},
		{"metadata not strings", "want a string", file(`{"__metadata__":{"k":1}}`, nil)},
		{"unknown dtype", "unknown dtype", file(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, make([]byte, 16))},
		{"missing field", "needs dtype", file(`{"a":{"dtype":"U8","shape":[1]}}`, []byte{1})},
		{"offsets not a pair", "want [begin, end]", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}`, []byte{1})},
		{"negative offset", "bad tensor entry", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, []byte{1})},
		{"negative dim", "negative", file(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, []byte{1})},
		{"fractional dim", "bad tensor entry", file(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, []byte{1})},
		{"end before begin", "outside", file(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}`, []byte{1})},
		{"past buffer", "outside", file(`{"a":{"dtype":"U8","shape":[9],"data_offsets":[0,9]}}`, eight)},
		{"size mismatch", "needs", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, eight)},
		{"shape beyond buffer", "larger than", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight)},
		{"shape overflow", "larger than", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}`, eight)},
		{"overlap", "overlap", file(`{"a":{"dtype":"U8","shape":[6],"data_offsets":[0,6]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}`, eight)},
		{"hole", "hole", file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[3],"data_offsets":[5,8]}}`, eight)},
		{"hole at start", "hole", file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}`, eight)},
		{"uncovered tail", "cover 4 bytes", file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, eight)},
	}
	for _, tc := range tests {
		for _, read := range []struct {
			name string
			f    func([]byte) (*File, error)
		}{
			{"Decode", Decode},
			{"Read", func(b []byte) (*File, error) { return Read(bytes.NewReader(b), int64(len(b))) }},
		} {
			f, err := read.f(tc.b)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("%s(%s) = %v, %v; want a *FormatError", read.name, tc.name, f, err)
				continue
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s(%s) error = %q, want it to mention %q", read.name, tc.name, err, tc.want)
			}
		}
	}
}

func TestReadTruncated(t *testing.T) {
	// Read is told the real size but the reader stops early (a file
	// shrinking under us, or a lying size): a FormatError, not a panic or
	// a huge allocation.
	b := golden(t)
	for _, cut := range []int{4, 20, len(b) - 1} {
		_, err := Read(bytes.NewReader(b[:cut]), int64(len(b)))
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("Read(golden cut at %d, size %d) error = %v, want *FormatError", cut, len(b), err)
		}
	}
	// A truncated file with its true size: the offsets do not cover it.
	for cut := 8; cut < len(b); cut++ {
		if _, err := Decode(b[:cut]); err == nil {
			t.Errorf("Decode(golden cut at %d): no error", cut)
		}
	}
}

func TestF16(t *testing.T) {
	tests := []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},                 // largest finite half
		{65519, 0x7bff},                 // below the halfway point to 65536 (65520)
		{65520, 0x7c00},                 // halfway: ties to even rounds up to Inf
		{1e10, 0x7c00},                  // overflow to Inf
		{float32(math.Inf(-1)), 0xfc00}, // -Inf
		{0x1p-14, 0x0400},               // smallest normal
		{0x1p-24, 0x0001},               // smallest subnormal
		{0x1p-25, 0x0000},               // half of it: tie, rounds to even (0)
		{0x1.8p-25, 0x0001},             // above the tie: rounds up
		{0x3p-24, 0x0003},               // subnormal 3 * 2^-24, exact
		{1 + 0x1p-11, 0x3c00},           // tie between 0x3c00 and 0x3c01: even
		{1 + 0x3p-11, 0x3c02},           // tie between 0x3c01 and 0x3c02: even
		{1 + 0x1p-11 + 0x1p-20, 0x3c01}, // just above the tie
		{0x1.ffcp-15, 0x0400},           // rounds up from subnormal into the smallest normal
	}
	for _, tc := range tests {
		if got := Float32ToF16(tc.f); got != tc.want {
			t.Errorf("Float32ToF16(%g) = %#04x, want %#04x", tc.f, got, tc.want)
		}
	}
	// Every half value converts to float32 and back unchanged (NaNs stay
	// NaN), and F16ToFloat32 matches the formula (-1)^s 2^(e-15) (1 + m/1024).
	for h := 0; h < 1<<16; h++ {
		f := F16ToFloat32(uint16(h))
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case e == 31 && m != 0:
			if !math.IsNaN(float64(f)) {
				t.Fatalf("F16ToFloat32(%#04x) = %v, want NaN", h, f)
			}
			if !math.IsNaN(float64(F16ToFloat32(Float32ToF16(f)))) {
				t.Fatalf("F16 NaN %#04x did not stay NaN", h)
			}
			continue
		case e == 31:
			want = math.Inf(1)
		case e == 0:
			want = math.Ldexp(float64(m), -24)
		default:
			want = math.Ldexp(1+float64(m)/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		if float64(f) != want || (want == 0 && math.Signbit(float64(f)) != (s == 1)) {
			t.Fatalf("F16ToFloat32(%#04x) = %g, want %g", h, f, want)
		}
		if back := Float32ToF16(f); back != uint16(h) {
			t.Fatalf("Float32ToF16(F16ToFloat32(%#04x)) = %#04x", h, back)
		}
	}
}

func TestBF16(t *testing.T) {
	tests := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{1 + 0x1p-8, 0x3f80},           // tie between 0x3f80 and 0x3f81: even
		{1 + 0x3p-8, 0x3f82},           // tie between 0x3f81 and 0x3f82: even
		{1 + 0x1p-8 + 0x1p-20, 0x3f81}, // just above the tie
		{math.MaxFloat32, 0x7f80},      // rounds up to Inf
		{float32(math.Inf(-1)), 0xff80},
	}
	for _, tc := range tests {
		if got := Float32ToBF16(tc.f); got != tc.want {
			t.Errorf("Float32ToBF16(%g) = %#04x, want %#04x", tc.f, got, tc.want)
		}
	}
	if got := Float32ToBF16(float32(math.NaN())); !math.IsNaN(float64(BF16ToFloat32(got))) {
		t.Errorf("Float32ToBF16(NaN) = %#04x, not a NaN", got)
	}
	for h := 0; h < 1<<16; h++ {
		f := BF16ToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := Float32ToBF16(f); back != uint16(h) {
			t.Fatalf("Float32ToBF16(BF16ToFloat32(%#04x)) = %#04x", h, back)
		}
	}
}

func TestFloat32sDTypes(t *testing.T) {
	f64 := Tensor{Name: "d", DType: F64, Shape: []int{1}, Data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.25))}
	if v, err := f64.Float32s(); err != nil || v[0] != 0.25 {
		t.Errorf("F64 Float32s = %v, %v; want [0.25]", v, err)
	}
	i8 := Tensor{Name: "i", DType: I8, Shape: []int{1}, Data: []byte{1}}
	if _, err := i8.Float32s(); err == nil {
		t.Errorf("I8 Float32s: no error")
	}
	bad := Tensor{Name: "x", DType: F32, Shape: []int{2}, Data: []byte{1, 2, 3}}
	if _, err := bad.Float32s(); err == nil {
		t.Errorf("Float32s with 3 bytes for 2 F32: no error")
	}
}

func FuzzRead(f *testing.F) {
	// The seed corpus lives in testdata/fuzz/FuzzRead; add the golden
	// file too so a fresh checkout fuzzes from a valid input.
	f.Add(golden(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		got2, err2 := Read(bytes.NewReader(b), int64(len(b)))
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Decode error %v, Read error %v: they disagree", err, err2)
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Decode error %v is not a *FormatError", err)
			}
			return
		}
		if len(got.Tensors) != len(got2.Tensors) {
			t.Fatalf("Decode and Read disagree")
		}
		// A file that reads writes back and reads again the same.
		var buf bytes.Buffer
		if err := Write(&buf, got.Tensors, got.Metadata); err != nil {
			t.Fatalf("Write(Decode(b)): %v", err)
		}
		again, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("Decode(Write(Decode(b))): %v", err)
		}
		for _, want := range got.Tensors {
			g, ok := again.Tensor(want.Name)
			if !ok || g.DType != want.DType || !reflect.DeepEqual(g.Shape, want.Shape) || !bytes.Equal(g.Data, want.Data) {
				t.Fatalf("round trip changed tensor %q", want.Name)
			}
		}
		if !reflect.DeepEqual(again.Metadata, got.Metadata) {
			t.Fatalf("round trip changed metadata %v -> %v", got.Metadata, again.Metadata)
		}
	})
}

// TestSeedCorpus checks that the shipped seed corpus exists, so a fuzz run
// starts from interesting inputs.
func TestSeedCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzRead", "*"))
	if err != nil || len(files) < 3 {
		t.Fatalf("seed corpus: %d files (%v), want at least 3", len(files), err)
	}
	for _, name := range files {
		if _, err := os.ReadFile(name); err != nil {
			t.Error(err)
		}
	}
}
