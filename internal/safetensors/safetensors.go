package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
)

// MaxHeader is the largest header Read accepts, the limit of the reference
// implementation (100 MB).
const MaxHeader = 100_000_000

// metadataKey is the reserved header key of the free-form string metadata.
const metadataKey = "__metadata__"

// DType is an element type, spelled as in the header.
type DType string

// The element types of the format. The order of this list is the reference
// implementation's (increasing alignment), used to sort tensors on write.
const (
	BOOL    DType = "BOOL"
	U8      DType = "U8"
	I8      DType = "I8"
	F8E5M2  DType = "F8_E5M2"
	F8E4M3  DType = "F8_E4M3"
	I16     DType = "I16"
	U16     DType = "U16"
	F16     DType = "F16"
	BF16    DType = "BF16"
	I32     DType = "I32"
	U32     DType = "U32"
	F32     DType = "F32"
	F64     DType = "F64"
	I64     DType = "I64"
	U64     DType = "U64"
	nDTypes       = 15
)

var dtypeOrder = [nDTypes]DType{BOOL, U8, I8, F8E5M2, F8E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64}

// rank is d's position in the reference order, or -1 if d is unknown.
func (d DType) rank() int { return slices.Index(dtypeOrder[:], d) }

// Size is the number of bytes of one element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case BOOL, U8, I8, F8E5M2, F8E4M3:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case F64, I64, U64:
		return 8
	}
	return 0
}

// Tensor is one named tensor: Data holds len(shape elements)*DType.Size()
// bytes, little-endian, row-major. A tensor read from a file aliases the
// file's buffer.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements is the product of the shape (1 for a scalar, shape []).
func (t Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// FormatError describes a malformed file or an unwritable tensor. Tensor
// names the tensor concerned, if any.
type FormatError struct {
	Tensor string
	Msg    string
}

func (e *FormatError) Error() string {
	if e.Tensor != "" {
		return "safetensors: tensor " + strconv.Quote(e.Tensor) + ": " + e.Msg
	}
	return "safetensors: " + e.Msg
}

func formatErr(tensor, format string, args ...any) error {
	return &FormatError{Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
}

// File is the content of a safetensors file.
type File struct {
	// Tensors in data order (by offset).
	Tensors []Tensor
	// Metadata is the "__metadata__" object, nil if absent.
	Metadata map[string]string
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// Write writes tensors and metadata (nil for none) in the safetensors
// format. Tensors are laid out by descending dtype size, then name, as the
// reference implementation does; the header is compact JSON with
// "__metadata__" first (keys sorted), padded with spaces to a multiple of 8.
// It refuses duplicate or reserved names, unknown dtypes, negative
// dimensions and data whose length does not match dtype and shape.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order := make([]int, len(tensors))
	seen := make(map[string]bool, len(tensors))
	for i, t := range tensors {
		order[i] = i
		if t.Name == metadataKey {
			return formatErr(t.Name, "name is reserved for metadata")
		}
		if seen[t.Name] {
			return formatErr(t.Name, "name used twice")
		}
		seen[t.Name] = true
		if t.DType.rank() < 0 {
			return formatErr(t.Name, "unknown dtype %q", t.DType)
		}
		n, ok := numBytes(t.Shape, t.DType, math.MaxInt64)
		if !ok {
			return formatErr(t.Name, "invalid shape %v", t.Shape)
		}
		if uint64(len(t.Data)) != n {
			return formatErr(t.Name, "%d data bytes, shape %v of %s needs %d", len(t.Data), t.Shape, t.DType, n)
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := tensors[order[a]], tensors[order[b]]
		if ra, rb := ta.DType.rank(), tb.DType.rank(); ra != rb {
			return ra > rb
		}
		return ta.Name < tb.Name
	})

	var h bytes.Buffer
	h.WriteByte('{')
	first := true
	if metadata != nil {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
		first = false
	}
	var off uint64
	for _, i := range order {
		t := tensors[i]
		if !first {
			h.WriteByte(',')
		}
		first = false
		writeJSONString(&h, t.Name)
		h.WriteString(`:{"dtype":"`)
		h.WriteString(string(t.DType))
		h.WriteString(`","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := off + uint64(len(t.Data))
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	for _, i := range order {
		if _, err := w.Write(tensors[i].Data); err != nil {
			return fmt.Errorf("safetensors: write: %w", err)
		}
	}
	return nil
}

// writeJSONString writes s as a JSON string. encoding/json escapes <, > and
// & as \u003c etc., which is valid JSON that every reader accepts.
func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// numBytes is the byte size of shape elements of dtype d, and whether the
// shape is valid and the size at most limit. It never overflows: a product
// that would pass limit is refused before it is computed.
func numBytes(shape []int, d DType, limit uint64) (uint64, bool) {
	n := uint64(d.Size())
	for _, s := range shape {
		if s < 0 {
			return 0, false
		}
		if s == 0 {
			n = 0
		}
	}
	if n == 0 {
		return 0, true
	}
	for _, s := range shape {
		if uint64(s) > limit/n {
			return 0, false
		}
		n *= uint64(s)
	}
	return n, n <= limit
}

// Decode parses a whole safetensors file held in b. The tensors' Data alias
// b.
func Decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, formatErr("", "file is %d bytes, shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if err := checkHeaderLen(n, uint64(len(b))); err != nil {
		return nil, err
	}
	f, end, err := parseHeader(b[8:8+n], uint64(len(b))-8-n)
	if err != nil {
		return nil, err
	}
	data := b[8+n:]
	for i := range f.Tensors {
		t := &f.Tensors[i]
		t.Data = data[end[i][0]:end[i][1]:end[i][1]]
	}
	return f, nil
}

// Read parses a safetensors file of size bytes from r, reading the header
// first and then the data in one piece: a header that lies about sizes is
// refused before anything larger than the header is allocated, and the data
// buffer is never larger than size.
func Read(r io.ReaderAt, size int64) (*File, error) {
	f, end, n, err := readHeader(r, size)
	if err != nil {
		return nil, err
	}
	dataLen := uint64(size) - 8 - n
	// Make sure the file really is as long as claimed before allocating.
	if dataLen > 0 {
		var last [1]byte
		if _, err := r.ReadAt(last[:], size-1); err != nil {
			return nil, readErr("data", err)
		}
	}
	data := make([]byte, dataLen)
	if dataLen > 0 {
		if _, err := r.ReadAt(data, int64(8+n)); err != nil {
			return nil, readErr("data", err)
		}
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		t.Data = data[end[i][0]:end[i][1]:end[i][1]]
	}
	return f, nil
}

// ReadHeader parses only the header of a safetensors file of size bytes:
// the tensors (without Data) and the metadata, checked as Read checks
// them. It reads at most 8 bytes plus the header (MaxHeader at most).
func ReadHeader(r io.ReaderAt, size int64) (*File, error) {
	f, _, _, err := readHeader(r, size)
	return f, err
}

// readHeader reads and parses the header; it returns the tensors' data
// offsets and the header length.
func readHeader(r io.ReaderAt, size int64) (*File, [][2]uint64, uint64, error) {
	if size < 8 {
		return nil, nil, 0, formatErr("", "file is %d bytes, shorter than the 8-byte header length", size)
	}
	var nb [8]byte
	if _, err := r.ReadAt(nb[:], 0); err != nil {
		return nil, nil, 0, readErr("header length", err)
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if err := checkHeaderLen(n, uint64(size)); err != nil {
		return nil, nil, 0, err
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, nil, 0, readErr("header", err)
	}
	f, end, err := parseHeader(header, uint64(size)-8-n)
	return f, end, n, err
}

func readErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{Msg: "file truncated in the " + what}
	}
	return fmt.Errorf("safetensors: read %s: %w", what, err)
}

func checkHeaderLen(n, size uint64) error {
	if n > MaxHeader {
		return formatErr("", "header length %d is larger than the %d-byte limit", n, MaxHeader)
	}
	if n > size-8 {
		return formatErr("", "header length %d runs past the end of the %d-byte file", n, size)
	}
	if n < 2 {
		return formatErr("", "header length %d is too short for a JSON object", n)
	}
	return nil
}

type tensorInfo struct {
	DType       *DType   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// parseHeader decodes and checks the JSON header for a data buffer of
// dataLen bytes. It returns the tensors sorted by offset, without Data, and
// their [begin, end) offsets.
func parseHeader(h []byte, dataLen uint64) (*File, [][2]uint64, error) {
	if !utf8.Valid(h) {
		return nil, nil, formatErr("", "header is not valid UTF-8")
	}
	if h[0] != '{' {
		return nil, nil, formatErr("", "header does not start with '{'")
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the '{'
		return nil, nil, formatErr("", "header: %v", err)
	}
	f := &File{}
	type entry struct {
		t        Tensor
		from, to uint64
	}
	var entries []entry
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, formatErr("", "header: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, formatErr("", "header: key is %v, want a string", tok)
		}
		if seen[name] {
			return nil, nil, formatErr(name, "key appears twice in the header")
		}
		seen[name] = true
		if name == metadataKey {
			md, err := decodeMetadata(dec)
			if err != nil {
				return nil, nil, err
			}
			f.Metadata = md
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, formatErr(name, "header: %v", err)
		}
		var info tensorInfo
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, nil, formatErr(name, "bad tensor entry: %v", err)
		}
		if info.DType == nil || info.Shape == nil || info.DataOffsets == nil {
			return nil, nil, formatErr(name, "entry needs dtype, shape and data_offsets")
		}
		dt := *info.DType
		if dt.rank() < 0 {
			return nil, nil, formatErr(name, "unknown dtype %q", dt)
		}
		if len(info.DataOffsets) != 2 {
			return nil, nil, formatErr(name, "data_offsets has %d values, want [begin, end]", len(info.DataOffsets))
		}
		from, to := info.DataOffsets[0], info.DataOffsets[1]
		if from > to || to > dataLen {
			return nil, nil, formatErr(name, "data_offsets [%d, %d] outside the %d-byte data buffer", from, to, dataLen)
		}
		shape := make([]int, len(info.Shape))
		for i, d := range info.Shape {
			if d < 0 {
				return nil, nil, formatErr(name, "negative dimension in shape %v", info.Shape)
			}
			shape[i] = int(d)
		}
		nb, ok := numBytes(shape, dt, dataLen)
		if !ok {
			return nil, nil, formatErr(name, "shape %v of %s is larger than the %d-byte data buffer", info.Shape, dt, dataLen)
		}
		if nb != to-from {
			return nil, nil, formatErr(name, "data_offsets [%d, %d] hold %d bytes, shape %v of %s needs %d", from, to, to-from, info.Shape, dt, nb)
		}
		entries = append(entries, entry{Tensor{Name: name, DType: dt, Shape: shape}, from, to})
	}
	if _, err := dec.Token(); err != nil { // the '}'
		return nil, nil, formatErr("", "header: %v", err)
	}
	// Only space padding may follow the object.
	for _, c := range h[dec.InputOffset():] {
		if c != ' ' {
			return nil, nil, formatErr("", "header has %q after the JSON object, want only space padding", c)
		}
	}
	// The tensors must tile the data buffer exactly: sorted by offset, each
	// begins where the previous ends, the last ends at the buffer's end.
	sort.SliceStable(entries, func(a, b int) bool {
		if entries[a].from != entries[b].from {
			return entries[a].from < entries[b].from
		}
		return entries[a].to < entries[b].to
	})
	var at uint64
	offs := make([][2]uint64, len(entries))
	f.Tensors = make([]Tensor, len(entries))
	for i, e := range entries {
		if e.from != at {
			if e.from < at {
				return nil, nil, formatErr(e.t.Name, "data_offsets [%d, %d] overlap the previous tensor, which ends at %d", e.from, e.to, at)
			}
			return nil, nil, formatErr(e.t.Name, "data_offsets [%d, %d] leave a hole after offset %d", e.from, e.to, at)
		}
		at = e.to
		offs[i] = [2]uint64{e.from, e.to}
		f.Tensors[i] = e.t
	}
	if at != dataLen {
		return nil, nil, formatErr("", "tensors cover %d bytes of the %d-byte data buffer", at, dataLen)
	}
	return f, offs, nil
}

func decodeMetadata(dec *json.Decoder) (map[string]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, formatErr("", "header: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, formatErr("", "__metadata__ is %v, want an object of strings", tok)
	}
	md := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, formatErr("", "header: %v", err)
		}
		k, ok := tok.(string)
		if !ok {
			return nil, formatErr("", "__metadata__ key is %v, want a string", tok)
		}
		if _, dup := md[k]; dup {
			return nil, formatErr("", "__metadata__ key %q appears twice", k)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, formatErr("", "header: %v", err)
		}
		v, ok := tok.(string)
		if !ok {
			return nil, formatErr("", "__metadata__[%q] is %v, want a string", k, tok)
		}
		md[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, formatErr("", "header: %v", err)
	}
	return md, nil
}
