package cache

import (
	"math"
	"math/rand/v2"
)

// sampler draws one code from a row of logits. Its scratch buffers are
// owned by the Generator (one per generator: Step samples streams one after
// another).
type sampler struct {
	sel    []float32 // (Q) copy of the logits for top-k selection
	prob   []float32 // (Q) unnormalised probabilities
	blocks []float32 // (Q/8 rounded up) sums of blocks of prob
}

func newSampler(q int) sampler {
	return sampler{sel: make([]float32, q), prob: make([]float32, q), blocks: make([]float32, (q+7)/8)}
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
	best := maxOf(logits)
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
	if ties == q {
		for i, v := range logits {
			prob[i] = exp32(float32((v - best) * inv))
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
		}
	}
	// Inverse CDF in two levels: sums of blocks of 8 (a short tree each,
	// no long chain of dependent additions), then the block the target
	// falls in, element by element.
	const blk = 8
	nb := (q + blk - 1) / blk
	blocks := s.blocks[:nb]
	var sum float64
	for b := range blocks {
		var bs float32
		if (b+1)*blk <= q {
			p := prob[b*blk : b*blk+blk]
			bs = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
		} else {
			for _, v := range prob[b*blk:] {
				bs += v
			}
		}
		blocks[b] = bs
		sum += float64(bs)
	}
	target := u * sum
	var acc float64
	for b, bs := range blocks {
		if acc+float64(bs) <= target {
			acc += float64(bs)
			continue
		}
		for i := b * blk; i < min(q, (b+1)*blk); i++ {
			acc += float64(prob[i])
			if acc > target && prob[i] > 0 {
				return int32(i)
			}
		}
	}
	// Rounding left target at the very top: the last possible code.
	for i := q - 1; i > 0; i-- {
		if prob[i] > 0 {
			return int32(i)
		}
	}
	return 0
}

// maxOf returns the largest value of v (-Inf if v is empty or all NaN),
// with four independent running maxima.
func maxOf(v []float32) float32 {
	inf := float32(math.Inf(-1))
	m0, m1, m2, m3 := inf, inf, inf, inf
	i := 0
	for ; i+4 <= len(v); i += 4 {
		x := v[i : i+4 : i+4]
		if x[0] > m0 {
			m0 = x[0]
		}
		if x[1] > m1 {
			m1 = x[1]
		}
		if x[2] > m2 {
			m2 = x[2]
		}
		if x[3] > m3 {
			m3 = x[3]
		}
	}
	for ; i < len(v); i++ {
		if v[i] > m0 {
			m0 = v[i]
		}
	}
	if m1 > m0 {
		m0 = m1
	}
	if m3 > m2 {
		m2 = m3
	}
	if m2 > m0 {
		m0 = m2
	}
	return m0
}

// argmax returns the index of the first largest value (NaN never wins; 0
// if no value is larger than -Inf).
func argmax(v []float32) int {
	m := maxOf(v)
	for i, x := range v {
		if x == m {
			return i
		}
	}
	return 0
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

// exp2Table[j] is 2^(j/64).
var exp2Table = func() (t [64]float32) {
	for j := range t {
		t[j] = float32(math.Exp2(float64(j) / 64))
	}
	return t
}()

// exp32 is e^x in float32 for x <= 0 (the shifted logits; larger x is
// taken as 0); results below e^-87 and NaN give 0. With
// x log2(e) = n + j/64 + f, |f| <= 1/128, it returns
// 2^n * 2^(j/64) * e^(f ln 2), the last factor by 1 + r + r^2/2 with
// r = f ln 2, |r| <= 0.0055 (error r^3/6 < 3e-8, below float32 rounding).
// The relative error is below 2e-7 + 7e-8|x|, from rounding x log2(e) to
// float32: plenty for sampling, where the largest probabilities (x near 0)
// are the ones that matter. Every product is rounded explicitly with a
// float32 conversion so that no compiler fuses a multiply-add: the result
// is bit-identical on every architecture.
func exp32(x float32) float32 {
	const (
		scale = 64 * 1.44269504088896341 // 64 log2(e)
		ln2   = 0.693147180559945309 / 64
	)
	if !(x >= -87) { // also NaN
		return 0
	}
	t := float32(x * scale)
	// k = round(t): t-0.5 < 0, and conversion truncates towards zero, so
	// k = ceil(t-0.5) and f = t-k is within (-0.5, 0.5].
	k := int32(t - 0.5)
	r := float32((t - float32(k)) * ln2)
	p := float32(r*0.5) + 1
	p = float32(p*r) + 1
	p = float32(p * exp2Table[k&63])
	return p * math.Float32frombits(uint32((k>>6)+127)<<23)
}

// logSumExp returns log(sum(exp(v))), stably.
func logSumExp(v []float32) float32 {
	m := maxOf(v)
	var s float32
	for _, x := range v {
		s += exp32(x - m)
	}
	return m + float32(math.Log(float64(s)))
}
