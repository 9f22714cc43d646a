package audio

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
)

// MaxNPYValues bounds the values DecodeNPY reads (64 Mi: 256 MiB of float32).
const MaxNPYValues = 1 << 26

// npyMagic starts every .npy file (NumPy's format.py, "NEP 1").
const npyMagic = "\x93NUMPY"

var (
	npyDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
	npyDims    = regexp.MustCompile(`^\s*(\d+)\s*,\s*(\d+)\s*,?\s*$`)
)

// DecodeNPY reads a 2-D float32 or float64 array in C order from a .npy
// stream (format versions 1 to 3, little- or big-endian) and returns its
// values row-major as float32 with its shape. Anything else (other dtypes,
// Fortran order, other ranks, more than MaxNPYValues values, a short
// stream) is a *FormatError with Codec "npy" saying what was found.
func DecodeNPY(r io.Reader) (data []float32, rows, cols int, err error) {
	bad := func(p Problem, format string, args ...any) error {
		fe := &FormatError{Problem: p, Detail: fmt.Sprintf(format, args...), Codec: "npy"}
		for _, a := range args { // the reader's error, if any, stays reachable
			if err, ok := a.(error); ok {
				fe.Err = err
			}
		}
		return fe
	}
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, 0, 0, bad(Truncated, "%d-byte preamble: %v", len(pre), err)
	}
	if string(pre[:6]) != npyMagic {
		return nil, 0, 0, bad(BadMagic, "want \\x93NUMPY (a file written by numpy.save)")
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, 0, 0, bad(Truncated, "header length: %v", err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, 0, 0, bad(Truncated, "header length: %v", err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, 0, 0, bad(Unsupported, "format version %d.%d, want 1.0 to 3.0", pre[6], pre[7])
	}
	if hlen > 1<<16 {
		return nil, 0, 0, bad(ChunkSize, "header of %d bytes", hlen)
	}
	h := make([]byte, hlen)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, 0, 0, bad(Truncated, "header of %d bytes: %v", hlen, err)
	}
	d, f, s := npyDescr.FindSubmatch(h), npyFortran.FindSubmatch(h), npyShape.FindSubmatch(h)
	if d == nil || f == nil || s == nil {
		return nil, 0, 0, bad(BadFormat, "header %q lacks descr, fortran_order or shape", h)
	}
	var order binary.ByteOrder = binary.LittleEndian
	size := 0
	switch string(d[1]) {
	case "<f4":
		size = 4
	case "<f8":
		size = 8
	case ">f4":
		size, order = 4, binary.BigEndian
	case ">f8":
		size, order = 8, binary.BigEndian
	default:
		return nil, 0, 0, bad(Unsupported, "dtype %q, want float32 or float64 ('<f4', '<f8'): numpy.save(f, x.astype(numpy.float32))", d[1])
	}
	if string(f[1]) == "True" {
		return nil, 0, 0, bad(Unsupported, "Fortran order, want C order: save numpy.ascontiguousarray(x)")
	}
	dims := npyDims.FindSubmatch(s[1])
	if dims == nil {
		return nil, 0, 0, bad(Unsupported, "shape (%s), want 2 dimensions (frames, n_mels) or (n_mels, frames)", s[1])
	}
	rows, err1 := strconv.Atoi(string(dims[1]))
	cols, err2 := strconv.Atoi(string(dims[2]))
	if err1 != nil || err2 != nil || rows > MaxNPYValues || cols > MaxNPYValues || rows*cols > MaxNPYValues {
		return nil, 0, 0, bad(TooManyFrames, "shape (%s), at most %d values", s[1], MaxNPYValues)
	}
	n := rows * cols
	data = make([]float32, 0, min(n, 1<<16)) // grown as bytes arrive: a header cannot make it allocate
	buf := make([]byte, 8*1024)
	for len(data) < n {
		k := min(n-len(data), len(buf)/size)
		if _, err := io.ReadFull(r, buf[:k*size]); err != nil {
			return nil, 0, 0, bad(Truncated, "%d of %d values: %v", len(data), n, err)
		}
		for i := range k {
			if size == 4 {
				data = append(data, math.Float32frombits(order.Uint32(buf[4*i:])))
			} else {
				data = append(data, float32(math.Float64frombits(order.Uint64(buf[8*i:]))))
			}
		}
	}
	return data, rows, cols, nil
}

// EncodeNPY writes data, (rows, cols) row-major, as a version 1.0 .npy
// file of little-endian float32 in C order, as numpy.save writes it.
func EncodeNPY(w io.Writer, data []float32, rows, cols int) error {
	if rows*cols != len(data) {
		return fmt.Errorf("audio: npy: %d values for shape (%d, %d)", len(data), rows, cols)
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	// The header, with its 10-byte preamble and a closing newline, is
	// padded with spaces to a multiple of 64 bytes.
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := make([]byte, 10, 10+len(h)+4*len(data))
	copy(b, npyMagic)
	b[6], b[7] = 1, 0
	binary.LittleEndian.PutUint16(b[8:], uint16(len(h)))
	b = append(b, h...)
	for _, v := range data {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("audio: npy: %w", err)
	}
	return nil
}
