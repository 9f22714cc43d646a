package ngram

import (
	"fmt"
	"math"
)

// Trigram holds the counts of a trained model.
type Trigram struct {
	Q        int
	Discount float64
	uni      []float64
	uniTotal float64
	bi       map[uint64]float64 // (b, c)
	biCtx    []ctxStat          // by b
	tri      map[uint64]float64 // (a, b, c)
	triCtx   map[uint64]ctxStat // by (a, b)
}

type ctxStat struct {
	total float64 // N(ctx, .)
	types float64 // distinct continuations
}

// New returns an empty model over q codes with absolute discount d (0.75
// is the usual choice; it must be in (0, 1)).
func New(q int, d float64) (*Trigram, error) {
	if q < 2 || q > 65536 {
		return nil, fmt.Errorf("ngram: q is %d, want 2 to 65536", q)
	}
	if !(d > 0 && d < 1) {
		return nil, fmt.Errorf("ngram: discount %v, want in (0, 1)", d)
	}
	return &Trigram{Q: q, Discount: d, uni: make([]float64, q), bi: map[uint64]float64{},
		biCtx: make([]ctxStat, q), tri: map[uint64]float64{}, triCtx: map[uint64]ctxStat{}}, nil
}

func (m *Trigram) key2(b, c int32) uint64    { return uint64(b)<<20 | uint64(c) }
func (m *Trigram) key3(a, b, c int32) uint64 { return uint64(a)<<40 | uint64(b)<<20 | uint64(c) }

func (m *Trigram) check(codes []int32) error {
	for i, c := range codes {
		if c < 0 || int(c) >= m.Q {
			return fmt.Errorf("ngram: code %d at %d out of range [0, %d)", c, i, m.Q)
		}
	}
	return nil
}

// Add counts one utterance's codes.
func (m *Trigram) Add(codes []int32) error {
	if err := m.check(codes); err != nil {
		return err
	}
	for i, c := range codes {
		m.uni[c]++
		m.uniTotal++
		if i >= 1 {
			b := codes[i-1]
			k := m.key2(b, c)
			if m.bi[k] == 0 {
				m.biCtx[b].types++
			}
			m.bi[k]++
			m.biCtx[b].total++
		}
		if i >= 2 {
			a, b := codes[i-2], codes[i-1]
			k := m.key3(a, b, c)
			ck := m.key2(a, b)
			st := m.triCtx[ck]
			if m.tri[k] == 0 {
				st.types++
			}
			m.tri[k]++
			st.total++
			m.triCtx[ck] = st
		}
	}
	return nil
}

// prob is the interpolated probability of c after (a, b); order says how
// much context is available (0, 1 or 2 previous codes).
func (m *Trigram) prob(a, b, c int32, order int) float64 {
	d := m.Discount
	// Unigram with add-one smoothing: never zero.
	p := (m.uni[c] + 1) / (m.uniTotal + float64(m.Q))
	if order >= 1 {
		if st := m.biCtx[b]; st.total > 0 {
			p = math.Max(m.bi[m.key2(b, c)]-d, 0)/st.total + d*st.types/st.total*p
		}
	}
	if order >= 2 {
		if st, ok := m.triCtx[m.key2(a, b)]; ok && st.total > 0 {
			p = math.Max(m.tri[m.key3(a, b, c)]-d, 0)/st.total + d*st.types/st.total*p
		}
	}
	return p
}

// Bits returns the total bits of coding codes (the first code with the
// unigram, the second with the bigram, then trigrams) and the number of
// codes scored.
func (m *Trigram) Bits(codes []int32) (bits float64, n int, err error) {
	if err := m.check(codes); err != nil {
		return 0, 0, err
	}
	for i, c := range codes {
		var a, b int32
		if i >= 1 {
			b = codes[i-1]
		}
		if i >= 2 {
			a = codes[i-2]
		}
		bits -= math.Log2(m.prob(a, b, c, min(i, 2)))
	}
	return bits, len(codes), nil
}

// DefaultDiscount is the usual absolute discount, 0.75 (Ney, Essen and
// Kneser 1994).
const DefaultDiscount = 0.75

// SuffixBits returns the bits of codes[from+1:], each coded given all the
// codes before it: the predictions a WaveNet's Score(codes, cond, from)
// counts. The trigram codes a sequence term by term, so they are the bits
// of the whole minus those of the prefix codes[:from+1].
func (m *Trigram) SuffixBits(codes []int32, from int) (float64, error) {
	whole, _, err := m.Bits(codes)
	if err != nil {
		return 0, err
	}
	prefix, _, err := m.Bits(codes[:max(0, min(from+1, len(codes)))])
	if err != nil {
		return 0, err
	}
	return whole - prefix, nil
}
