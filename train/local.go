package train

import (
	"github.com/wavenet-go/wavenet/wavenet"
)

// LocalMargin is the number of mel frames before the frame of a sample that
// its upsampled conditioning depends on: each upsampling layer looks back
// lc.Lookback of its input rows, at most as many frames (Width-1 for a
// transposed layer, Width for a repeat-conv2d one of scale above 1), so
// their sum (see wavenet.LocalConfig). A window of frames that starts
// LocalMargin frames before the frame of its first sample gives, from that
// sample on, the rows that upsampling the whole utterance gives.
func LocalMargin(lc wavenet.LocalConfig) int {
	n := 0
	for i := range lc.Scales {
		n += lc.Lookback(i)
	}
	return n
}

// LocalFrames is the number of mel frames a sequence of length codes
// takes in the training graph: LocalMargin frames of context, then enough
// frames to cover length rows from any offset within a frame.
func LocalFrames(lc wavenet.LocalConfig, length int) int {
	return LocalMargin(lc) + (length+lc.Hop-1)/lc.Hop + 1
}

// LocalWindow writes into dst (reallocated if too small) the frames
// of a training sequence whose first prediction is of sample first of an
// utterance with mel frames mel ((F, C) row-major): frames f0 ..
// f0+frames-1 with f0 = first/Hop - LocalMargin (rounded down), zero
// outside 0..F-1 (zero frames before the utterance are what upsampling it
// whole assumes; after its end they condition only silence padding). It
// returns them with the offset of sample first in their upsampled rows.
func LocalWindow(dst, mel []float32, lc wavenet.LocalConfig, first, frames int) ([]float32, int) {
	C, hop := lc.Channels, lc.Hop
	f0 := floorDiv(first, hop) - LocalMargin(lc)
	if cap(dst) < frames*C {
		dst = make([]float32, frames*C)
	}
	dst = dst[:frames*C]
	F := len(mel) / C
	for i := 0; i < frames; i++ {
		row := dst[i*C : (i+1)*C]
		if f := f0 + i; f >= 0 && f < F {
			copy(row, mel[f*C:(f+1)*C])
		} else {
			clear(row)
		}
	}
	return dst, first - f0*hop
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
