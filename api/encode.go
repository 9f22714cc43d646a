package api

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Output formats of /v1/synthesize.
const (
	formatWAV     = "wav"     // RIFF WAVE, 16-bit PCM, mono
	formatPCM16   = "pcm16"   // raw signed 16-bit little-endian, mono
	formatMulaw   = "mulaw"   // raw 8-bit ITU-T G.711 mu-law, mono
	formatFloat32 = "float32" // raw IEEE 754 float32 little-endian, mono, in [-1, 1]
)

var formats = []string{formatWAV, formatPCM16, formatMulaw, formatFloat32}

// contentType is the media type sent for a format at a sample rate.
//
//   - wav: audio/wav.
//   - pcm16: application/octet-stream, because the registered audio/L16
//     (RFC 2586) is big-endian and this format is little-endian; the
//     X-Audio-Encoding header says "pcm_s16le" (ffmpeg's name) and
//     X-Sample-Rate the rate.
//   - mulaw: audio/basic (RFC 2046: 8-bit G.711 mu-law, 8 kHz, mono) at
//     8000 Hz, audio/PCMU;rate=R (RFC 4856) at any other rate.
//   - float32: application/octet-stream, X-Audio-Encoding "pcm_f32le".
func contentType(format string, rate int) string {
	switch format {
	case formatWAV:
		return "audio/wav"
	case formatMulaw:
		if rate == 8000 {
			return "audio/basic"
		}
		return fmt.Sprintf("audio/PCMU;rate=%d", rate)
	}
	return "application/octet-stream"
}

// encodingName is the X-Audio-Encoding header value (ffmpeg -f names).
func encodingName(format string) string {
	switch format {
	case formatWAV:
		return "wav_pcm_s16le"
	case formatPCM16:
		return "pcm_s16le"
	case formatMulaw:
		return "mulaw"
	}
	return "pcm_f32le"
}

// bytesPerSample of a format's raw samples.
func bytesPerSample(format string) int {
	switch format {
	case formatMulaw:
		return 1
	case formatFloat32:
		return 4
	}
	return 2
}

// encodedSize is the body size for n samples (WAV includes its 44-byte header).
func encodedSize(format string, n int) int64 {
	size := int64(n) * int64(bytesPerSample(format))
	if format == formatWAV {
		size += wavHeaderSize
	}
	return size
}

// appendSamples appends x in the raw sample encoding of format (WAV data is
// 16-bit PCM).
func appendSamples(dst []byte, x []float32, format string) []byte {
	switch format {
	case formatMulaw:
		for _, v := range x {
			dst = append(dst, linearToG711(v))
		}
	case formatFloat32:
		for _, v := range x {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(clamp1(v)))
		}
	default:
		for _, v := range x {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(toPCM16(v)))
		}
	}
	return dst
}

func clamp1(v float32) float32 {
	switch {
	case v > 1:
		return 1
	case v < -1:
		return -1
	case v != v: // NaN
		return 0
	}
	return v
}

// toPCM16 maps [-1, 1] to [-32767, 32767], rounding to nearest.
func toPCM16(v float32) int16 {
	return int16(math.Round(float64(clamp1(v)) * 32767))
}

// linearToG711 encodes a sample as ITU-T G.711 mu-law (the segmented
// telephony encoding, as Sun's g711.c linear2ulaw: 14-bit magnitude, bias
// 0x84, bits inverted). This is not the continuous mu-law of the model's
// codes (DESIGN.md): telephony decoders expect G.711 bytes.
func linearToG711(v float32) byte {
	const bias, clip = 0x84, 32635
	s := int(toPCM16(v))
	sign := 0
	if s < 0 {
		s, sign = -s, 0x80
	}
	if s > clip {
		s = clip
	}
	s += bias
	exp := 7
	for mask := 0x4000; s&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (s >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

const wavHeaderSize = 44

// writeWAVHeader writes a canonical 44-byte RIFF/WAVE header for 16-bit
// mono PCM. n < 0 means unknown length (streaming): the RIFF and data sizes
// are 0xFFFFFFFF, as streaming servers write them; most players (ffmpeg,
// browsers, sox) then read until the end of the stream.
func writeWAVHeader(w io.Writer, rate, n int) error {
	dataSize := uint32(0xFFFFFFFF)
	riffSize := uint32(0xFFFFFFFF)
	if n >= 0 {
		dataSize = uint32(2 * n)
		riffSize = 36 + dataSize
	}
	var h [wavHeaderSize]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], riffSize)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16) // fmt chunk size
	binary.LittleEndian.PutUint16(h[20:], 1)  // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)  // mono
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*2)) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)              // block align
	binary.LittleEndian.PutUint16(h[34:], 16)             // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataSize)
	_, err := w.Write(h[:])
	return err
}
