package speech

import (
	"math"
	"time"
)

// PauseSamples returns the pauses of a Script (Script.Pauses) in samples
// at rate Hz, rounded to the nearest sample; nil for nil.
func PauseSamples(pauses []time.Duration, rate int) []int {
	if pauses == nil {
		return nil
	}
	out := make([]int, len(pauses))
	for i, d := range pauses {
		out[i] = int(math.Round(d.Seconds() * float64(rate)))
	}
	return out
}

// ConcatPauses joins parts as Concat does, with pauses[i] samples of
// silence before part i (the first included) instead of one pause
// between every two, and trailing samples of silence after the last: the
// audio of a Script with pauses. pauses has one entry per part.
func ConcatPauses(parts [][]float32, pauses []int, trailing, rate int) []float32 {
	if len(pauses) != len(parts) {
		panic("speech: ConcatPauses: one pause per part")
	}
	n := trailing
	for i, p := range parts {
		n += pauses[i] + len(p)
	}
	out := make([]float32, 0, n)
	for i, p := range parts {
		out = append(out, make([]float32, pauses[i])...)
		out = append(out, Concat([][]float32{p}, 0, rate)...)
	}
	return append(out, make([]float32, trailing)...)
}
