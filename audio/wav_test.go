package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz/FuzzDecode")

// chunk is one RIFF chunk for hand-built test files.
type chunk struct {
	id   string
	size uint32 // declared size; the body may be shorter (a lying header)
	body []byte
}

func fmtBody(codec, channels, rate, bits int) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(codec))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*bits/8))
	return binary.LittleEndian.AppendUint16(b, uint16(bits))
}

// extensibleBody is a 40-byte WAVE_FORMAT_EXTENSIBLE fmt chunk whose
// SubFormat GUID carries codec.
func extensibleBody(codec, channels, rate, bits, validBits int) []byte {
	b := fmtBody(formatExtensible, channels, rate, bits)
	b = binary.LittleEndian.AppendUint16(b, 22)
	b = binary.LittleEndian.AppendUint16(b, uint16(validBits))
	b = binary.LittleEndian.AppendUint32(b, 0x3) // channel mask: front left+right
	b = binary.LittleEndian.AppendUint16(b, uint16(codec))
	return append(b, guidTail[:]...)
}

func riff(chunks ...chunk) []byte {
	var b []byte
	for _, c := range chunks {
		b = append(b, c.id...)
		b = binary.LittleEndian.AppendUint32(b, c.size)
		b = append(b, c.body...)
		if c.size%2 == 1 && int(c.size) == len(c.body) {
			b = append(b, 0)
		}
	}
	h := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(b)+4))...)
	return append(append(h, "WAVE"...), b...)
}

func full(id string, body []byte) chunk { return chunk{id, uint32(len(body)), body} }

func le16(v ...int16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func TestDecodeFormats(t *testing.T) {
	f32 := func(v ...float32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
		return b
	}
	f64 := func(v ...float64) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want Format
		data []float32
	}{
		{"pcm8", riff(full("fmt ", fmtBody(1, 1, 8000, 8)), full("data", []byte{128, 0, 255, 192})),
			Format{8000, 1, 8, false}, []float32{0, -1, 127.0 / 128, 0.5}},
		{"pcm16 stereo", riff(full("fmt ", fmtBody(1, 2, 16000, 16)), full("data", le16(0, -32768, 16384, 32767))),
			Format{16000, 2, 16, false}, []float32{0, -1, 0.5, 32767.0 / 32768}},
		{"pcm24", riff(full("fmt ", fmtBody(1, 1, 44100, 24)), full("data", []byte{0, 0, 0x80, 0xff, 0xff, 0x7f, 0, 0, 0x40})),
			Format{44100, 1, 24, false}, []float32{-1, float32(8388607.0 / 8388608), 0.5}},
		{"pcm32", riff(full("fmt ", fmtBody(1, 1, 48000, 32)), full("data", binary.LittleEndian.AppendUint32(nil, 0xC0000000))),
			Format{48000, 1, 32, false}, []float32{-0.5}},
		{"float32 with NaN and Inf", riff(full("fmt ", fmtBody(3, 1, 8000, 32)), full("fact", []byte{3, 0, 0, 0}),
			full("data", f32(0.25, float32(math.NaN()), float32(math.Inf(-1))))),
			Format{8000, 1, 32, true}, []float32{0.25, 0, -1}},
		{"float64", riff(full("fmt ", fmtBody(3, 1, 8000, 64)), full("data", f64(-0.125, 1.5))),
			Format{8000, 1, 64, true}, []float32{-0.125, 1.5}},
		{"extensible pcm 24-in-32", riff(full("fmt ", extensibleBody(1, 2, 96000, 32, 24)), full("data", binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0x40000000), 0))),
			Format{96000, 2, 24, false}, []float32{0.5, 0}},
		{"extensible float", riff(full("fmt ", extensibleBody(3, 1, 8000, 32, 32)), full("data", f32(0.75))),
			Format{8000, 1, 32, true}, []float32{0.75}},
		{"LIST before fmt, odd chunk padded", riff(full("LIST", []byte("INFOabc")), full("fmt ", fmtBody(1, 1, 8000, 16)), full("data", le16(-16384))),
			Format{8000, 1, 16, false}, []float32{-0.5}},
		{"streamed: data size 0xFFFFFFFF", riff(full("fmt ", fmtBody(1, 1, 8000, 16)), chunk{"data", 0xFFFFFFFF, le16(1, 2, 3)}),
			Format{8000, 1, 16, false}, []float32{1.0 / 32768, 2.0 / 32768, 3.0 / 32768}},
		{"trailing half frame ignored", riff(full("fmt ", fmtBody(1, 1, 8000, 16)), full("data", []byte{0, 0x40, 7})),
			Format{8000, 1, 16, false}, []float32{0.5}},
		{"empty data", riff(full("fmt ", fmtBody(1, 1, 8000, 16)), full("data", nil)),
			Format{8000, 1, 16, false}, []float32{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Decode(%s) error %v", tt.name, err)
			}
			if c.Format != tt.want {
				t.Errorf("Decode(%s).Format = %+v, want %+v", tt.name, c.Format, tt.want)
			}
			if len(c.Samples) != len(tt.data) {
				t.Fatalf("Decode(%s) = %d samples, want %d", tt.name, len(c.Samples), len(tt.data))
			}
			for i := range tt.data {
				if c.Samples[i] != tt.data[i] {
					t.Errorf("Decode(%s).Samples[%d] = %g, want %g", tt.name, i, c.Samples[i], tt.data[i])
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := fmtBody(1, 1, 8000, 16)
	const fourGB = 0xFFFFFFF0 // a lying size just under the "unknown" marker
	tests := []struct {
		name string
		in   []byte
		want Problem
	}{
		{"empty", nil, Truncated},
		{"short header", []byte("RIFF\x00\x00"), Truncated},
		{"bad magic", []byte("RIFX\x24\x00\x00\x00WAVEfmt "), BadMagic},
		{"not wave", []byte("RIFF\x24\x00\x00\x00AVI LIST"), BadMagic},
		{"rf64", []byte("RF64\xff\xff\xff\xffWAVEds64"), Unsupported},
		{"no chunks", riff(), MissingChunk},
		{"no data", riff(full("fmt ", good)), MissingChunk},
		{"data before fmt", riff(full("data", le16(1)), full("fmt ", good)), MissingChunk},
		{"fmt too small", riff(full("fmt ", good[:14])), ChunkSize},
		{"fmt absurd", riff(chunk{"fmt ", fourGB, good}), ChunkSize},
		{"fmt truncated", riff(chunk{"fmt ", 18, good}), Truncated},
		{"chunk header truncated", append(riff(full("fmt ", good)), "dat"...), Truncated},
		{"data claims 4 GB", riff(full("fmt ", good), chunk{"data", fourGB, make([]byte, 1000)}), Truncated},
		{"LIST claims 4 GB", riff(full("fmt ", good), chunk{"LIST", fourGB, make([]byte, 1000)}), Truncated},
		{"data truncated mid-file", riff(full("fmt ", good), chunk{"data", 100, le16(1, 2)}), Truncated},
		{"zero channels", riff(full("fmt ", fmtBody(1, 0, 8000, 16)), full("data", nil)), ZeroChannels},
		{"zero rate", riff(full("fmt ", fmtBody(1, 1, 0, 16)), full("data", nil)), BadFormat},
		{"g711 mu-law of 16 bits", riff(full("fmt ", fmtBody(7, 1, 8000, 16)), full("data", nil)), BadFormat},
		{"adpcm", riff(full("fmt ", fmtBody(2, 1, 8000, 4)), full("data", nil)), Unsupported},
		{"12-bit pcm", riff(full("fmt ", fmtBody(1, 1, 8000, 12)), full("data", nil)), Unsupported},
		{"16-bit float", riff(full("fmt ", fmtBody(3, 1, 8000, 16)), full("data", nil)), Unsupported},
		{"block align lies", riff(full("fmt ", append(append(good[:12:12], 7, 0), good[14:]...)), full("data", nil)), BadFormat},
		{"extensible too short", riff(full("fmt ", extensibleBody(1, 1, 8000, 16, 16)[:30])), ChunkSize},
		{"extensible unknown guid", riff(full("fmt ", append(extensibleBody(1, 1, 8000, 16, 16)[:39], 0))), Unsupported},
		{"valid bits beyond container", riff(full("fmt ", extensibleBody(1, 1, 8000, 16, 20)), full("data", nil)), BadFormat},
		{"two fmt chunks", riff(full("fmt ", good), full("fmt ", good), full("data", nil)), BadFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode(bytes.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Decode(%s) = %d samples, want a %q error", tt.name, len(c.Samples), tt.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Decode(%s) error %v (%T), want *FormatError", tt.name, err, err)
			}
			if fe.Problem != tt.want {
				t.Errorf("Decode(%s) error %q, want problem %q", tt.name, err, tt.want)
			}
			if !errors.Is(err, &FormatError{Problem: tt.want}) {
				t.Errorf("errors.Is(%v, &FormatError{Problem: %q}) = false", err, tt.want)
			}
		})
	}
}

// TestDecodeLyingSizeMemory checks the case: a header claiming
// 4 GB of data in a 1 KB file must not allocate 4 GB.
func TestDecodeLyingSizeMemory(t *testing.T) {
	for _, id := range []string{"data", "LIST"} {
		in := riff(full("fmt ", fmtBody(1, 2, 8000, 16)), chunk{id, 0xFFFFFFF0, make([]byte, 1000)})
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(bytes.NewReader(in))
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("Decode(%s chunk claiming 4 GB) succeeded, want an error", id)
		}
		// 1 MiB is the decoder's fixed working set (64 KiB read buffer,
		// capped preallocation of samples) with room to spare.
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Errorf("Decode(%s chunk claiming 4 GB) allocated %d bytes, want under 8 MiB", id, got)
		}
	}
}

// TestDecodeMatchesGoAudio decodes files written by go-audio/wav's encoder
// and compares with go-audio's integer samples.
func TestDecodeMatchesGoAudio(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, bits := range []int{8, 16, 24, 32} {
		for _, ch := range []int{1, 2, 3} {
			name := fmt.Sprintf("%dbit_%dch", bits, ch)
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), name+".wav")
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				// 1001 frames: odd, so 8-bit mono data needs a pad byte.
				data := make([]int, 1001*ch)
				lo, hi := -(1 << (bits - 1)), 1<<(bits-1)-1
				for i := range data {
					data[i] = lo + int(r.Int64N(int64(hi)-int64(lo)+1))
					if bits == 8 {
						data[i] += 128
					}
				}
				data[0] = hi // the extremes
				if bits == 8 {
					data[0] = 255
				}
				enc := wav.NewEncoder(f, 11025, bits, ch, 1)
				if err := enc.Write(&goaudio.IntBuffer{Format: &goaudio.Format{NumChannels: ch, SampleRate: 11025}, Data: data, SourceBitDepth: bits}); err != nil {
					t.Fatal(err)
				}
				if err := enc.Close(); err != nil {
					t.Fatal(err)
				}
				f.Close()
				raw, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				c, err := Decode(bytes.NewReader(raw))
				if err != nil {
					t.Fatalf("Decode(go-audio %s) error %v", name, err)
				}
				want := Format{SampleRate: 11025, Channels: ch, BitDepth: bits}
				if c.Format != want {
					t.Errorf("Decode(go-audio %s).Format = %+v, want %+v", name, c.Format, want)
				}
				back, err := FromIntBuffer(&goaudio.IntBuffer{Format: &goaudio.Format{NumChannels: ch, SampleRate: 11025}, Data: data, SourceBitDepth: bits})
				if err != nil {
					t.Fatal(err)
				}
				if len(c.Samples) != len(back.Samples) {
					t.Fatalf("Decode(go-audio %s) = %d samples, want %d", name, len(c.Samples), len(back.Samples))
				}
				for i := range back.Samples {
					if c.Samples[i] != back.Samples[i] {
						t.Fatalf("Decode(go-audio %s).Samples[%d] = %g, want %g (int %d)", name, i, c.Samples[i], back.Samples[i], data[i])
					}
				}
				// And back to go-audio integers.
				ib, err := c.IntBuffer(bits)
				if err != nil {
					t.Fatal(err)
				}
				for i := range data {
					if bits == 32 {
						// float32 keeps 24 significant bits: compare to
						// within 2^-24 relative (2^7 for 2^31-scale ints).
						if d := math.Abs(float64(ib.Data[i] - data[i])); d > 128 {
							t.Fatalf("IntBuffer(32).Data[%d] = %d, want %d +- 128", i, ib.Data[i], data[i])
						}
						continue
					}
					if ib.Data[i] != data[i] {
						t.Fatalf("IntBuffer(%d).Data[%d] = %d, want %d", bits, i, ib.Data[i], data[i])
					}
				}
			})
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	x := []float32{0, 0.5, -0.5, 1, -1, 0.123456, 2, -3, float32(math.NaN())}
	for _, f := range []SampleFormat{PCM16, Float32} {
		var buf bytes.Buffer
		if err := Encode(&buf, x, 22050, f); err != nil {
			t.Fatalf("Encode(%v) error %v", f, err)
		}
		c, err := Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("Decode(Encode(%v)) error %v", f, err)
		}
		if c.Format.SampleRate != 22050 || c.Format.Channels != 1 || c.Format.Float != (f == Float32) {
			t.Errorf("Decode(Encode(%v)).Format = %+v", f, c.Format)
		}
		for i, v := range x {
			// Encode clips to [-1, 1] and maps NaN to 0 in both formats.
			want := float32(math.Max(-1, math.Min(1, float64(v))))
			if v != v {
				want = 0
			}
			tol := float32(0)
			if f == PCM16 {
				// 16-bit quantization is within half a step (2^-16) plus
				// the 32767/32768 scale difference (2^-15).
				tol = 1.0 / 32768
			}
			if d := math.Abs(float64(c.Samples[i] - want)); d > float64(tol) {
				t.Errorf("Decode(Encode(%v)) sample %d = %g, want %g (tolerance %g)", f, i, c.Samples[i], want, tol)
			}
		}
		// go-audio's decoder reads our PCM16 files too.
		if f == PCM16 {
			d := wav.NewDecoder(bytes.NewReader(buf.Bytes()))
			ib, err := d.FullPCMBuffer()
			if err != nil || len(ib.Data) != len(x) || ib.Data[1] != 16384 {
				t.Errorf("go-audio FullPCMBuffer(Encode(PCM16)) = %v, %v; want %d samples, [1] = 16384", ib, err, len(x))
			}
		}
	}
}

func TestEncodeClipStereo(t *testing.T) {
	c := &Clip{Format: Format{SampleRate: 8000, Channels: 2}, Samples: []float32{0.5, -0.5, 0.25, 1}}
	var buf bytes.Buffer
	if err := EncodeClip(&buf, c, Float32); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMono(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0.625}
	if got.Format.Channels != 1 || len(got.Samples) != 2 || got.Samples[0] != want[0] || got.Samples[1] != want[1] {
		t.Errorf("DecodeMono(stereo %v) = %+v %v, want 1 channel %v", c.Samples, got.Format, got.Samples, want)
	}
	if l := c.Channel(nil, 1); l[0] != -0.5 || l[1] != 1 {
		t.Errorf("Channel(1) = %v, want [-0.5 1]", l)
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, tt := range []struct {
		rate int
		f    SampleFormat
	}{{0, PCM16}, {-8000, Float32}, {8000, 0}, {8000, 99}} {
		if err := Encode(io.Discard, []float32{0}, tt.rate, tt.f); err == nil {
			t.Errorf("Encode(rate %d, format %v) = nil, want an error", tt.rate, tt.f)
		}
	}
}

func TestEncoderUnknownLength(t *testing.T) {
	x := make([]float32, 3000)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) / 10))
	}
	for _, f := range []SampleFormat{PCM16, Float32} {
		// Unseekable destination: sizes stay 0xFFFFFFFF.
		var buf bytes.Buffer
		enc, err := NewWAVEncoder(&buf, 16000, 1, f, -1)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(x); i += 1000 {
			if err := enc.Write(x[i : i+1000]); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if got := binary.LittleEndian.Uint32(b[4:]); got != 0xFFFFFFFF {
			t.Errorf("stream %v: RIFF size = %#x, want 0xFFFFFFFF", f, got)
		}
		c, err := Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("Decode(stream %v) error %v", f, err)
		}
		if len(c.Samples) != len(x) {
			t.Errorf("Decode(stream %v) = %d samples, want %d", f, len(c.Samples), len(x))
		}
		if enc.Write(x) == nil {
			t.Errorf("Write after Close = nil, want an error")
		}

		// A file: Close patches the sizes so strict readers (go-audio) work.
		path := filepath.Join(t.TempDir(), "s.wav")
		fh, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if enc, err = NewWAVEncoder(fh, 16000, 1, f, -1); err != nil {
			t.Fatal(err)
		}
		if err := enc.Write(x); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		raw, _ := os.ReadFile(path)
		if got, want := binary.LittleEndian.Uint32(raw[4:]), uint32(len(raw)-8); got != want {
			t.Errorf("patched %v file: RIFF size = %d, want %d", f, got, want)
		}
		var whole bytes.Buffer
		if err := Encode(&whole, x, 16000, f); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, whole.Bytes()) {
			t.Errorf("patched %v stream file differs from Encode of the same samples", f)
		}
	}
	// Nothing written: Close still leaves a valid (empty) stream.
	var buf bytes.Buffer
	enc, err := NewEncoder(&buf, EncodingWAV, 8000, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := Decode(&buf); err != nil || len(c.Samples) != 0 {
		t.Errorf("Decode(empty stream) = %v, %v; want 0 samples", c, err)
	}
}

// seedFiles are the small valid and broken WAVs the fuzz corpus starts from.
func seedFiles() map[string][]byte {
	good := fmtBody(1, 1, 8000, 16)
	return map[string][]byte{
		"pcm16":          riff(full("fmt ", good), full("data", le16(0, 1000, -1000, 32767))),
		"pcm8_stereo":    riff(full("fmt ", fmtBody(1, 2, 8000, 8)), full("data", []byte{1, 2, 3, 4})),
		"pcm24":          riff(full("fmt ", fmtBody(1, 1, 8000, 24)), full("data", []byte{1, 2, 3})),
		"float32":        riff(full("fmt ", fmtBody(3, 1, 8000, 32)), full("fact", []byte{1, 0, 0, 0}), full("data", []byte{0, 0, 0x80, 0x3f})),
		"extensible":     riff(full("fmt ", extensibleBody(1, 2, 8000, 32, 24)), full("data", make([]byte, 8))),
		"list_odd":       riff(full("LIST", []byte("INFOx")), full("fmt ", good), full("data", le16(5))),
		"streamed":       riff(full("fmt ", good), chunk{"data", 0xFFFFFFFF, le16(1, 2)}),
		"data_4gb":       riff(full("fmt ", good), chunk{"data", 0xFFFFFFF0, make([]byte, 16)}),
		"zero_channels":  riff(full("fmt ", fmtBody(1, 0, 8000, 16)), full("data", nil)),
		"truncated":      riff(full("fmt ", good), full("data", le16(1, 2, 3)))[:47],
		"bad_magic":      []byte("RIFX\x00\x00\x00\x00WAVE"),
		"mulaw_codec":    riff(full("fmt ", fmtBody(7, 1, 8000, 8)), full("data", []byte{1})),
		"fmt_absurd":     riff(chunk{"fmt ", 0x7FFFFFFF, good}),
		"block_mismatch": riff(full("fmt ", fmtBody(1, 2, 8000, 16)[:12]), full("data", nil)),
	}
}

// TestWriteFuzzCorpus refreshes testdata/fuzz/FuzzDecode with -update.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the fuzz seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seedFiles() {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, "seed_"+name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range seedFiles() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := DecodeWith(bytes.NewReader(in), DecodeOptions{MaxSamples: 1 << 20})
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Decode error %v (%T), want *FormatError for in-memory input", err, err)
			}
			return
		}
		ch := c.Format.Channels
		if ch <= 0 || c.Format.SampleRate <= 0 || len(c.Samples)%ch != 0 {
			t.Fatalf("Decode = %+v with %d samples: inconsistent", c.Format, len(c.Samples))
		}
		for i, v := range c.Samples {
			if v != v || math.IsInf(float64(v), 0) {
				t.Fatalf("Decode sample %d = %g, want finite", i, v)
			}
		}
		// Float32 re-encoding is lossless within [-1, 1] and clips beyond
		// (when the byte rate fits the header's 32 bits, which Encode
		// checks).
		if int64(c.Format.SampleRate)*int64(ch)*4 > math.MaxUint32 {
			return
		}
		var buf bytes.Buffer
		if err := EncodeClip(&buf, c, Float32); err != nil {
			t.Fatalf("EncodeClip(decoded) error %v", err)
		}
		back, err := Decode(&buf)
		if err != nil {
			t.Fatalf("Decode(EncodeClip(decoded)) error %v", err)
		}
		if len(back.Samples) != len(c.Samples) {
			t.Fatalf("re-encoded %d samples, decoded %d", len(c.Samples), len(back.Samples))
		}
		for i := range back.Samples {
			if want := clamp1(c.Samples[i]); back.Samples[i] != want {
				t.Fatalf("re-encoded sample %d = %g, want %g", i, back.Samples[i], want)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	const n = 16000 // 1 s of 16 kHz mono
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.05))
	}
	for _, f := range []SampleFormat{PCM16, Float32} {
		var buf bytes.Buffer
		if err := Encode(&buf, x, 16000, f); err != nil {
			b.Fatal(err)
		}
		raw := buf.Bytes()
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := Decode(bytes.NewReader(raw)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	const n = 16000
	x := make([]float32, n)
	for _, f := range []SampleFormat{PCM16, Float32} {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Encode(io.Discard, x, 16000, f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// TestG711WAV: G.711 WAVs (codec 7 mu-law, 6 A-law; 8 bits, fmt with
// cbSize and a fact chunk) written by NewWAVEncoder, and WAVHeaderOf
// followed by the raw G.711 bytes, decode to exactly the G.711 decoding of
// each sample's encoding; a G.711 header with 16 bits is refused.
func TestG711WAV(t *testing.T) {
	x := make([]float32, 1001)
	for i := range x {
		x[i] = float32(0.9 * math.Sin(float64(i)*0.05) * math.Exp(-float64(i)/500))
	}
	for _, c := range []struct {
		f   SampleFormat
		raw Encoding
		dec func(byte) int16
	}{{MuLaw8, EncodingMulaw, ulawToLinear}, {ALaw8, EncodingAlaw, alawToLinear}} {
		var b bytes.Buffer
		enc, err := NewWAVEncoder(&b, 8000, 1, c.f, len(x))
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.Write(x); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		raw := AppendEncoded(nil, x, c.raw)
		if want := append(WAVHeaderOf(c.f, 8000, len(x)), raw...); !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%v: NewWAVEncoder's file differs from WAVHeaderOf + the raw bytes", c.f)
		}
		clip, err := Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%v: %v", c.f, err)
		}
		if clip.Format.SampleRate != 8000 || clip.Format.BitDepth != 8 || len(clip.Samples) != len(x) {
			t.Fatalf("%v: decoded %v, %d samples; want 8000 Hz 8-bit, %d", c.f, clip.Format, len(clip.Samples), len(x))
		}
		for i, v := range clip.Samples {
			if want := float32(c.dec(raw[i])) / (1 << 15); v != want {
				t.Fatalf("%v: sample %d = %v, want %v", c.f, i, v, want)
			}
		}
		bad := b.Bytes()[:len(b.Bytes()):len(b.Bytes())]
		bad = append([]byte(nil), bad...)
		bad[34] = 16 // bits per sample
		if _, err := Decode(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "want 8") {
			t.Errorf("%v with 16 bits per sample: %v, want an error", c.f, err)
		}
	}
}
