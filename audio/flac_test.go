package audio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The testdata pairs flac_*.wav / flac_*.flac were made once with sox
// (0.05 s of sine tones) and the reference encoder flac 1.4
// (--best --no-padding) from the WAV: lossless, so the FLAC decodes to
// exactly the WAV's samples.
func TestDecodeFLACMatchesWAV(t *testing.T) {
	for _, tc := range []struct {
		name         string
		rate, ch, bd int
	}{
		{"flac_s16_stereo_16k", 16000, 2, 16},
		{"flac_s24_mono_22k", 22050, 1, 24},
		{"flac_s8_mono_8k", 8000, 1, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := readTestdata(t, tc.name+".flac")
			wb := readTestdata(t, tc.name+".wav")
			want, err := Decode(bytes.NewReader(wb))
			if err != nil {
				t.Fatal(err)
			}
			for _, dec := range []struct {
				name string
				f    func([]byte) (*Clip, error)
			}{
				{"DecodeFLAC", func(b []byte) (*Clip, error) { return DecodeFLAC(bytes.NewReader(b)) }},
				{"DecodeAny", func(b []byte) (*Clip, error) { return DecodeAny(bytes.NewReader(b)) }},
			} {
				got, err := dec.f(fb)
				if err != nil {
					t.Fatalf("%s(%s.flac): %v", dec.name, tc.name, err)
				}
				if wantF := (Format{SampleRate: tc.rate, Channels: tc.ch, BitDepth: tc.bd}); got.Format != wantF {
					t.Errorf("%s(%s.flac).Format = %v, want %v", dec.name, tc.name, got.Format, wantF)
				}
				if len(got.Samples) != len(want.Samples) || got.Frames() != (tc.rate+10)/20 {
					t.Fatalf("%s(%s.flac): %d samples, WAV has %d (want %d frames)", dec.name, tc.name, len(got.Samples), len(want.Samples), (tc.rate+10)/20)
				}
				for i := range got.Samples {
					// Lossless and both scaled by 2^(bits-1): exactly equal.
					if got.Samples[i] != want.Samples[i] {
						t.Fatalf("%s(%s.flac) sample %d = %v, WAV %v", dec.name, tc.name, i, got.Samples[i], want.Samples[i])
					}
				}
			}
			if c := Detect(fb); c != FLAC {
				t.Errorf("Detect(%s.flac) = %q, want flac", tc.name, c)
			}
			if c := Detect(wb); c != WAV {
				t.Errorf("Detect(%s.wav) = %q, want wav", tc.name, c)
			}
		})
	}
}

func TestDecodeAnyErrors(t *testing.T) {
	fb := readTestdata(t, "flac_s16_stereo_16k.flac")
	for _, tc := range []struct {
		name string
		in   []byte
		want Problem
	}{
		{"empty", nil, BadMagic},
		{"text", []byte("hello, this is not audio"), BadMagic},
		{"flac magic only", []byte("fLaC"), Truncated},
		{"flac header cut", fb[:20], Truncated},
		{"flac frames cut", fb[:len(fb)/2], Truncated},
		{"id3 then mp3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00"), BadMagic},
		{"32-bit flac", readTestdata(t, "flac_s32_unsupported.flac"), Unsupported}, // sox -b 32 | flac 1.4
	} {
		_, err := DecodeAny(bytes.NewReader(tc.in))
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Problem != tc.want {
			t.Errorf("DecodeAny(%s) error %v, want a *FormatError %q", tc.name, err, tc.want)
		}
	}
	wb := readTestdata(t, "flac_s8_mono_8k.wav")
	if _, err := DecodeFLAC(bytes.NewReader(wb)); !errors.Is(err, &FormatError{Problem: BadMagic}) {
		t.Errorf("DecodeFLAC(a WAV file) error %v, want a *FormatError %q", err, BadMagic)
	}
	// A FLAC stream behind an ID3v2 tag (10-byte header, size 0) decodes.
	tagged := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), fb...)
	if c, err := DecodeAny(bytes.NewReader(tagged)); err != nil || c.Format.Channels != 2 {
		t.Errorf("DecodeAny(ID3v2 + FLAC) = %v, %v; want the stereo clip", c, err)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeFLAC: no input panics or hangs, and a clip that comes back is
// consistent (whole frames, a positive rate).
func FuzzDecodeFLAC(f *testing.F) {
	for _, n := range []string{"flac_s16_stereo_16k.flac", "flac_s24_mono_22k.flac", "flac_s8_mono_8k.flac"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte("fLaC"))
	f.Add([]byte("ID3\x04\x00\x00\x00\x00\x00\x05fLaC\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeAny(bytes.NewReader(b))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("DecodeAny error %v (%T), want a *FormatError", err, err)
			}
			return
		}
		if c.Format.Channels <= 0 || c.Format.SampleRate <= 0 || len(c.Samples)%c.Format.Channels != 0 {
			t.Fatalf("DecodeAny = %v with %d samples: inconsistent", c.Format, len(c.Samples))
		}
	})
}

// BenchmarkDecodeFLAC decodes the 16 kHz stereo testdata file (0.05 s).
func BenchmarkDecodeFLAC(b *testing.B) {
	fb := readTestdata(b, "flac_s16_stereo_16k.flac")
	b.ReportAllocs()
	var frames int
	for b.Loop() {
		c, err := DecodeFLAC(bytes.NewReader(fb))
		if err != nil {
			b.Fatal(err)
		}
		frames += c.Frames()
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
