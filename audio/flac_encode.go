package audio

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"hash"
	"io"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
)

// FLAC output (EncodingFLAC): 16-bit mono, fixed-blocksize frames of
// flacBlockSize samples (the last one short), each subframe the smallest
// of constant, verbatim and fixed-predictor (orders 0 to 4, Rice-coded
// residuals) as github.com/mewkiz/flac's analysis picks it. Frames are
// written as soon as a block is full, so a stream is valid FLAC as it
// grows (RFC 9639 sections 8.2 and 9).
const (
	// flacBlockSize is libFLAC's default block size, one of the sizes a
	// frame header codes in 4 bits (RFC 9639 section 9.1.1).
	flacBlockSize = 4096
	// flacHeaderSize is "fLaC" and the STREAMINFO block with its 4-byte
	// header (RFC 9639 section 8.2: 34 bytes of body).
	flacHeaderSize = 4 + 4 + 34
	// flacFrameOverhead bounds a frame's bytes beside its samples: a
	// header of at most 16 bytes (sync, codes, a 6-byte frame number,
	// 16-bit block size and sample rate suffixes, CRC-8), a 1-byte
	// subframe header and the CRC-16.
	flacFrameOverhead = 16 + 1 + 2
	// maxFLACRate is the largest rate STREAMINFO's 20-bit field holds.
	maxFLACRate = 1<<20 - 1
)

// flacEncoder is an Encoder's FLAC state.
type flacEncoder struct {
	enc   *flac.Encoder
	out   bytes.Buffer // what enc writes; copied to the Encoder's writer per frame
	rate  int
	block []int32 // pending samples, up to flacBlockSize
	frame frame.Frame
	sub   frame.Subframe
	md5   hash.Hash // of the 16-bit little-endian samples (RFC 9639 section 8.2)
	pcm   []byte
}

// FLACHeader returns the 42-byte start of an EncodingFLAC stream of n
// samples at rate Hz: "fLaC" and STREAMINFO. n < 0 declares an unknown
// length (0). The MD5 signature is zero, "unknown" (RFC 9639 section
// 8.2). Writing it over a streamed header once the length is known gives
// the sample count; audio.Encoder does so itself, MD5 included, when its
// writer can seek.
func FLACHeader(rate, n int) []byte {
	b, err := flacHeader(rate, int64(n), nil)
	if err != nil {
		panic(fmt.Sprintf("audio: FLACHeader(%d, %d): %v", rate, n, err))
	}
	return b
}

// flacHeader is FLACHeader with an MD5 signature (nil: zero).
func flacHeader(rate int, n int64, sum []byte) ([]byte, error) {
	if rate <= 0 || rate > maxFLACRate {
		return nil, fmt.Errorf("sample rate %d Hz, FLAC holds 1 to %d", rate, maxFLACRate)
	}
	info := flacInfo(rate, n)
	copy(info.MD5sum[:], sum)
	var b bytes.Buffer
	if _, err := flac.NewEncoder(&b, info); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func flacInfo(rate int, n int64) *meta.StreamInfo {
	return &meta.StreamInfo{
		BlockSizeMin: flacBlockSize, BlockSizeMax: flacBlockSize, // the last block is not counted
		SampleRate: uint32(rate), NChannels: 1, BitsPerSample: 16,
		NSamples: uint64(max(n, 0)), // 0: unknown
	}
}

// newFLACEncoder writes the stream header to w.
func newFLACEncoder(w io.Writer, rate int, n int64) (*flacEncoder, error) {
	if rate > maxFLACRate {
		return nil, fmt.Errorf("audio: encode: sample rate %d Hz, FLAC holds 1 to %d", rate, maxFLACRate)
	}
	f := &flacEncoder{rate: rate, block: make([]int32, 0, flacBlockSize), md5: md5.New()}
	// enc writes to a bytes.Buffer, which neither seeks nor closes:
	// enc.Close must not rewrite or close the caller's writer.
	enc, err := flac.NewEncoder(&f.out, flacInfo(rate, n))
	if err != nil {
		return nil, fmt.Errorf("audio: encode: flac header: %w", err)
	}
	f.enc = enc
	f.sub.NSamples = flacBlockSize
	f.frame.Header = frame.Header{HasFixedBlockSize: true, SampleRate: flacFrameRate(rate),
		Channels: frame.ChannelsMono, BitsPerSample: 16}
	f.frame.Subframes = []*frame.Subframe{&f.sub}
	if err := f.flush(w); err != nil {
		return nil, fmt.Errorf("audio: encode: write header: %w", err)
	}
	return f, nil
}

// flacFrameRate is the rate a frame header states: rate when the header
// can code it, else 0, "see STREAMINFO" (RFC 9639 section 9.1.2).
func flacFrameRate(rate int) uint32 {
	switch {
	case rate <= 65535, rate%10 == 0 && rate <= 655350, rate%1000 == 0 && rate <= 255000:
		return uint32(rate)
	}
	return 0
}

// write encodes x, writing every full block to w.
func (f *flacEncoder) write(w io.Writer, x []float32) error {
	for _, v := range x {
		f.block = append(f.block, int32(pcm16(v)))
		if len(f.block) == flacBlockSize {
			if err := f.writeFrame(w); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeFrame encodes the pending block as one frame and writes it to w.
func (f *flacEncoder) writeFrame(w io.Writer) error {
	n := len(f.block)
	f.pcm = f.pcm[:0]
	for _, s := range f.block {
		f.pcm = binary.LittleEndian.AppendUint16(f.pcm, uint16(s))
	}
	f.md5.Write(f.pcm)
	f.frame.BlockSize = uint16(n)
	f.sub.SubHeader = frame.SubHeader{Pred: frame.PredVerbatim} // the encoder's analysis picks the predictor
	f.sub.Samples, f.sub.NSamples = f.block, n
	if err := f.enc.WriteFrame(&f.frame); err != nil {
		return fmt.Errorf("flac frame: %w", err)
	}
	f.block = f.block[:0]
	return f.flush(w)
}

// flush writes what the encoder produced to w.
func (f *flacEncoder) flush(w io.Writer) error {
	_, err := w.Write(f.out.Bytes())
	f.out.Reset()
	return err
}

// close writes the last, short block.
func (f *flacEncoder) close(w io.Writer) error {
	if len(f.block) == 0 {
		return nil
	}
	return f.writeFrame(w)
}

// header is the exact stream header of the frames written, MD5 included.
func (f *flacEncoder) header(n int64) ([]byte, error) {
	return flacHeader(f.rate, n, f.md5.Sum(nil))
}
