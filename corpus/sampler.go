package corpus

import (
	"fmt"
	"math/rand/v2"

	"github.com/wavenet-go/wavenet/mulaw"
)

// Sampler hands out random training segments from a fixed list of
// utterances, reproducibly: the same utterances, seed and sequence of
// calls give the same segments, and State/Restore resume a sequence
// exactly (for resuming training from a checkpoint).
//
// Each draw picks an utterance uniformly, then a window start uniformly
// among the positions where a window of the requested length fits (or 0
// for a shorter utterance).
type Sampler struct {
	utts    []*Utterance
	silence []int32 // silence code per utterance's levels
	pcg     *rand.PCG
	rng     *rand.Rand
	draws   uint64
}

// SamplerState is a Sampler's position in its random sequence. It
// marshals to JSON for checkpoints.
type SamplerState struct {
	RNG   []byte `json:"rng"`   // the PCG generator's binary state
	Draws uint64 `json:"draws"` // segments handed out so far (informational)
}

// NewSampler returns a sampler over utts seeded with seed. It panics if
// utts is empty, an utterance has no codes or its Levels is invalid (a
// programmer mistake: Load never returns such utterances).
func NewSampler(utts []*Utterance, seed uint64) *Sampler {
	if len(utts) == 0 {
		panic("corpus: NewSampler with no utterances")
	}
	s := &Sampler{utts: utts, silence: make([]int32, len(utts))}
	for _, u := range utts {
		if len(u.Codes) == 0 {
			panic(fmt.Sprintf("corpus: NewSampler: utterance %s has no codes", u.Name))
		}
	}
	// Padding is the silence code of each utterance's Q (256 if unset).
	for i, u := range utts {
		q := u.Levels
		if q == 0 {
			q = DefaultLevels
		}
		s.silence[i] = mulaw.Silence(q)
	}
	// The second PCG word is a fixed odd constant so that seed alone
	// determines the stream.
	s.pcg = rand.NewPCG(seed, 0x9E3779B97F4A7C15)
	s.rng = rand.New(s.pcg)
	return s
}

// SetLevels overrides the number of mu-law levels of every utterance's
// codes, which decides the silence code used for padding (by default each
// Utterance.Levels, or 256 where that is 0).
func (s *Sampler) SetLevels(q int) {
	sil := mulaw.Silence(q)
	for i := range s.silence {
		s.silence[i] = sil
	}
}

// Next writes a segment of pad+length codes into dst (reallocated if too
// small) and returns it with the utterance it came from. The last length
// codes are the window; the first pad codes are the codes just before it
// (the receptive-field context), with the silence code where the window
// starts too close to the utterance's beginning. A window longer than the
// rest of the utterance is filled up with the silence code on the right.
func (s *Sampler) Next(dst []int32, length, pad int) ([]int32, *Utterance) {
	dst, u, _ := s.NextAt(dst, length, pad)
	return dst, u
}

// NextAt is Next that also returns the index in the utterance's codes of
// the segment's first code (negative when the segment starts in the
// silence padding before the utterance): the position that local
// conditioning (Utterance.Mel) is cut at.
func (s *Sampler) NextAt(dst []int32, length, pad int) ([]int32, *Utterance, int) {
	if length < 1 || pad < 0 {
		panic(fmt.Sprintf("corpus: Sampler.Next(length %d, pad %d)", length, pad))
	}
	i := s.rng.IntN(len(s.utts))
	u := s.utts[i]
	start := 0
	if n := len(u.Codes); n > length {
		start = s.rng.IntN(n - length + 1)
	}
	s.draws++
	if cap(dst) < pad+length {
		dst = make([]int32, pad+length)
	}
	dst = dst[:pad+length]
	sil := s.silence[i]
	from := start - pad // utterance index of dst[0]
	for j := range dst {
		k := from + j
		if k >= 0 && k < len(u.Codes) {
			dst[j] = u.Codes[k]
		} else {
			dst[j] = sil
		}
	}
	return dst, u, from
}

// State returns the sampler's current position.
func (s *Sampler) State() SamplerState {
	b, err := s.pcg.MarshalBinary()
	if err != nil {
		panic("corpus: PCG.MarshalBinary: " + err.Error()) // cannot fail
	}
	return SamplerState{RNG: b, Draws: s.draws}
}

// Restore moves the sampler to a saved position. The sampler must be over
// the same utterances as the one that saved it.
func (s *Sampler) Restore(st SamplerState) error {
	if err := s.pcg.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("corpus: restore sampler: %w", err)
	}
	s.draws = st.Draws
	return nil
}
