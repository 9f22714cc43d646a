package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
)

// npyFile builds a .npy stream by hand, as numpy.save writes one (format
// 1.0: magic, version, little-endian header length, the header dict padded
// with spaces to 64 bytes and a newline, then the raw values).
func npyFile(header string, values []byte) []byte {
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	return append(append(b, header...), values...)
}

func f64s(order binary.AppendByteOrder, v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = order.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func TestDecodeNPY(t *testing.T) {
	vals := []float32{1, -2.5, 3, 0.25, 5, -6}
	for _, c := range []struct {
		name       string
		in         []byte
		rows, cols int
		want       []float32
		problem    Problem
	}{
		{"float32", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32le(vals...)), 2, 3, vals, ""},
		{"float64", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", f64s(binary.LittleEndian, 1, -2.5, 3, 0.25, 5, -6)), 3, 2, vals, ""},
		{"big-endian float64", npyFile("{'descr': '>f8', 'fortran_order': False, 'shape': (1, 6), }", f64s(binary.BigEndian, 1, -2.5, 3, 0.25, 5, -6)), 1, 6, vals, ""},
		{"empty", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 80), }", nil), 0, 80, []float32{}, ""},
		{"int16", npyFile("{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", make([]byte, 12)), 0, 0, nil, Unsupported},
		{"fortran", npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f32le(vals...)), 0, 0, nil, Unsupported},
		{"1-D", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f32le(vals...)), 0, 0, nil, Unsupported},
		{"3-D", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", f32le(vals...)), 0, 0, nil, Unsupported},
		{"short data", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32le(vals[:5]...)), 0, 0, nil, Truncated},
		{"huge shape", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", nil), 0, 0, nil, TooManyFrames},
		{"not npy", []byte("RIFF\x00\x00\x00\x00WAVEfmt "), 0, 0, nil, BadMagic},
		{"cut header", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", nil)[:20], 0, 0, nil, Truncated},
	} {
		got, rows, cols, err := DecodeNPY(bytes.NewReader(c.in))
		if c.problem != "" {
			if !errors.Is(err, &FormatError{Problem: c.problem}) {
				t.Errorf("%s: DecodeNPY error = %v, want problem %q", c.name, err, c.problem)
			}
			continue
		}
		if err != nil || rows != c.rows || cols != c.cols || !slices.Equal(got, c.want) {
			t.Errorf("%s: DecodeNPY = %v (%d, %d), %v; want %v (%d, %d)", c.name, got, rows, cols, err, c.want, c.rows, c.cols)
		}
	}
}

func TestEncodeNPYRoundTrip(t *testing.T) {
	vals := []float32{1, -2.5, 3, 0.25, 5, float32(math.Pi)}
	var b bytes.Buffer
	if err := EncodeNPY(&b, vals, 3, 2); err != nil {
		t.Fatal(err)
	}
	want := npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", f32le(vals...))
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("EncodeNPY = %q, want numpy.save's bytes %q", b.Bytes(), want)
	}
	got, rows, cols, err := DecodeNPY(&b)
	if err != nil || rows != 3 || cols != 2 || !slices.Equal(got, vals) {
		t.Errorf("DecodeNPY(EncodeNPY(%v)) = %v (%d, %d), %v", vals, got, rows, cols, err)
	}
}

// FuzzDecodeNPY: outside bytes never panic, and what decodes has the
// values of its shape.
func FuzzDecodeNPY(f *testing.F) {
	f.Add(npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32le(1, 2, 3, 4, 5, 6)))
	f.Add(npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }", f64s(binary.LittleEndian, 1)))
	f.Add([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00{'shape': (1,1)}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, rows, cols, err := DecodeNPY(bytes.NewReader(b))
		if err == nil && len(data) != rows*cols {
			t.Errorf("DecodeNPY gave %d values for shape (%d, %d)", len(data), rows, cols)
		}
	})
}
