package cache

import (
	"math"
	"math/rand/v2"
)

// sampler draws one code from a row of logits. Its scratch buffers are
// owned by the Generator (one per generator: Step samples streams one after
// another).
type sampler struct {
	sel  []float32 // (Q) copy of the logits for top-k selection
	prob []float32 // (Q) unnormalised probabilities
}

func newSampler(q int) sampler {
	return sampler{sel: make([]float32, q), prob: make([]float32, q)}
}

// uniform returns a float64 in [0, 1) with 53 random bits.
func uniform(rng *rand.PCG) float64 {
	return float64(rng.Uint64()>>11) * 0x1p-53
}

// sample draws a code from softmax(logits / temperature), restricted to the
// topK largest logits when 0 < topK < len(logits), or returns the argmax when
// greedy is set. It draws exactly one random number per call unless greedy,
// so a stream's random sequence does not depend on the logits.
func (s *sampler) sample(logits []float32, temperature float32, topK int, greedy bool, rng *rand.PCG) int32 {
	if greedy {
		return int32(argmax(logits))
	}
	q := len(logits)
	u := uniform(rng)
	best := logits[argmax(logits)]
	// Candidates: all codes, or those whose logit is above the k-th
	// largest, plus enough of the ties with it (lowest codes first).
	thr, ties := float32(math.Inf(-1)), q
	if topK > 0 && topK < q {
		copy(s.sel, logits)
		thr = selectKth(s.sel[:q], topK-1)
		above := 0
		for _, v := range logits {
			if v > thr {
				above++
			}
		}
		ties = topK - above
	}
	inv := 1 / temperature
	prob := s.prob[:q]
	var sum float64
	if ties == q {
		for i, v := range logits {
			p := exp32(float32((v - best) * inv))
			prob[i] = p
			sum += float64(p)
		}
	} else {
		for i, v := range logits {
			p := float32(0)
			if v > thr || (v == thr && ties > 0) {
				if v == thr {
					ties--
				}
				p = exp32(float32((v - best) * inv))
			}
			prob[i] = p
			sum += float64(p)
		}
	}
	target := u * sum
	var acc float64
	last := 0
	for i, p := range prob {
		if p == 0 {
			continue
		}
		acc += float64(p)
		last = i
		if acc > target {
			return int32(i)
		}
	}
	return int32(last) // rounding left target at the very top
}

// argmax returns the index of the first largest value (NaN never wins).
func argmax(v []float32) int {
	bi := 0
	bv := float32(math.Inf(-1))
	for i, x := range v {
		if x > bv {
			bi, bv = i, x
		}
	}
	return bi
}

// selectKth partially sorts v in decreasing order around position k and
// returns the (k+1)-th largest value (quickselect with a median-of-three
// pivot; deterministic).
func selectKth(v []float32, k int) float32 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three into v[mid].
		if v[lo] < v[mid] {
			v[lo], v[mid] = v[mid], v[lo]
		}
		if v[mid] < v[hi] {
			v[mid], v[hi] = v[hi], v[mid]
			if v[lo] < v[mid] {
				v[lo], v[mid] = v[mid], v[lo]
			}
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] > p {
				i++
			}
			for v[j] < p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// exp32 is e^x in float32 for x <= 0 (the shifted logits; larger x is
// taken as 0), relative error below 4e-7. Results below e^-87 and NaN give
// 0. Every product is rounded explicitly with a float32 conversion so that
// no compiler fuses a multiply-add: the result is bit-identical on every
// architecture.
func exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // ln 2 split in two for exact n*ln2hi (Cephes expf)
		ln2lo = -2.12194440e-4
	)
	if !(x >= -87) { // also NaN
		return 0
	}
	if x > 0 {
		x = 0
	}
	// n = round(x log2 e): t-0.5 < 0, and conversion truncates towards
	// zero, so n = ceil(t-0.5) and r below is within [-ln2/2, ln2/2].
	in := int32(float32(x*log2e) - 0.5)
	n := float32(in)
	r := x - float32(n*ln2hi)
	r = r - float32(n*ln2lo)
	// Cephes expf polynomial for e^r on [-ln2/2, ln2/2].
	p := float32(1.9875691500e-4)
	p = float32(p*r) + 1.3981999507e-3
	p = float32(p*r) + 8.3334519073e-3
	p = float32(p*r) + 4.1665795894e-2
	p = float32(p*r) + 1.6666665459e-1
	p = float32(p*r) + 5.0000001201e-1
	p = float32(float32(p*r)*r) + r + 1
	return p * math.Float32frombits(uint32(in+127)<<23)
}
