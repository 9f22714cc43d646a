package synth

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Band-limited resampling of the output (sample_rate != the model's rate),
// streaming, so that a streamed response and a whole one carry the same
// samples. A polyphase windowed-sinc filter (Kaiser window, J. O. Smith,
// "Digital Audio Resampling", https://ccrma.stanford.edu/~jos/resample/):
// output j sits at input time t_j = j*M/L with L/M = to/from in lowest
// terms, and is sum_k x[k] h(t_j - k), h(t) = fc sinc(fc t) w(t / W).
// Input before time 0 and after the end is zero.

const (
	resampleZeros   = 16    // zero crossings of the sinc on each side
	resampleRolloff = 0.945 // cutoff as a fraction of the lower Nyquist frequency
	resampleBeta    = 8.6   // Kaiser beta: about 86 dB stopband attenuation
	maxPhases       = 4096  // largest L whose coefficient table is built
)

// resampleSupported reports whether from -> to has a small enough
// reduced ratio (all the usual rates have L <= 441).
func resampleSupported(from, to int) bool {
	g := gcd(from, to)
	return to/g <= maxPhases
}

// resampledLen is the number of output samples for n input samples:
// ceil(n * to / from).
func resampledLen(n, from, to int) int {
	return int((int64(n)*int64(to) + int64(from) - 1) / int64(from))
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

type streamResampler struct {
	l, m   int       // output step L, input step M (t_j = j*M/L)
	w      int       // half-width of the filter in input samples
	taps   []float32 // (L, 2W): phase p, tap i multiplies x[floor(t_j) - W + 1 + i]
	buf    []float32 // input from index base on
	base   int64     // global index of buf[0]
	in     int64     // input samples received
	j      int64     // next output index
	closed bool
}

func newStreamResampler(from, to int) *streamResampler {
	g := gcd(from, to)
	r := &streamResampler{l: to / g, m: from / g}
	fc := resampleRolloff * min(1, float64(r.l)/float64(r.m))
	r.w = int(math.Ceil(resampleZeros / fc))
	n := 2 * r.w
	r.taps = make([]float32, r.l*n)
	i0b := besselI0(resampleBeta)
	for p := range r.l {
		frac := float64(p) / float64(r.l) // t_j - floor(t_j)
		row := r.taps[p*n : (p+1)*n]
		for i := range n {
			t := frac + float64(r.w-1-i) // t_j - k, k = floor(t_j) - W + 1 + i
			if math.Abs(t) >= float64(r.w) {
				continue
			}
			x := t / float64(r.w)
			win := besselI0(resampleBeta*math.Sqrt(1-x*x)) / i0b
			row[i] = float32(fc * sinc(fc*t) * win)
		}
	}
	// Start with W-1 zeros before time 0.
	r.base = -int64(r.w - 1)
	r.buf = make([]float32, r.w-1)
	return r
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0,
// by its power series (converges fast for the arguments used here).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 200; k++ {
		term *= (x / 2) * (x / 2) / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// push adds input samples and returns the outputs they complete (a view
// valid until the next call).
func (r *streamResampler) push(x []float32) []float32 {
	r.buf = append(r.buf, x...)
	r.in += int64(len(x))
	return r.produce(r.in, nil)
}

// flush returns the remaining outputs, up to resampledLen of all input.
func (r *streamResampler) flush() []float32 {
	total := (r.in*int64(r.l) + int64(r.m) - 1) / int64(r.m)
	// Pad with zeros far enough for every remaining output.
	r.buf = append(r.buf, make([]float32, r.w+1)...)
	return r.produce(r.in+int64(r.w)+1, &total)
}

func (r *streamResampler) produce(avail int64, limit *int64) []float32 {
	var out []float32
	n := 2 * r.w
	for {
		if limit != nil && r.j >= *limit {
			break
		}
		num := r.j * int64(r.m)
		fl := num / int64(r.l) // floor(t_j)
		last := fl + int64(r.w)
		if last >= avail {
			break
		}
		p := int(num % int64(r.l))
		first := fl - int64(r.w) + 1
		xs := r.buf[first-r.base : first-r.base+int64(n)]
		row := r.taps[p*n : (p+1)*n]
		var acc float32
		for i, v := range xs {
			acc += v * row[i]
		}
		out = append(out, acc)
		r.j++
	}
	// Drop input no later output needs: output j needs k >= floor(t_j)-W+1.
	keep := r.j*int64(r.m)/int64(r.l) - int64(r.w) + 1
	if d := keep - r.base; d > 0 && d <= int64(len(r.buf)) {
		r.buf = append(r.buf[:0], r.buf[d:]...)
		r.base = keep
	}
	return out
}

// resampleAll resamples a whole signal (the non-streaming path), with the
// same filter as the streaming one.
func resampleAll(x []float32, from, to int) []float32 {
	r := newStreamResampler(from, to)
	out := append([]float32(nil), r.push(x)...)
	return append(out, r.flush()...)
}

// Output formats.
const (
	FormatWAV     = "wav"     // RIFF WAVE, 16-bit PCM, mono
	FormatPCM16   = "pcm16"   // raw signed 16-bit little-endian, mono
	FormatMulaw   = "mulaw"   // raw 8-bit ITU-T G.711 mu-law, mono
	FormatFloat32 = "float32" // raw IEEE 754 float32 little-endian, mono, in [-1, 1]
)

var Formats = []string{FormatWAV, FormatPCM16, FormatMulaw, FormatFloat32}

// ContentType is the media type sent for a format at a sample rate.
//
//   - wav: audio/wav.
//   - pcm16: application/octet-stream, because the registered audio/L16
//     (RFC 2586) is big-endian and this format is little-endian; the
//     X-Audio-Encoding header says "pcm_s16le" (ffmpeg's name) and
//     X-Sample-Rate the rate.
//   - mulaw: audio/basic (RFC 2046: 8-bit G.711 mu-law, 8 kHz, mono) at
//     8000 Hz, audio/PCMU;rate=R (RFC 4856) at any other rate.
//   - float32: application/octet-stream, X-Audio-Encoding "pcm_f32le".
func ContentType(format string, rate int) string {
	switch format {
	case FormatWAV:
		return "audio/wav"
	case FormatMulaw:
		if rate == 8000 {
			return "audio/basic"
		}
		return fmt.Sprintf("audio/PCMU;rate=%d", rate)
	}
	return "application/octet-stream"
}

// EncodingName is the X-Audio-Encoding header value (ffmpeg -f names).
func EncodingName(format string) string {
	switch format {
	case FormatWAV:
		return "wav_pcm_s16le"
	case FormatPCM16:
		return "pcm_s16le"
	case FormatMulaw:
		return "mulaw"
	}
	return "pcm_f32le"
}

// bytesPerSample of a format's raw samples.
func bytesPerSample(format string) int {
	switch format {
	case FormatMulaw:
		return 1
	case FormatFloat32:
		return 4
	}
	return 2
}

// encodedSize is the body size for n samples (WAV includes its 44-byte header).
func encodedSize(format string, n int) int64 {
	size := int64(n) * int64(bytesPerSample(format))
	if format == FormatWAV {
		size += wavHeaderSize
	}
	return size
}

// appendSamples appends x in the raw sample encoding of format (WAV data is
// 16-bit PCM).
func appendSamples(dst []byte, x []float32, format string) []byte {
	switch format {
	case FormatMulaw:
		for _, v := range x {
			dst = append(dst, linearToG711(v))
		}
	case FormatFloat32:
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

// WAVHeader returns the 44-byte header writeWAVHeader writes for n samples
// at rate Hz (n < 0: unknown length); a file written while streaming is
// finished by writing WAVHeader(rate, n) over its first bytes.
func WAVHeader(rate, n int) []byte {
	var b byteBuf
	_ = writeWAVHeader(&b, rate, n)
	return b
}

// byteBuf is an io.Writer appending to a byte slice.
type byteBuf []byte

func (b *byteBuf) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }
