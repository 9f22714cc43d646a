package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Format describes the samples of a WAV stream as stored.
type Format struct {
	SampleRate int  // frames per second
	Channels   int  // samples per frame
	BitDepth   int  // bits per stored sample (valid bits for extensible)
	Float      bool // IEEE float samples instead of integer PCM
}

func (f Format) String() string {
	kind := "PCM"
	if f.Float {
		kind = "float"
	}
	return fmt.Sprintf("%d Hz, %d ch, %d-bit %s", f.SampleRate, f.Channels, f.BitDepth, kind)
}

// Clip is decoded audio: Samples holds Frames()*Format.Channels values in
// [-1, 1] (integer PCM scaled by 2^(bits-1); float files as stored, which
// may exceed 1), interleaved by channel. A mono clip is just the samples.
type Clip struct {
	Format  Format
	Samples []float32
}

// Frames returns the number of sample frames (samples per channel).
func (c *Clip) Frames() int {
	if c.Format.Channels <= 0 {
		return 0
	}
	return len(c.Samples) / c.Format.Channels
}

// Duration returns the clip's length in time.
func (c *Clip) Duration() time.Duration {
	if c.Format.SampleRate <= 0 {
		return 0
	}
	return time.Duration(float64(c.Frames()) / float64(c.Format.SampleRate) * float64(time.Second))
}

// Channel writes channel i into dst and returns it (nil dst allocates).
// It panics if i is not a channel of the clip.
func (c *Clip) Channel(dst []float32, i int) []float32 {
	ch := c.Format.Channels
	if i < 0 || i >= ch {
		panic(fmt.Sprintf("audio: channel %d of a %d-channel clip", i, ch))
	}
	n := c.Frames()
	dst = growF(dst, n)
	for f := range n {
		dst[f] = c.Samples[f*ch+i]
	}
	return dst
}

// Mono writes the average of the channels into dst and returns it (nil dst
// allocates). For a mono clip it copies the samples.
func (c *Clip) Mono(dst []float32) []float32 {
	ch := c.Format.Channels
	n := c.Frames()
	dst = growF(dst, n)
	if ch == 1 {
		copy(dst, c.Samples)
		return dst
	}
	inv := 1 / float32(ch)
	for f := range n {
		var s float32
		for _, v := range c.Samples[f*ch : f*ch+ch] {
			s += v
		}
		dst[f] = s * inv
	}
	return dst
}

// DecodeOptions adjust Decode.
type DecodeOptions struct {
	// Mono downmixes to one channel (the average of all channels).
	Mono bool
	// MaxSamples, if positive, bounds the number of samples (frames times
	// channels) decoded; a longer stream is a *FormatError. Memory grows
	// only with the bytes actually read in any case, whatever the header
	// claims.
	MaxSamples int64
	// Finite refuses float samples that are NaN or infinite (a
	// *FormatError, Problem NonFinite) instead of mapping them to 0 and
	// +-1.
	Finite bool
}

// Decode reads a WAV stream from r.
func Decode(r io.Reader) (*Clip, error) { return DecodeWith(r, DecodeOptions{}) }

// DecodeMono reads a WAV stream from r and downmixes it to one channel.
func DecodeMono(r io.Reader) (*Clip, error) { return DecodeWith(r, DecodeOptions{Mono: true}) }

const (
	formatPCM        = 1
	formatFloat      = 3
	formatALaw       = 6
	formatMuLaw      = 7
	formatExtensible = 0xFFFE

	maxFmtSize  = 1 << 12 // the extensible fmt chunk is 40 bytes; 4 KiB is generous
	maxChannels = 1024    // more than any real recording; guards the frame size
	unknownSize = 0xFFFFFFFF

	maxRateHertz = 1 << 24 // sample rates a WAV header may declare
)

// guidTail is bytes 2..15 of KSDATAFORMAT_SUBTYPE_PCM and _IEEE_FLOAT: the
// first two bytes of an extensible SubFormat carry the format code.
var guidTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

type header struct {
	codec      int
	channels   int
	rate       int
	blockAlign int
	bits       int // container bits per sample
	validBits  int
}

// DecodeWith reads a WAV stream from r with options.
func DecodeWith(r io.Reader, opts DecodeOptions) (*Clip, error) {
	var hdr [12]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if isEOF(err) {
			return nil, formatErr(Truncated, "stream ends after %d bytes, inside the 12-byte RIFF header", n)
		}
		return nil, fmt.Errorf("audio: wav: read header: %w", err)
	}
	switch {
	case string(hdr[0:4]) == "RF64" || string(hdr[0:4]) == "BW64":
		return nil, formatErr(Unsupported, "%s (64-bit RIFF) container", hdr[0:4])
	case string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE":
		return nil, formatErr(BadMagic, "starts with %q, want \"RIFF....WAVE\"", hdr[:])
	}
	var (
		h      header
		haveFm bool
		pos    int64 = 12
	)
	for {
		var ch [8]byte
		n, err := io.ReadFull(r, ch[:])
		if err != nil {
			if isEOF(err) {
				if n == 0 {
					if !haveFm {
						return nil, formatErr(MissingChunk, "no fmt chunk")
					}
					return nil, formatErr(MissingChunk, "no data chunk")
				}
				return nil, formatErr(Truncated, "stream ends inside a chunk header at byte %d", pos+int64(n))
			}
			return nil, fmt.Errorf("audio: wav: read chunk header: %w", err)
		}
		pos += 8
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if haveFm {
				return nil, formatErr(BadFormat, "second fmt chunk at byte %d", pos-8)
			}
			if size < 16 || size > maxFmtSize {
				return nil, formatErr(ChunkSize, "fmt chunk of %d bytes, want 16 to %d", size, maxFmtSize)
			}
			buf := make([]byte, size+size&1)
			if n, err := io.ReadFull(r, buf); err != nil && !(isEOF(err) && int64(n) >= size) {
				if isEOF(err) {
					return nil, formatErr(Truncated, "fmt chunk of %d bytes ends after %d", size, n)
				}
				return nil, fmt.Errorf("audio: wav: read fmt chunk: %w", err)
			}
			pos += int64(len(buf))
			if h, err = parseFmt(buf[:size]); err != nil {
				return nil, err
			}
			haveFm = true
		case "data":
			if !haveFm {
				return nil, formatErr(MissingChunk, "data chunk at byte %d before any fmt chunk", pos-8)
			}
			return readData(r, h, size, opts)
		default:
			// Skip unknown chunks (LIST, fact, cue, ...) without buffering
			// them: a lying size costs reading to EOF, not memory.
			skip := size + size&1
			n, err := io.CopyN(io.Discard, r, skip)
			if err != nil {
				if isEOF(err) {
					if n >= size { // only the pad byte is missing
						if !haveFm {
							return nil, formatErr(MissingChunk, "no fmt chunk")
						}
						return nil, formatErr(MissingChunk, "no data chunk")
					}
					return nil, formatErr(Truncated, "%q chunk at byte %d claims %d bytes, stream has %d", id, pos-8, size, n)
				}
				return nil, fmt.Errorf("audio: wav: skip %q chunk: %w", id, err)
			}
			pos += skip
		}
	}
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func parseFmt(b []byte) (header, error) {
	le := binary.LittleEndian
	h := header{
		codec:      int(le.Uint16(b[0:2])),
		channels:   int(le.Uint16(b[2:4])),
		rate:       int(le.Uint32(b[4:8])),
		blockAlign: int(le.Uint16(b[12:14])),
		bits:       int(le.Uint16(b[14:16])),
	}
	h.validBits = h.bits
	if h.codec == formatExtensible {
		if len(b) < 40 || le.Uint16(b[16:18]) < 22 {
			return h, formatErr(ChunkSize, "extensible fmt chunk of %d bytes, want at least 40", len(b))
		}
		if v := int(le.Uint16(b[18:20])); v != 0 {
			h.validBits = v
		}
		if [14]byte(b[26:40]) != guidTail {
			return h, formatErr(Unsupported, "extensible sub-format GUID % x", b[24:40])
		}
		h.codec = int(le.Uint16(b[24:26]))
	}
	switch h.codec {
	case formatPCM, formatFloat:
	case formatALaw, formatMuLaw:
		if h.bits != 8 {
			return h, formatErr(BadFormat, "G.711 (codec %d) with %d bits per sample, want 8", h.codec, h.bits)
		}
	default:
		return h, formatErr(Unsupported, "codec %#x (only PCM 1, IEEE float 3 and G.711 A-law 6 and mu-law 7 are decoded)", h.codec)
	}
	if h.channels == 0 {
		return h, formatErr(ZeroChannels, "fmt chunk declares 0 channels")
	}
	if h.channels > maxChannels {
		return h, formatErr(BadFormat, "%d channels, at most %d supported", h.channels, maxChannels)
	}
	if h.rate == 0 || h.rate > maxRateHertz {
		return h, formatErr(BadFormat, "sample rate %d Hz, want 1 to %d", h.rate, maxRateHertz)
	}
	switch {
	case h.codec == formatPCM && (h.bits == 8 || h.bits == 16 || h.bits == 24 || h.bits == 32):
	case h.codec == formatFloat && (h.bits == 32 || h.bits == 64):
	case h.codec == formatMuLaw || h.codec == formatALaw: // 8 bits, checked above
	default:
		kind := "PCM"
		if h.codec == formatFloat {
			kind = "float"
		}
		return h, formatErr(Unsupported, "%d-bit %s (PCM 8/16/24/32 and float 32/64 are decoded)", h.bits, kind)
	}
	if h.validBits > h.bits {
		return h, formatErr(BadFormat, "%d valid bits in a %d-bit container", h.validBits, h.bits)
	}
	if want := h.channels * h.bits / 8; h.blockAlign != want {
		return h, formatErr(BadFormat, "block align %d, want %d for %d channels of %d bits", h.blockAlign, want, h.channels, h.bits)
	}
	return h, nil
}

// readData decodes the data chunk. size is the chunk's declared size;
// unknownSize (0xFFFFFFFF, what streaming writers declare) reads to EOF.
func readData(r io.Reader, h header, size int64, opts DecodeOptions) (*Clip, error) {
	toEOF := size == unknownSize
	bps := h.bits / 8
	frame := h.blockAlign
	limit := opts.MaxSamples
	f := Format{SampleRate: h.rate, Channels: h.channels, BitDepth: h.validBits, Float: h.codec == formatFloat}

	// Preallocate for the declared size, but never more than 64 Ki samples
	// (256 KiB) up front: past that the slice grows with what actually
	// arrives, so a lying header costs nothing.
	var hint int64 = 1 << 16
	if !toEOF && size/int64(bps) < hint {
		hint = size / int64(bps)
	}
	if limit > 0 && hint > limit {
		hint = limit
	}
	samples := make([]float32, 0, hint)

	const block = 64 << 10
	buf := make([]byte, block-block%frame)
	var read int64
	for toEOF || read < size {
		want := int64(len(buf))
		if !toEOF && size-read < want {
			want = size - read
		}
		n, err := io.ReadFull(r, buf[:want])
		read += int64(n)
		whole := n - n%frame
		if limit > 0 && int64(len(samples)+whole/bps) > limit {
			return nil, formatErr(TooManyFrames, "more than %d samples", limit)
		}
		if opts.Finite && h.codec == formatFloat {
			if i := nonFinite(buf[:whole], bps); i >= 0 {
				return nil, formatErr(NonFinite, "sample %d is NaN or infinite", int64(len(samples))+int64(i))
			}
		}
		samples = appendSamples(samples, buf[:whole], h)
		if err != nil {
			if !isEOF(err) {
				return nil, fmt.Errorf("audio: wav: read data: %w", err)
			}
			if toEOF {
				break // a stream of unknown length ends where it ends
			}
			return nil, formatErr(Truncated, "data chunk claims %d bytes, stream has %d", size, read)
		}
		if n%frame != 0 { // only possible on the chunk's last read
			break // trailing bytes that do not make a whole frame are ignored
		}
	}
	c := &Clip{Format: f, Samples: samples}
	if opts.Mono && f.Channels > 1 {
		c.Samples = c.Mono(nil)
		c.Format.Channels = 1
	}
	return c, nil
}

func appendSamples(dst []float32, b []byte, h header) []float32 {
	le := binary.LittleEndian
	switch {
	case h.codec == formatFloat && h.bits == 32:
		for i := 0; i+4 <= len(b); i += 4 {
			dst = append(dst, sanitize(math.Float32frombits(le.Uint32(b[i:]))))
		}
	case h.codec == formatFloat && h.bits == 64:
		for i := 0; i+8 <= len(b); i += 8 {
			dst = append(dst, sanitize(float32(math.Float64frombits(le.Uint64(b[i:])))))
		}
	case h.codec == formatMuLaw:
		for _, v := range b {
			dst = append(dst, float32(ulawToLinear(v))/(1<<15))
		}
	case h.codec == formatALaw:
		for _, v := range b {
			dst = append(dst, float32(alawToLinear(v))/(1<<15))
		}
	case h.bits == 8:
		for _, v := range b {
			dst = append(dst, float32(int(v)-128)/128)
		}
	case h.bits == 16:
		for i := 0; i+2 <= len(b); i += 2 {
			dst = append(dst, float32(int16(le.Uint16(b[i:])))/(1<<15))
		}
	case h.bits == 24:
		for i := 0; i+3 <= len(b); i += 3 {
			v := int32(uint32(b[i])<<8|uint32(b[i+1])<<16|uint32(b[i+2])<<24) >> 8
			dst = append(dst, float32(v)/(1<<23))
		}
	case h.bits == 32:
		for i := 0; i+4 <= len(b); i += 4 {
			dst = append(dst, float32(int32(le.Uint32(b[i:])))/(1<<31))
		}
	}
	return dst
}

// nonFinite returns the index of the first NaN or infinite float in b
// (bps bytes each, little-endian), or -1.
func nonFinite(b []byte, bps int) int {
	le := binary.LittleEndian
	for i := 0; i+bps <= len(b); i += bps {
		var v float64
		if bps == 4 {
			v = float64(math.Float32frombits(le.Uint32(b[i:])))
		} else {
			v = math.Float64frombits(le.Uint64(b[i:]))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return i / bps
		}
	}
	return -1
}

// sanitize maps NaN to 0 and infinities to +-1, so that float files cannot
// poison sums downstream. Finite values, even beyond +-1, are kept.
func sanitize(v float32) float32 {
	switch {
	case v != v:
		return 0
	case v > math.MaxFloat32:
		return 1
	case v < -math.MaxFloat32:
		return -1
	}
	return v
}

func growF(dst []float32, n int) []float32 {
	if cap(dst) < n {
		return make([]float32, n)
	}
	return dst[:n]
}
