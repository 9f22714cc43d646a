package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Encoding is a byte format for mono samples: what the service sends and
// the CLI writes.
type Encoding string

// The encodings. Every one but WAV and FLAC is headerless.
const (
	EncodingWAV     Encoding = "wav"     // RIFF/WAVE, 16-bit PCM, mono
	EncodingFLAC    Encoding = "flac"    // FLAC (RFC 9639), 16-bit, mono, streamable
	EncodingPCM16   Encoding = "pcm16"   // raw signed 16-bit little-endian
	EncodingMulaw   Encoding = "mulaw"   // raw 8-bit ITU-T G.711 mu-law
	EncodingAlaw    Encoding = "alaw"    // raw 8-bit ITU-T G.711 A-law
	EncodingFloat32 Encoding = "float32" // raw IEEE 754 float32 little-endian, in [-1, 1]
)

var encodings = []Encoding{EncodingWAV, EncodingFLAC, EncodingPCM16, EncodingMulaw, EncodingAlaw, EncodingFloat32}

// Encodings returns every encoding, in a fixed order.
func Encodings() []Encoding { return slices.Clone(encodings) }

// ErrUnknownEncoding is wrapped by ParseEncoding's error.
var ErrUnknownEncoding = errors.New("unknown encoding")

// ParseEncoding returns the encoding named s ("wav", "flac", "pcm16",
// "mulaw", "alaw" or "float32"); the error wraps ErrUnknownEncoding.
func ParseEncoding(s string) (Encoding, error) {
	if slices.Contains(encodings, Encoding(s)) {
		return Encoding(s), nil
	}
	names := make([]string, len(encodings))
	for i, e := range encodings {
		names[i] = strconv.Quote(string(e))
	}
	return "", fmt.Errorf("audio: %w %q: want one of %s", ErrUnknownEncoding, s, strings.Join(names, ", "))
}

// ContentType is the media type of e at a sample rate:
//
//   - wav: audio/wav.
//   - flac: audio/flac (RFC 9639).
//   - pcm16: application/octet-stream, because the registered audio/L16
//     (RFC 2586) is big-endian and this encoding is little-endian.
//   - mulaw: audio/basic (RFC 2046: 8-bit G.711 mu-law, 8 kHz, mono) at
//     8000 Hz, audio/PCMU;rate=R (RFC 4856) at any other rate.
//   - alaw: audio/PCMA;rate=R (RFC 4856).
//   - float32: application/octet-stream.
func (e Encoding) ContentType(rate int) string {
	switch e {
	case EncodingWAV:
		return "audio/wav"
	case EncodingFLAC:
		return "audio/flac"
	case EncodingMulaw:
		if rate == 8000 {
			return "audio/basic"
		}
		return fmt.Sprintf("audio/PCMU;rate=%d", rate)
	case EncodingAlaw:
		return fmt.Sprintf("audio/PCMA;rate=%d", rate)
	}
	return "application/octet-stream"
}

// FFmpegName is e's name for ffmpeg -f (wav gives "wav_pcm_s16le": a WAV
// file of pcm_s16le samples).
func (e Encoding) FFmpegName() string {
	switch e {
	case EncodingWAV:
		return "wav_pcm_s16le"
	case EncodingFLAC:
		return "flac"
	case EncodingPCM16:
		return "pcm_s16le"
	case EncodingMulaw:
		return "mulaw"
	case EncodingAlaw:
		return "alaw"
	}
	return "pcm_f32le"
}

// BytesPerSample of e's samples before compression (WAV's and FLAC's are
// 16-bit).
func (e Encoding) BytesPerSample() int {
	switch e {
	case EncodingMulaw, EncodingAlaw:
		return 1
	case EncodingFloat32:
		return 4
	}
	return 2
}

// EncodedSize is the number of bytes of n samples in e, a WAV's 44-byte
// header included. For FLAC, whose size depends on the samples, it is an
// upper bound: the 42-byte header and every frame verbatim.
func (e Encoding) EncodedSize(n int) int64 {
	size := int64(n) * int64(e.BytesPerSample())
	switch e {
	case EncodingWAV:
		size += wavHeaderSize
	case EncodingFLAC:
		size += flacHeaderSize + (int64(n)+flacBlockSize-1)/flacBlockSize*flacFrameOverhead
	}
	return size
}

// wavHeaderSize is the header of a 16-bit PCM WAV (a float WAV's has an
// 18-byte fmt chunk and a fact chunk: 58 bytes).
const wavHeaderSize = 44

// AppendEncoded appends x in e's sample encoding to dst and returns it
// (WAV samples are 16-bit PCM; the header is NewEncoder's). Samples are
// clipped to [-1, 1] and NaN is 0 in every encoding. It does not allocate
// when dst has room. FLAC, whose samples are coded in frames, and an
// Encoding not in Encodings() panic.
func AppendEncoded(dst []byte, x []float32, e Encoding) []byte {
	dst = slices.Grow(dst, len(x)*e.BytesPerSample())
	switch e {
	case EncodingWAV, EncodingPCM16:
		for _, v := range x {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(pcm16(v)))
		}
	case EncodingMulaw:
		for _, v := range x {
			dst = append(dst, linearToUlaw(pcm16(v)))
		}
	case EncodingAlaw:
		for _, v := range x {
			dst = append(dst, linearToAlaw(pcm16(v)))
		}
	case EncodingFloat32:
		for _, v := range x {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(clamp1(v)))
		}
	case EncodingFLAC:
		panic("audio: AppendEncoded: flac is coded in frames: use NewEncoder")
	default:
		panic(fmt.Sprintf("audio: AppendEncoded: unknown encoding %q", string(e)))
	}
	return dst
}

// clamp1 clips v to [-1, 1] and maps NaN to 0.
func clamp1(v float32) float32 {
	switch {
	case v > 1:
		return 1
	case v < -1:
		return -1
	case v != v:
		return 0
	}
	return v
}

// pcm16 maps [-1, 1] to [-32767, 32767], rounding to nearest (half away
// from zero); beyond is clipped, NaN is 0.
func pcm16(v float32) int16 {
	return int16(math.Round(float64(clamp1(v)) * 32767))
}

// SampleFormat is how a WAV file made by NewWAVEncoder, Encode or
// EncodeClip stores samples.
type SampleFormat int

// The WAV sample formats.
const (
	PCM16   SampleFormat = iota + 1 // 16-bit signed integer PCM
	Float32                         // 32-bit IEEE float, in [-1, 1]
	MuLaw8                          // 8-bit G.711 mu-law (WAV codec 7), as telephony WAVs hold it
	ALaw8                           // 8-bit G.711 A-law (WAV codec 6)
)

func (f SampleFormat) String() string {
	switch f {
	case PCM16:
		return "pcm16"
	case Float32:
		return "float32"
	case MuLaw8:
		return "mulaw"
	case ALaw8:
		return "alaw"
	}
	return fmt.Sprintf("SampleFormat(%d)", int(f))
}

// encoding is f's raw sample encoding.
func (f SampleFormat) encoding() Encoding {
	switch f {
	case Float32:
		return EncodingFloat32
	case MuLaw8:
		return EncodingMulaw
	case ALaw8:
		return EncodingAlaw
	}
	return EncodingPCM16
}

// codec is f's WAV format code.
func (f SampleFormat) codec() uint16 {
	switch f {
	case Float32:
		return formatFloat
	case MuLaw8:
		return formatMuLaw
	case ALaw8:
		return formatALaw
	}
	return formatPCM
}

// appendHeader appends a WAV header for channels x frames samples in format
// f. frames < 0 declares an unknown length (0xFFFFFFFF sizes, what
// streaming servers send and most players read as "until the end").
func appendHeader(b []byte, rate, channels int, f SampleFormat, frames int64) []byte {
	le := binary.LittleEndian
	bps := f.encoding().BytesPerSample()
	dataSize, riffSize, factCount := uint32(unknownSize), uint32(unknownSize), uint32(unknownSize)
	if frames >= 0 {
		d := frames * int64(channels*bps)
		extra := int64(36)
		if f != PCM16 {
			extra = 50
		}
		if d+extra <= math.MaxUint32 {
			dataSize, riffSize = uint32(d), uint32(d+extra)
		}
		if frames <= math.MaxUint32 {
			factCount = uint32(frames * int64(channels))
		}
	}
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, riffSize)
	b = append(b, "WAVEfmt "...)
	if f != PCM16 {
		b = le.AppendUint32(b, 18)
	} else {
		b = le.AppendUint32(b, 16)
	}
	b = le.AppendUint16(b, f.codec())
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*channels*bps))
	b = le.AppendUint16(b, uint16(channels*bps))
	b = le.AppendUint16(b, uint16(8*bps))
	if f != PCM16 {
		// Non-PCM formats carry cbSize and a fact chunk (the RIFF spec).
		b = le.AppendUint16(b, 0)
		b = append(b, "fact"...)
		b = le.AppendUint32(b, 4)
		b = le.AppendUint32(b, factCount)
	}
	b = append(b, "data"...)
	b = le.AppendUint32(b, dataSize)
	return b
}

// WAVHeader returns the 44-byte header of a mono 16-bit PCM WAV (the
// EncodingWAV output) of n samples at rate Hz; n < 0 declares an unknown
// length. Writing it over a streamed header once the length is known gives
// the exact file.
func WAVHeader(rate, n int) []byte { return WAVHeaderOf(PCM16, rate, n) }

// WAVHeaderOf returns the header of a mono WAV of n samples at rate Hz in
// format f (n < 0: unknown length): 44 bytes for PCM16, 58 (fmt with
// cbSize, and a fact chunk) for the others. Followed by the raw samples in
// f's encoding (EncodingPCM16, EncodingFloat32, EncodingMulaw,
// EncodingAlaw) it makes a WAV file.
func WAVHeaderOf(f SampleFormat, rate, n int) []byte {
	return appendHeader(make([]byte, 0, 58), rate, 1, f, int64(max(n, -1)))
}

// riffSizeOff is the offset of the RIFF size field in the header.
const riffSizeOff = 4

// Encoder writes samples in one encoding to an io.Writer, a WAV or FLAC
// header first. It is not safe for concurrent use.
type Encoder struct {
	w        io.Writer
	raw      Encoding     // the samples' encoding
	wav      SampleFormat // 0 for headerless encodings
	rate     int
	channels int
	flac     *flacEncoder // nil but for FLAC
	declared int64        // frames the caller declared, -1 if unknown
	frames   int64        // frames written
	start    int64        // offset of a WAV or FLAC header in a seekable writer, -1 if unknown
	buf      []byte
	err      error // sticky
	closed   bool
}

// NewEncoder returns an encoder of mono samples at rate Hz in e, to be
// written n in all (n < 0: unknown). For WAV it writes the 44-byte header
// now, declaring n samples; with n < 0 the RIFF and data sizes are
// 0xFFFFFFFF, as for a stream, and Close patches the real sizes in when w
// is an io.WriteSeeker that can seek (a file).
//
// FLAC's header declares n samples, 0 ("unknown") for n < 0, and an
// unknown (zero) MD5 signature; Write sends a frame whenever a block of
// 4096 samples is full and Close the last, short one. When w can seek,
// Close writes the sample count and MD5 signature into the header.
func NewEncoder(w io.Writer, e Encoding, rate, n int) (*Encoder, error) {
	if !slices.Contains(encodings, e) {
		_, err := ParseEncoding(string(e))
		return nil, err
	}
	if e == EncodingWAV {
		return NewWAVEncoder(w, rate, 1, PCM16, n)
	}
	if err := checkEncode(rate, 1, e.BytesPerSample()); err != nil {
		return nil, err
	}
	enc := &Encoder{w: w, raw: e, rate: rate, channels: 1, declared: int64(max(n, -1)), start: -1}
	if e == EncodingFLAC {
		enc.start = seekOffset(w)
		var err error
		if enc.flac, err = newFLACEncoder(w, rate, enc.declared); err != nil {
			return nil, err
		}
	}
	return enc, nil
}

// seekOffset is w's offset when it can seek, else -1.
func seekOffset(w io.Writer) int64 {
	if ws, ok := w.(io.WriteSeeker); ok {
		if off, err := ws.Seek(0, io.SeekCurrent); err == nil {
			return off
		}
	}
	return -1
}

// NewWAVEncoder returns an encoder of a WAV file of interleaved samples of
// channels channels in format f, frames frames in all (frames < 0:
// unknown, as NewEncoder's n). It writes the header now.
func NewWAVEncoder(w io.Writer, rate, channels int, f SampleFormat, frames int) (*Encoder, error) {
	if f < PCM16 || f > ALaw8 {
		return nil, fmt.Errorf("audio: encode: unknown sample format %v, want PCM16, Float32, MuLaw8 or ALaw8", f)
	}
	if err := checkEncode(rate, channels, f.encoding().BytesPerSample()); err != nil {
		return nil, err
	}
	enc := &Encoder{w: w, raw: f.encoding(), wav: f, rate: rate, channels: channels,
		declared: int64(max(frames, -1)), start: -1}
	if frames < 0 {
		enc.start = seekOffset(w)
	}
	enc.buf = appendHeader(make([]byte, 0, 64), rate, channels, f, enc.declared)
	if _, err := w.Write(enc.buf); err != nil {
		return nil, fmt.Errorf("audio: encode: write header: %w", err)
	}
	return enc, nil
}

func checkEncode(rate, channels, bytesPerSample int) error {
	if rate <= 0 || rate > maxRateHertz {
		return fmt.Errorf("audio: encode: sample rate %d Hz, want 1 to %d", rate, maxRateHertz)
	}
	if channels <= 0 || channels > maxChannels {
		return fmt.Errorf("audio: encode: %d channels, want 1 to %d", channels, maxChannels)
	}
	if int64(rate)*int64(channels)*int64(bytesPerSample) > math.MaxUint32 {
		return fmt.Errorf("audio: encode: %d Hz x %d channels x %d bytes overflows the WAV header's byte rate", rate, channels, bytesPerSample)
	}
	return nil
}

// Write encodes interleaved samples (a whole number of frames) and writes
// them.
func (e *Encoder) Write(x []float32) error {
	if e.closed {
		return errors.New("audio: encode: write after close")
	}
	if e.err != nil {
		return e.err
	}
	if len(x)%e.channels != 0 {
		return fmt.Errorf("audio: encode: %d samples is not a whole number of %d-channel frames", len(x), e.channels)
	}
	if e.flac != nil {
		if err := e.flac.write(e.w, x); err != nil {
			e.err = fmt.Errorf("audio: encode: %w", err)
			return e.err
		}
		e.frames += int64(len(x))
		return nil
	}
	const chunk = 8 << 10 // samples per write: bounded buffer for long inputs
	for len(x) > 0 {
		n := min(len(x), chunk-chunk%e.channels)
		e.buf = AppendEncoded(e.buf[:0], x[:n], e.raw)
		if _, err := e.w.Write(e.buf); err != nil {
			e.err = fmt.Errorf("audio: encode: %w", err)
			return e.err
		}
		e.frames += int64(n / e.channels)
		x = x[n:]
	}
	return nil
}

// Close finishes the output (FLAC's last frame); it does not close the
// underlying writer. It reports a count of samples that differs from the
// one declared, and for a WAV of unknown length or a FLAC written to a
// seekable io.WriteSeeker, patches the real sizes (and FLAC's MD5) into
// the header (unless a WAV's overflow 32 bits).
func (e *Encoder) Close() error {
	if e.closed || e.err != nil {
		e.closed = true
		return e.err
	}
	e.closed = true
	if e.flac != nil {
		if err := e.flac.close(e.w); err != nil {
			e.err = fmt.Errorf("audio: encode: %w", err)
			return e.err
		}
	}
	if e.declared >= 0 && e.frames != e.declared {
		e.err = fmt.Errorf("audio: encode: wrote %d frames, declared %d", e.frames, e.declared)
		return e.err
	}
	if (e.wav == 0 && e.flac == nil) || e.start < 0 {
		return nil
	}
	ws := e.w.(io.WriteSeeker)
	end, err := ws.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil // not seekable after all: the unknown-length header stands
	}
	var hdr []byte
	if e.flac != nil {
		if hdr, err = e.flac.header(e.frames); err != nil {
			e.err = fmt.Errorf("audio: encode: %w", err)
			return e.err
		}
	} else if hdr = appendHeader(e.buf[:0], e.rate, e.channels, e.wav, e.frames); binary.LittleEndian.Uint32(hdr[riffSizeOff:]) == unknownSize {
		return nil // too long for 32-bit sizes
	}
	if _, err := ws.Seek(e.start, io.SeekStart); err != nil {
		e.err = fmt.Errorf("audio: encode: patch sizes: %w", err)
		return e.err
	}
	if _, err := ws.Write(hdr); err != nil {
		e.err = fmt.Errorf("audio: encode: patch sizes: %w", err)
		return e.err
	}
	if _, err := ws.Seek(end, io.SeekStart); err != nil {
		e.err = fmt.Errorf("audio: encode: patch sizes: %w", err)
	}
	return e.err
}

// Encode writes mono samples as a complete WAV file in format f.
func Encode(w io.Writer, x []float32, rate int, f SampleFormat) error {
	return encodeWAV(w, x, rate, 1, f)
}

// EncodeClip writes a clip (any channel count) as a WAV file in format f.
func EncodeClip(w io.Writer, c *Clip, f SampleFormat) error {
	ch := c.Format.Channels
	return encodeWAV(w, c.Samples[:c.Frames()*ch], c.Format.SampleRate, ch, f)
}

func encodeWAV(w io.Writer, x []float32, rate, channels int, f SampleFormat) error {
	enc, err := NewWAVEncoder(w, rate, channels, f, len(x)/max(channels, 1))
	if err != nil {
		return err
	}
	if err := enc.Write(x); err != nil {
		return err
	}
	return enc.Close()
}
