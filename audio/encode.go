package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// SampleFormat is how Encode and StreamWriter store samples.
type SampleFormat int

// The formats Encode writes.
const (
	PCM16   SampleFormat = iota + 1 // 16-bit signed integer PCM
	Float32                         // 32-bit IEEE float
)

func (f SampleFormat) String() string {
	switch f {
	case PCM16:
		return "pcm16"
	case Float32:
		return "float32"
	}
	return fmt.Sprintf("SampleFormat(%d)", int(f))
}

func (f SampleFormat) bytes() int {
	switch f {
	case PCM16:
		return 2
	case Float32:
		return 4
	}
	return 0
}

// EncodePCM16 writes x as 16-bit little-endian PCM bytes into dst and
// returns it, resized to 2*len(x) (allocating only if dst is too small).
// Samples are clipped to [-1, 1], scaled by 32767 and rounded; NaN is 0.
func EncodePCM16(dst []byte, x []float32) []byte {
	dst = growB(dst, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(dst[2*i:], uint16(pcm16(v)))
	}
	return dst
}

func pcm16(v float32) int16 {
	switch {
	case v != v:
		return 0
	case v >= 1:
		return 32767
	case v <= -1:
		return -32767
	}
	return int16(math.Round(float64(v) * 32767))
}

// EncodeFloat32LE writes x as 32-bit little-endian IEEE floats into dst
// and returns it, resized to 4*len(x).
func EncodeFloat32LE(dst []byte, x []float32) []byte {
	dst = growB(dst, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
	return dst
}

func growB(dst []byte, n int) []byte {
	if cap(dst) < n {
		return make([]byte, n)
	}
	return dst[:n]
}

// riffSizeOff is the offset of the RIFF size field in the header.
const riffSizeOff = 4

// appendHeader appends a WAV header for channels x frames samples in format
// f. frames < 0 declares an unknown length (0xFFFFFFFF sizes).
func appendHeader(b []byte, rate, channels int, f SampleFormat, frames int64) []byte {
	le := binary.LittleEndian
	bps := f.bytes()
	dataSize, riffSize, factCount := uint32(unknownSize), uint32(unknownSize), uint32(unknownSize)
	if frames >= 0 {
		d := frames * int64(channels*bps)
		extra := int64(36)
		if f == Float32 {
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
	if f == Float32 {
		b = le.AppendUint32(b, 18)
		b = le.AppendUint16(b, formatFloat)
	} else {
		b = le.AppendUint32(b, 16)
		b = le.AppendUint16(b, formatPCM)
	}
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*channels*bps))
	b = le.AppendUint16(b, uint16(channels*bps))
	b = le.AppendUint16(b, uint16(8*bps))
	if f == Float32 {
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

func checkEncode(rate, channels int, f SampleFormat) error {
	if f != PCM16 && f != Float32 {
		return fmt.Errorf("audio: encode: unknown sample format %v", f)
	}
	if rate <= 0 || rate > maxRateHertz {
		return fmt.Errorf("audio: encode: sample rate %d Hz, want 1 to %d", rate, maxRateHertz)
	}
	if channels <= 0 || channels > maxChannels {
		return fmt.Errorf("audio: encode: %d channels, want 1 to %d", channels, maxChannels)
	}
	if int64(rate)*int64(channels)*int64(f.bytes()) > math.MaxUint32 {
		return fmt.Errorf("audio: encode: %d Hz x %d channels x %d bytes overflows the header's byte rate", rate, channels, f.bytes())
	}
	return nil
}

// Encode writes mono samples as a complete WAV file in format f.
func Encode(w io.Writer, samples []float32, rate int, f SampleFormat) error {
	return encode(w, samples, rate, 1, f)
}

// EncodeClip writes a clip (any channel count) as a WAV file in format f.
func EncodeClip(w io.Writer, c *Clip, f SampleFormat) error {
	return encode(w, c.Samples[:c.Frames()*c.Format.Channels], c.Format.SampleRate, c.Format.Channels, f)
}

func encode(w io.Writer, samples []float32, rate, channels int, f SampleFormat) error {
	if err := checkEncode(rate, channels, f); err != nil {
		return err
	}
	buf := appendHeader(make([]byte, 0, 64<<10), rate, channels, f, int64(len(samples)/channels))
	const chunk = 8 << 10 // samples per write
	for i := 0; ; i += chunk {
		s := samples[min(i, len(samples)):min(i+chunk, len(samples))]
		buf = appendEncoded(buf, s, f)
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("audio: encode: %w", err)
		}
		buf = buf[:0]
		if i+chunk >= len(samples) {
			return nil
		}
	}
}

func appendEncoded(b []byte, s []float32, f SampleFormat) []byte {
	n := len(b)
	need := n + len(s)*f.bytes()
	if cap(b) < need {
		nb := make([]byte, n, need)
		copy(nb, b)
		b = nb
	}
	if f == PCM16 {
		EncodePCM16(b[n:need], s)
	} else {
		EncodeFloat32LE(b[n:need], s)
	}
	return b[:need]
}

// StreamWriter writes a WAV stream whose length is not known when the
// header goes out, as an HTTP response does: the header declares
// 0xFFFFFFFF for the RIFF and data sizes (what streaming servers and ffmpeg
// send, and what Decode reads as "until end of stream"). If the
// destination is an io.WriteSeeker that can seek (a file), Close patches
// the real sizes in unless PatchOnClose is false.
type StreamWriter struct {
	// PatchOnClose, true by default, makes Close write the real sizes into
	// the header when the writer is an io.WriteSeeker.
	PatchOnClose bool

	w        io.Writer
	rate     int
	channels int
	f        SampleFormat
	header   bool
	frames   int64
	buf      []byte
	err      error
	closed   bool
	start    int64 // offset of the header in a seekable writer, -1 if unknown
}

// NewStreamWriter returns a writer of mono samples at rate in format f.
// The header is written by the first Write, WriteHeader or Close.
func NewStreamWriter(w io.Writer, rate int, f SampleFormat) *StreamWriter {
	return NewStreamWriterChannels(w, rate, 1, f)
}

// NewStreamWriterChannels is NewStreamWriter for interleaved samples of
// several channels.
func NewStreamWriterChannels(w io.Writer, rate, channels int, f SampleFormat) *StreamWriter {
	sw := &StreamWriter{PatchOnClose: true, w: w, rate: rate, channels: channels, f: f, start: -1}
	sw.err = checkEncode(rate, channels, f)
	return sw
}

// WriteHeader writes the header now, if it has not been written yet.
func (s *StreamWriter) WriteHeader() error {
	if s.err != nil || s.header {
		return s.err
	}
	if ws, ok := s.w.(io.WriteSeeker); ok {
		if off, err := ws.Seek(0, io.SeekCurrent); err == nil {
			s.start = off
		}
	}
	s.buf = appendHeader(s.buf[:0], s.rate, s.channels, s.f, -1)
	s.header = true
	if _, err := s.w.Write(s.buf); err != nil {
		s.err = fmt.Errorf("audio: stream: write header: %w", err)
	}
	return s.err
}

// Write appends interleaved samples. The number of samples must be a
// multiple of the channel count.
func (s *StreamWriter) Write(samples []float32) error {
	if s.closed {
		return errors.New("audio: stream: write after close")
	}
	if err := s.WriteHeader(); err != nil {
		return err
	}
	if len(samples)%s.channels != 0 {
		return fmt.Errorf("audio: stream: %d samples is not a whole number of %d-channel frames", len(samples), s.channels)
	}
	s.buf = appendEncoded(s.buf[:0], samples, s.f)
	if _, err := s.w.Write(s.buf); err != nil {
		s.err = fmt.Errorf("audio: stream: %w", err)
		return s.err
	}
	s.frames += int64(len(samples) / s.channels)
	return nil
}

// Frames returns the number of frames written so far.
func (s *StreamWriter) Frames() int64 { return s.frames }

// Close writes the header if nothing was written, and patches the sizes
// when possible (see PatchOnClose). It does not close the underlying
// writer.
func (s *StreamWriter) Close() error {
	if s.closed {
		return s.err
	}
	if err := s.WriteHeader(); err != nil {
		s.closed = true
		return err
	}
	s.closed = true
	ws, ok := s.w.(io.WriteSeeker)
	if !s.PatchOnClose || !ok || s.start < 0 {
		return nil
	}
	end, err := ws.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil // not seekable after all: the unknown-length header stands
	}
	hdr := appendHeader(nil, s.rate, s.channels, s.f, s.frames)
	if binary.LittleEndian.Uint32(hdr[riffSizeOff:]) == unknownSize {
		return nil // too long for 32-bit sizes
	}
	if _, err := ws.Seek(s.start, io.SeekStart); err != nil {
		return fmt.Errorf("audio: stream: patch sizes: %w", err)
	}
	if _, err := ws.Write(hdr); err != nil {
		s.err = fmt.Errorf("audio: stream: patch sizes: %w", err)
		return s.err
	}
	if _, err := ws.Seek(end, io.SeekStart); err != nil {
		s.err = fmt.Errorf("audio: stream: patch sizes: %w", err)
		return s.err
	}
	return nil
}
