package ngram

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A proper model sums to one over the next code in every context.
func TestDistributionsSumToOne(t *testing.T) {
	m, err := New(8, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	codes := make([]int32, 500)
	for i := range codes {
		codes[i] = int32(rng.IntN(5)) // codes 5..7 never seen
	}
	if err := m.Add(codes); err != nil {
		t.Fatal(err)
	}
	for order := 0; order <= 2; order++ {
		for a := int32(0); a < 8; a++ {
			for b := int32(0); b < 8; b++ {
				sum := 0.0
				for c := int32(0); c < 8; c++ {
					sum += m.prob(a, b, c, order)
				}
				if math.Abs(sum-1) > 1e-12 {
					t.Fatalf("sum over c of P(c | %d, %d) at order %d = %v, want 1", a, b, order, sum)
				}
			}
		}
	}
}

func TestPredictableSequenceCostsLittle(t *testing.T) {
	m, _ := New(256, 0.75)
	// A deterministic cycle: after (a, b) the next code is always the same.
	cyc := []int32{10, 20, 30, 40, 50}
	var codes []int32
	for i := 0; i < 2000; i++ {
		codes = append(codes, cyc[i%len(cyc)])
	}
	if err := m.Add(codes); err != nil {
		t.Fatal(err)
	}
	bits, n, err := m.Bits(codes)
	if err != nil {
		t.Fatal(err)
	}
	// Each trigram context was seen ~400 times with one continuation:
	// P = (400 - 0.75)/400 + tiny, about 0.003 bits; the first two codes
	// cost at most 8 + 8 bits.
	if per := bits / float64(n); per > 0.02 {
		t.Errorf("bits per sample on a deterministic cycle = %v, want < 0.02", per)
	}
	// Uniform noise costs about log2(256) = 8 bits under a model of itself.
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]int32, 20000)
	for i := range noise {
		noise[i] = int32(rng.IntN(256))
	}
	m2, _ := New(256, 0.75)
	m2.Add(noise[:10000])
	bits, n, _ = m2.Bits(noise[10000:])
	if per := bits / float64(n); per < 7.9 || per > 8.5 {
		t.Errorf("bits per sample on held-out uniform noise = %v, want about 8", per)
	}
	if _, _, err := m2.Bits([]int32{256}); err == nil {
		t.Error("Bits with code 256 of 256: want an error")
	}
}

// SuffixBits counts the codes after from, each given all before it: the
// sum of the per-code bits of the plain loop, which codes one term at a
// time with the unigram, bigram, then trigram context.
func TestSuffixBits(t *testing.T) {
	m, err := New(4, DefaultDiscount)
	if err != nil {
		t.Fatal(err)
	}
	train := []int32{0, 1, 2, 3, 0, 1, 2, 3, 0, 2}
	if err := m.Add(train); err != nil {
		t.Fatal(err)
	}
	codes := []int32{1, 2, 3, 0, 0, 1}
	per := make([]float64, len(codes))
	for i := range codes {
		var a, b int32
		if i >= 1 {
			b = codes[i-1]
		}
		if i >= 2 {
			a = codes[i-2]
		}
		per[i] = -math.Log2(m.prob(a, b, codes[i], min(i, 2)))
	}
	for _, from := range []int{-1, 0, 2, 5, 9} {
		var want float64
		for i := from + 1; i < len(codes); i++ {
			if i >= 0 {
				want += per[i]
			}
		}
		got, err := m.SuffixBits(codes, from)
		// 1e-12: the difference of two sums of a few terms near 2 bits.
		if err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("SuffixBits(%v, %d) = %v, %v; want %v", codes, from, got, err, want)
		}
	}
}
