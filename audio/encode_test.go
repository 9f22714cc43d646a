package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func TestAppendEncoded(t *testing.T) {
	x := []float32{0, 1, -1, 0.5, 2, float32(math.NaN()), -0.25}
	// PCM16 is round(clip(v) * 32767): 0.5 -> 16383.5 -> 16384, -0.25 ->
	// -8191.75 -> -8192. The G.711 bytes of those integers are worked out
	// by hand from Sun's g711.c (see TestG711Reference).
	pcm := le16(0, 32767, -32767, 16384, 32767, 0, -8192)
	for _, tt := range []struct {
		e    Encoding
		want []byte
	}{
		{EncodingPCM16, pcm},
		{EncodingWAV, pcm},
		{EncodingMulaw, []byte{0xFF, 0x80, 0x00, 0x8F, 0x80, 0xFF, 0x1F}},
		{EncodingAlaw, []byte{0xD5, 0xAA, 0x2A, 0xA5, 0xAA, 0xD5, 0x0A}},
		{EncodingFloat32, f32le(0, 1, -1, 0.5, 1, 0, -0.25)},
	} {
		got := AppendEncoded([]byte{7}, x, tt.e)
		if want := append([]byte{7}, tt.want...); !bytes.Equal(got, want) {
			t.Errorf("AppendEncoded([7], %v, %s) = % x, want % x", x, tt.e, got, want)
		}
		if n := tt.e.EncodedSize(len(x)) - int64(len(tt.want)); n != 0 && !(tt.e == EncodingWAV && n == 44) {
			t.Errorf("%s.EncodedSize(%d) = %d, want %d (+44 for WAV)", tt.e, len(x), tt.e.EncodedSize(len(x)), len(tt.want))
		}
		dst := make([]byte, 0, 64)
		if n := testing.AllocsPerRun(10, func() { AppendEncoded(dst, x, tt.e) }); n != 0 {
			t.Errorf("AppendEncoded(%s) with capacity allocates %v times, want 0", tt.e, n)
		}
	}
}

func f32le(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func TestEncodingMetadata(t *testing.T) {
	// The service's media types and X-Audio-Encoding names (ffmpeg -f).
	for _, tt := range []struct {
		e              Encoding
		ct8k, ct16k    string
		ffmpeg         string
		bytesPerSample int
		size100        int64
	}{
		{EncodingWAV, "audio/wav", "audio/wav", "wav_pcm_s16le", 2, 244},
		// FLAC's size is a bound: 42 header bytes, 100 verbatim 16-bit
		// samples, one frame's 19 bytes of header, subframe header and CRC.
		{EncodingFLAC, "audio/flac", "audio/flac", "flac", 2, 42 + 200 + 19},
		{EncodingPCM16, "application/octet-stream", "application/octet-stream", "pcm_s16le", 2, 200},
		{EncodingMulaw, "audio/basic", "audio/PCMU;rate=16000", "mulaw", 1, 100},
		{EncodingAlaw, "audio/PCMA;rate=8000", "audio/PCMA;rate=16000", "alaw", 1, 100},
		{EncodingFloat32, "application/octet-stream", "application/octet-stream", "pcm_f32le", 4, 400},
	} {
		if got := tt.e.ContentType(8000); got != tt.ct8k {
			t.Errorf("%s.ContentType(8000) = %q, want %q", tt.e, got, tt.ct8k)
		}
		if got := tt.e.ContentType(16000); got != tt.ct16k {
			t.Errorf("%s.ContentType(16000) = %q, want %q", tt.e, got, tt.ct16k)
		}
		if got := tt.e.FFmpegName(); got != tt.ffmpeg {
			t.Errorf("%s.FFmpegName() = %q, want %q", tt.e, got, tt.ffmpeg)
		}
		if got := tt.e.BytesPerSample(); got != tt.bytesPerSample {
			t.Errorf("%s.BytesPerSample() = %d, want %d", tt.e, got, tt.bytesPerSample)
		}
		if got := tt.e.EncodedSize(100); got != tt.size100 {
			t.Errorf("%s.EncodedSize(100) = %d, want %d", tt.e, got, tt.size100)
		}
		if got, err := ParseEncoding(string(tt.e)); got != tt.e || err != nil {
			t.Errorf("ParseEncoding(%q) = %q, %v; want %q", tt.e, got, err, tt.e)
		}
	}
	if n := len(Encodings()); n != 6 {
		t.Errorf("len(Encodings()) = %d, want 6", n)
	}
	for _, s := range []string{"mp3", "", "WAV"} {
		if _, err := ParseEncoding(s); !errors.Is(err, ErrUnknownEncoding) {
			t.Errorf("ParseEncoding(%q) error %v, want ErrUnknownEncoding", s, err)
		}
	}
}

func TestEncoderWAVHeader(t *testing.T) {
	// The canonical 44-byte header (RIFF/WAVE spec): RIFF size 36 + data,
	// fmt chunk of 16 bytes, PCM (1), mono, 16000 Hz, 32000 bytes/s, block
	// align 2, 16 bits, data size 2 per sample.
	hdr := func(riff, data uint32) []byte {
		b := []byte("RIFF")
		b = binary.LittleEndian.AppendUint32(b, riff)
		b = append(b, "WAVEfmt "...)
		b = append(b, 16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0)
		b = append(b, "data"...)
		return binary.LittleEndian.AppendUint32(b, data)
	}
	x := []float32{0.5, -0.25, 1}
	for _, tt := range []struct {
		n    int
		want []byte
	}{
		{3, hdr(36+6, 6)},
		{-1, hdr(0xFFFFFFFF, 0xFFFFFFFF)}, // unknown length: a stream
	} {
		var buf bytes.Buffer
		enc, err := NewEncoder(&buf, EncodingWAV, 16000, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), tt.want) {
			t.Errorf("NewEncoder(wav, 16000, %d) header % x, want % x", tt.n, buf.Bytes(), tt.want)
		}
		if err := enc.Write(x); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if want := append(tt.want, le16(16384, -8192, 32767)...); !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("NewEncoder(wav, 16000, %d) + Write(%v) = % x, want % x", tt.n, x, buf.Bytes(), want)
		}
	}
}

func TestEncoderRaw(t *testing.T) {
	x := tone(20000, 8000, 440, 0.9) // more than one internal chunk
	for _, e := range Encodings() {
		if e == EncodingFLAC {
			continue // coded in frames: TestFLACRoundTrip
		}
		var buf bytes.Buffer
		enc, err := NewEncoder(&buf, e, 8000, len(x))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(x); i += 999 {
			if err := enc.Write(x[i:min(i+999, len(x))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		want := AppendEncoded(nil, x, e)
		got := buf.Bytes()
		if e == EncodingWAV {
			got = got[44:]
		}
		if int64(buf.Len()) != e.EncodedSize(len(x)) || !bytes.Equal(got, want) {
			t.Errorf("Encoder(%s) wrote %d bytes, want EncodedSize %d equal to AppendEncoded", e, buf.Len(), e.EncodedSize(len(x)))
		}
	}
	// A count that differs from the declared one is reported.
	enc, _ := NewEncoder(&bytes.Buffer{}, EncodingPCM16, 8000, 10)
	enc.Write(x[:9])
	if err := enc.Close(); err == nil {
		t.Errorf("Close after 9 of 10 declared samples = nil, want an error")
	}
	for _, tt := range []struct {
		e    Encoding
		rate int
	}{{"mp3", 8000}, {EncodingMulaw, 0}, {EncodingWAV, -1}} {
		if _, err := NewEncoder(&bytes.Buffer{}, tt.e, tt.rate, 1); err == nil {
			t.Errorf("NewEncoder(%q, %d) = nil error, want one", tt.e, tt.rate)
		}
	}
}

func TestG711Reference(t *testing.T) {
	// Worked out by hand from Sun's g711.c. mu-law: m = min(|s|, 32635) +
	// 0x84, segment = position of m's leading one minus 7, mantissa = the
	// 4 bits after it, byte = ^(sign | segment<<4 | mantissa): 0 -> 0x84 ->
	// seg 0, mant 0 -> 0xFF; -1 -> 0x85 -> 0x7F; 100 -> 0xE8 -> seg 0,
	// mant 13 -> 0xF2; 1000 -> 0x46C -> seg 3, mant 1 -> 0xCE; 32767 ->
	// 0x7FFF -> seg 7, mant 15 -> 0x80. A-law: v = s>>3 (negative: -v-1),
	// segment = first i with v <= (0x20<<i)-1, quant = low 4 bits of v>>1
	// (segments 0, 1) or v>>seg, byte = (seg<<4 | quant) ^ 0xD5 (0x55 if
	// negative):
	// 0 -> 0xD5; -1 -> 0x55; 1000 -> 125 -> seg 2, quant 15 -> 0xFA;
	// 32767 -> 4095 -> seg 7, quant 15 -> 0xAA; -32768 -> 4095 -> 0x2A;
	// -8192 -> 1023 -> seg 5, quant 15 -> 0x0A.
	for _, tt := range []struct {
		s          int16
		ulaw, alaw byte
	}{
		{0, 0xFF, 0xD5},
		{-1, 0x7F, 0x55},
		{100, 0xF2, 0xD3}, // A-law: 12 -> seg 0, quant 6 -> 0x06^0xD5
		{1000, 0xCE, 0xFA},
		{32767, 0x80, 0xAA},
		{-32768, 0x00, 0x2A},
		{-8192, 0x1F, 0x0A},
	} {
		if got := linearToUlaw(tt.s); got != tt.ulaw {
			t.Errorf("linearToUlaw(%d) = %#02x, want %#02x", tt.s, got, tt.ulaw)
		}
		if got := linearToAlaw(tt.s); got != tt.alaw {
			t.Errorf("linearToAlaw(%d) = %#02x, want %#02x", tt.s, got, tt.alaw)
		}
	}
}

func TestG711RoundTrip(t *testing.T) {
	for s := -32768; s <= 32767; s++ {
		// mu-law: segment e quantises in steps of 8<<e and decodes to the
		// step's middle, so the error is at most 4<<e; above the clip
		// (32635) every value decodes to the largest level, 32124.
		u := linearToUlaw(int16(s))
		seg := int(^u&0x70) >> 4
		want, tol := s, 4<<seg
		if s > 32635 || s < -32635 {
			want, tol = 32124*sign(s), 0
		}
		if d := int(ulawToLinear(u)) - want; d > tol || d < -tol {
			t.Fatalf("ulawToLinear(linearToUlaw(%d)) = %d, want %d +- %d", s, ulawToLinear(u), want, tol)
		}
		// A-law: segments 0 and 1 quantise in steps of 16, segment e >= 2
		// in steps of 16<<(e-1); decoded to the middle, so half a step.
		a := linearToAlaw(int16(s))
		aseg := int((a^0x55)&0x70) >> 4
		atol := 8 << max(aseg-1, 0)
		if d := int(alawToLinear(a)) - s; d > atol || d < -atol {
			t.Fatalf("alawToLinear(linearToAlaw(%d)) = %d, want %d +- %d", s, alawToLinear(a), s, atol)
		}
	}
}

func sign(s int) int {
	if s < 0 {
		return -1
	}
	return 1
}

func TestG711Symmetry(t *testing.T) {
	// mu-law codes the magnitude, A-law the one's complement of negatives:
	// negating flips only the sign bit.
	for s := 1; s <= 32767; s++ {
		if p, n := linearToUlaw(int16(s)), linearToUlaw(int16(-s)); n != p^0x80 {
			t.Fatalf("linearToUlaw(-%d) = %#02x, want linearToUlaw(%d)^0x80 = %#02x", s, n, s, p^0x80)
		}
	}
	for s := 0; s <= 32767; s++ {
		if p, n := linearToAlaw(int16(s)), linearToAlaw(int16(-s-1)); n != p^0x80 {
			t.Fatalf("linearToAlaw(%d) = %#02x, want linearToAlaw(%d)^0x80 = %#02x", -s-1, n, s, p^0x80)
		}
	}
	for c := range 256 {
		if u, v := ulawToLinear(byte(c)), ulawToLinear(byte(c)^0x80); u != -v {
			t.Errorf("ulawToLinear(%#02x) = %d, ulawToLinear(%#02x) = %d, want opposite", c, u, c^0x80, v)
		}
		if a, b := alawToLinear(byte(c)), alawToLinear(byte(c)^0x80); a != -b {
			t.Errorf("alawToLinear(%#02x) = %d, alawToLinear(%#02x) = %d, want opposite", c, a, c^0x80, b)
		}
	}
}

func BenchmarkAppendEncoded(b *testing.B) {
	x := tone(16000, 16000, 440, 0.5) // 1 s
	dst := make([]byte, 0, 4*len(x))
	for _, e := range Encodings() {
		if e == EncodingFLAC {
			continue // BenchmarkFLACEncoder
		}
		b.Run(string(e), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				AppendEncoded(dst[:0], x, e)
			}
			b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
