package audio

import (
	"fmt"
	"math"

	goaudio "github.com/go-audio/audio"
)

// IntBuffer converts the clip to a go-audio integer buffer of the given bit
// depth (8, 16, 24 or 32), for code that works with go-audio types.
// 8-bit data is unsigned (128 is 0), as go-audio/wav reads and writes it.
func (c *Clip) IntBuffer(bitDepth int) (*goaudio.IntBuffer, error) {
	if bitDepth != 8 && bitDepth != 16 && bitDepth != 24 && bitDepth != 32 {
		return nil, fmt.Errorf("audio: int buffer: bit depth %d, want 8, 16, 24 or 32", bitDepth)
	}
	// The inverse of Decode's scaling by 2^(bits-1), clamped to the
	// integer range, so that decoded integer PCM converts back exactly
	// (for 32-bit data up to float32's 24-bit precision).
	scale := float64(int64(1) << (bitDepth - 1))
	lo, hi := -scale, scale-1
	data := make([]int, len(c.Samples))
	for i, v := range c.Samples {
		f := float64(v)
		if f != f {
			f = 0
		}
		data[i] = int(math.Max(lo, math.Min(hi, roundHalfAway(f*scale))))
		if bitDepth == 8 {
			data[i] += 128 // go-audio keeps 8-bit samples unsigned, as WAV stores them
		}
	}
	return &goaudio.IntBuffer{
		Format:         &goaudio.Format{NumChannels: c.Format.Channels, SampleRate: c.Format.SampleRate},
		Data:           data,
		SourceBitDepth: bitDepth,
	}, nil
}

// FromIntBuffer converts a go-audio integer buffer to a clip, scaling by
// 2^(SourceBitDepth-1) as Decode does.
func FromIntBuffer(b *goaudio.IntBuffer) (*Clip, error) {
	if b == nil || b.Format == nil {
		return nil, fmt.Errorf("audio: from int buffer: no format")
	}
	bits := b.SourceBitDepth
	if bits < 2 || bits > 32 {
		return nil, fmt.Errorf("audio: from int buffer: source bit depth %d, want 2 to 32", bits)
	}
	if b.Format.NumChannels <= 0 || b.Format.SampleRate <= 0 {
		return nil, fmt.Errorf("audio: from int buffer: %d channels at %d Hz", b.Format.NumChannels, b.Format.SampleRate)
	}
	scale := 1 / float64(int64(1)<<(bits-1))
	s := make([]float32, len(b.Data))
	for i, v := range b.Data {
		if bits == 8 {
			v -= 128 // go-audio keeps 8-bit samples unsigned (128 is 0)
		}
		s[i] = float32(float64(v) * scale)
	}
	return &Clip{Format: Format{SampleRate: b.Format.SampleRate, Channels: b.Format.NumChannels, BitDepth: bits}, Samples: s}, nil
}

func roundHalfAway(f float64) float64 { return math.Round(f) }
