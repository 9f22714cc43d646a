package audio

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/mewkiz/flac"
)

// Container is the file format of an audio stream, as its first bytes
// tell it.
type Container string

// The containers DecodeAny reads.
const (
	WAV  Container = "wav"  // RIFF....WAVE
	FLAC Container = "flac" // fLaC
)

// Detect returns the container of a stream from its first bytes (at least
// 4, 12 for WAV), or "" when they are neither WAV nor FLAC. An ID3v2 tag
// ("ID3") counts as FLAC: taggers put one in front of FLAC files, and
// DecodeFLAC skips it (anything else behind it is a BadMagic error).
func Detect(head []byte) Container {
	switch {
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WAVE":
		return WAV
	case len(head) >= 4 && string(head[0:4]) == "fLaC", len(head) >= 3 && string(head[0:3]) == "ID3":
		return FLAC
	}
	return ""
}

// IsAudioFile reports whether a file name ends in an extension of the
// streams DecodeAny reads: .wav or .flac, in any case.
func IsAudioFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".wav" || ext == ".flac"
}

// DecodeAny reads a WAV or FLAC stream from r, telling them apart by their
// magic bytes ("RIFF....WAVE" or "fLaC"). Anything else is a *FormatError
// with Problem BadMagic.
func DecodeAny(r io.Reader) (*Clip, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(12)
	if err != nil && !isEOF(err) {
		return nil, fmt.Errorf("audio: read header: %w", err)
	}
	switch Detect(head) {
	case FLAC:
		return DecodeFLAC(br)
	case WAV:
		return Decode(br)
	}
	if len(head) >= 4 && (string(head[0:4]) == "RF64" || string(head[0:4]) == "BW64") {
		return Decode(br) // the WAV decoder says what is unsupported
	}
	return nil, &FormatError{Problem: BadMagic, Codec: "wav/flac",
		Detail: fmt.Sprintf("starts with %q, want a WAV (\"RIFF....WAVE\") or FLAC (\"fLaC\") stream", head)}
}

// maxFLACSamples bounds the samples (frames times channels) DecodeFLAC
// holds: 2^31, over 6 hours of 48 kHz stereo. Memory grows only with the
// frames actually decoded, whatever STREAMINFO claims.
const maxFLACSamples = 1 << 31

// DecodeFLAC reads a FLAC stream (https://xiph.org/flac/format.html) from
// r with the pure-Go decoder github.com/mewkiz/flac. Samples are scaled
// by 2^(bits-1) as Decode scales integer PCM, channels interleaved. Bad
// streams are *FormatErrors with Codec "flac".
func DecodeFLAC(r io.Reader) (c *Clip, err error) {
	defer func() {
		// The decoder indexes slices by header fields; a corrupt stream
		// must not take the process down.
		if p := recover(); p != nil {
			c, err = nil, &FormatError{Problem: BadFormat, Codec: "flac", Detail: fmt.Sprintf("corrupt stream (%v)", p)}
		}
	}()
	s, err := flac.New(r)
	if err != nil {
		return nil, flacErr("stream header", err)
	}
	info := s.Info
	ch, bits, rate := int(info.NChannels), int(info.BitsPerSample), int(info.SampleRate)
	if bits < 4 || bits > 24 {
		return nil, &FormatError{Problem: Unsupported, Codec: "flac", Detail: fmt.Sprintf("%d bits per sample, the decoder reads 4 to 24 (convert with: flac -d, or sox in.flac -b 24 out.flac)", bits)}
	}
	if rate <= 0 || rate > maxRateHertz {
		return nil, &FormatError{Problem: BadFormat, Codec: "flac", Detail: fmt.Sprintf("sample rate %d Hz, want 1 to %d", rate, maxRateHertz)}
	}
	hint := min(info.NSamples*uint64(ch), 1<<16)
	samples := make([]float32, 0, hint)
	scale := 1 / float32(int64(1)<<(bits-1))
	for n := 0; ; n++ {
		f, err := s.ParseNext()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, flacErr(fmt.Sprintf("frame %d", n), err)
		}
		if len(f.Subframes) != ch || int(f.BitsPerSample) != bits {
			return nil, &FormatError{Problem: BadFormat, Codec: "flac",
				Detail: fmt.Sprintf("frame %d has %d channels of %d bits, the stream %d of %d", n, len(f.Subframes), f.BitsPerSample, ch, bits)}
		}
		if len(samples)+int(f.BlockSize)*ch > maxFLACSamples {
			return nil, &FormatError{Problem: TooManyFrames, Codec: "flac", Detail: fmt.Sprintf("more than %d samples", maxFLACSamples)}
		}
		for i := range int(f.BlockSize) {
			for _, sf := range f.Subframes {
				if i >= len(sf.Samples) {
					return nil, &FormatError{Problem: Truncated, Codec: "flac", Detail: fmt.Sprintf("frame %d: subframe shorter than its block", n)}
				}
				samples = append(samples, float32(sf.Samples[i])*scale)
			}
		}
	}
	return &Clip{Format: Format{SampleRate: rate, Channels: ch, BitDepth: bits}, Samples: samples}, nil
}

// flacErr turns the decoder's errors into *FormatErrors: a stream that
// ends early is Truncated, one without the "fLaC" signature BadMagic, the
// rest BadFormat with the decoder's message.
func flacErr(where string, err error) error {
	p := BadFormat
	switch {
	case isEOF(err):
		p = Truncated
	case strings.Contains(err.Error(), "signature"):
		p = BadMagic
	}
	return &FormatError{Problem: p, Codec: "flac", Detail: where + ": " + err.Error(), Err: err}
}
