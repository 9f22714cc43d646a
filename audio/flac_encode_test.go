package audio

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mewkiz/flac"
)

// speechLike is 1 s-scale test audio at 16 kHz: a 220 Hz tone at 0.5 with
// its third harmonic, plus uniform noise of amplitude 0.01 (about 40 dB
// below the tone, like a quiet recording's floor), seeded.
func speechLike(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		w := 2 * math.Pi * 220 * float64(i) / 16000
		x[i] = float32(0.5*math.Sin(w) + 0.1*math.Sin(3*w) + 0.01*(2*r.Float64()-1))
	}
	return x
}

// encodeFLAC writes x in chunks of chunk samples to w, declaring n.
func encodeFLAC(t *testing.T, w interface{ Write([]byte) (int, error) }, x []float32, n, chunk int) {
	t.Helper()
	enc, err := NewEncoder(w, EncodingFLAC, 16000, n)
	if err != nil {
		t.Fatalf("NewEncoder(flac, 16000, %d): %v", n, err)
	}
	for i := 0; i < len(x); i += chunk {
		if err := enc.Write(x[i:min(i+chunk, len(x))]); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// checkFLAC decodes b with DecodeAny and wants exactly the 16-bit
// quantised x (pcm16), and STREAMINFO declaring n samples and MD5 sum
// (nil: zero, unknown).
func checkFLAC(t *testing.T, b []byte, x []float32, n uint64, sum []byte) {
	t.Helper()
	c, err := DecodeAny(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("DecodeAny of %d FLAC bytes: %v", len(b), err)
	}
	if want := (Format{SampleRate: 16000, Channels: 1, BitDepth: 16}); c.Format != want {
		t.Errorf("DecodeAny format %+v, want %+v", c.Format, want)
	}
	if len(c.Samples) != len(x) {
		t.Fatalf("DecodeAny gave %d samples, want %d", len(c.Samples), len(x))
	}
	for i, v := range c.Samples {
		// DecodeFLAC scales by 2^15; pcm16 by 32767: compare integers.
		if got, want := int16(v*32768), pcm16(x[i]); got != want {
			t.Fatalf("sample %d = %d, want %d (pcm16(%v))", i, got, want, x[i])
		}
	}
	s, err := flac.New(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var want [16]byte
	copy(want[:], sum)
	if s.Info.NSamples != n || s.Info.MD5sum != want {
		t.Errorf("STREAMINFO has %d samples, MD5 %x; want %d, %x", s.Info.NSamples, s.Info.MD5sum, n, want)
	}
}

func TestFLACRoundTrip(t *testing.T) {
	x := speechLike(16000, 1)
	x[5], x[6], x[7] = 2, -3, float32(math.NaN()) // clipped and NaN as pcm16 has them
	for _, tt := range []struct {
		name  string
		n     int // samples (flacBlockSize = 4096 a frame)
		chunk int // samples per Write
	}{
		{"empty", 0, 1},
		{"one sample", 1, 1},
		{"short block", 100, 7},
		{"one block", 4096, 4096},
		{"block and one", 4097, 1000},
		{"1 s", 16000, 1000}, // 3 blocks and 3712
		{"1 s in one write", 16000, 16000},
		{"three blocks", 3 * 4096, 333},
	} {
		for _, declared := range []int{tt.n, -1} {
			var buf bytes.Buffer
			encodeFLAC(t, &buf, x[:tt.n], declared, tt.chunk)
			t.Logf("%s: %d samples in %d bytes", tt.name, tt.n, buf.Len())
			checkFLAC(t, buf.Bytes(), x[:tt.n], uint64(max(declared, 0)), nil)
			if got, bound := int64(buf.Len()), EncodingFLAC.EncodedSize(tt.n); got > bound {
				t.Errorf("%s: %d bytes, above EncodedSize(%d) = %d", tt.name, got, tt.n, bound)
			}
		}
	}
}

// TestFLACStreamGrows: the bytes written so far are a valid stream of the
// full blocks so far, whatever the chunking.
func TestFLACStreamGrows(t *testing.T) {
	x := speechLike(10000, 2)
	var buf bytes.Buffer
	enc, err := NewEncoder(&buf, EncodingFLAC, 16000, -1)
	if err != nil {
		t.Fatal(err)
	}
	if buf.Len() != flacHeaderSize {
		t.Errorf("NewEncoder wrote %d bytes, want the %d-byte header", buf.Len(), flacHeaderSize)
	}
	for _, end := range []int{100, 4095, 4096, 5000, 8192, 10000} {
		if err := enc.Write(x[enc.frames:end]); err != nil {
			t.Fatal(err)
		}
		full := end / flacBlockSize * flacBlockSize
		checkFLAC(t, buf.Bytes(), x[:full], 0, nil)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	checkFLAC(t, buf.Bytes(), x, 0, nil)
	if err := enc.Write(x[:1]); err == nil {
		t.Errorf("Write after Close = nil error, want one")
	}
}

// TestFLACSeekable: written to a file after other bytes, the header gets
// the sample count and MD5 sum, and the file ends after the last frame.
func TestFLACSeekable(t *testing.T) {
	x := speechLike(9000, 3)
	f, err := os.Create(filepath.Join(t.TempDir(), "out.flac"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prefix := []byte("abc")
	f.Write(prefix)
	encodeFLAC(t, f, x, -1, 1000)
	f.Write([]byte("z"))
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, prefix) || b[len(b)-1] != 'z' {
		t.Fatalf("file = %q...%q, want the prefix, the stream, then z", b[:8], b[len(b)-1:])
	}
	// RFC 9639 section 8.2: the MD5 of the samples, 16-bit little-endian.
	sum := md5.Sum(AppendEncoded(nil, x, EncodingPCM16))
	checkFLAC(t, b[len(prefix):len(b)-1], x, uint64(len(x)), sum[:])
}

// TestFLACHeader: FLACHeader over a streamed header declares the count.
func TestFLACHeader(t *testing.T) {
	x := speechLike(5000, 4)
	var buf bytes.Buffer
	encodeFLAC(t, &buf, x, -1, 5000)
	hdr := FLACHeader(16000, len(x))
	if !bytes.Equal(buf.Bytes()[:len(hdr)], FLACHeader(16000, -1)) {
		t.Errorf("streamed header % x, want FLACHeader(16000, -1)", buf.Bytes()[:len(hdr)])
	}
	b := append(hdr, buf.Bytes()[len(hdr):]...)
	checkFLAC(t, b, x, uint64(len(x)), nil)
}

func TestFLACEncoderErrors(t *testing.T) {
	for _, rate := range []int{0, maxFLACRate + 1} {
		if _, err := NewEncoder(&bytes.Buffer{}, EncodingFLAC, rate, -1); err == nil {
			t.Errorf("NewEncoder(flac, %d) = nil error, want one", rate)
		}
	}
	enc, _ := NewEncoder(&bytes.Buffer{}, EncodingFLAC, 16000, 10)
	enc.Write(make([]float32, 9))
	if err := enc.Close(); err == nil {
		t.Errorf("Close after 9 of 10 declared samples = nil, want an error")
	}
}

// TestFLACCompresses: prediction makes the files smaller than 16-bit PCM.
func TestFLACCompresses(t *testing.T) {
	for _, tt := range []struct {
		name string
		x    []float32
		max  float64 // FLAC bytes / PCM16 bytes
	}{
		// Noise of 0.01 is uniform over 657 levels of 16-bit PCM,
		// log2(657) = 9.4 bits a sample no predictor removes; a fixed
		// predictor's residual and Rice codes add 1 to 2 (0.70 measured):
		// at most 12 of 16 bits.
		{"tone and noise", speechLike(16000, 5), 12.0 / 16},
		// Silence is one constant subframe a block.
		{"silence", make([]float32, 16000), 0.01},
	} {
		var buf bytes.Buffer
		encodeFLAC(t, &buf, tt.x, len(tt.x), 1000)
		ratio := float64(buf.Len()) / float64(2*len(tt.x))
		t.Logf("%s: %d samples in %d bytes, %.3f of PCM16", tt.name, len(tt.x), buf.Len(), ratio)
		if ratio > tt.max {
			t.Errorf("%s: FLAC is %.3f of PCM16's size, want at most %.2f", tt.name, ratio, tt.max)
		}
	}
}

// TestFLACReference decodes the output with the reference decoder (the
// flac command, Debian's flac package), when it is installed.
func TestFLACReference(t *testing.T) {
	bin, err := exec.LookPath("flac")
	if err != nil {
		t.Skip("no flac command")
	}
	x := speechLike(16000, 6)
	for _, declared := range []int{len(x), -1} {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.flac"), filepath.Join(dir, "out.wav")
		var buf bytes.Buffer
		encodeFLAC(t, &buf, x, declared, 1000)
		if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(bin, "--silent", "--decode", "-o", out, in).CombinedOutput(); err != nil {
			t.Fatalf("flac --decode (declared %d): %v\n%s", declared, err, b)
		}
		wav, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Decode(bytes.NewReader(wav))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Samples) != len(x) {
			t.Fatalf("flac --decode (declared %d) gave %d samples, want %d", declared, len(c.Samples), len(x))
		}
		for i, v := range c.Samples {
			if got, want := int16(v*32768), pcm16(x[i]); got != want {
				t.Fatalf("flac --decode (declared %d): sample %d = %d, want %d", declared, i, got, want)
			}
		}
	}
}

// FuzzFLACEncode: any 16-bit samples, written in any chunks, come back
// exactly.
func FuzzFLACEncode(f *testing.F) {
	f.Add(le16(0, 1, -1, 32767, -32767), uint16(2))
	f.Add(le16(5, 5, 5, 5, 5, 5, 5, 5), uint16(3))
	f.Add(bytes.Repeat(le16(-32767, 32767), 5000), uint16(4095)) // a full block of the largest residuals
	f.Fuzz(func(t *testing.T, b []byte, chunk uint16) {
		x := make([]float32, len(b)/2)
		for i := range x {
			x[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32767
		}
		var buf bytes.Buffer
		encodeFLAC(t, &buf, x, len(x), max(int(chunk), 1))
		checkFLAC(t, buf.Bytes(), x, uint64(len(x)), nil)
	})
}

// BenchmarkFLACEncoder encodes 1 s of speechLike at 16 kHz.
func BenchmarkFLACEncoder(b *testing.B) {
	x := speechLike(16000, 7)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		enc, _ := NewEncoder(&buf, EncodingFLAC, 16000, len(x))
		enc.Write(x)
		if err := enc.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(buf.Len())/float64(2*len(x)), "ratio")
}
