package audio

import (
	"fmt"
	"math"
	"sync"
)

// Band-limited resampling, batch (Resample) and streaming
// (StreamResampler), with one filter: a polyphase windowed-sinc filter
// with a Kaiser window (J. O. Smith, "Digital Audio Resampling",
// https://ccrma.stanford.edu/~jos/resample/). With L/M = to/from in lowest
// terms, output j sits at input time t_j = j*M/L and is
//
//	y[j] = sum_k x[k] h(t_j - k),  h(t) = fc sinc(fc t) w(t/W)
//
// where fc = resampleRolloff*min(1, L/M) is the cutoff in cycles per input
// sample times two (1 = the input's Nyquist frequency), W = ceil(zeros/fc)
// the half-width in input samples and w the Kaiser window of
// resampleBeta on [-1, 1]. Input before time 0 and after the end is zero.

const (
	resampleZeros   = 16    // zero crossings of the sinc on each side
	resampleRolloff = 0.945 // cutoff as a fraction of the lower Nyquist frequency
	resampleBeta    = 8.6   // Kaiser beta: about 86 dB stopband attenuation
	maxPhases       = 4096  // largest reduced output step L whose phase table is built
	// maxTable bounds the phase table (L*2W taps, 8 MiB of float32); since
	// L*2W is about 34*M when downsampling, it limits M to about 61000.
	maxTable = 1 << 21
)

// RateError reports a pair of sample rates the resampler cannot convert
// between; its message says which rates would work.
type RateError struct {
	From, To int
	Reason   string
}

func (e *RateError) Error() string {
	return fmt.Sprintf("audio: resample %d Hz to %d Hz: %s", e.From, e.To, e.Reason)
}

// filter is the immutable phase table of one rate pair, shared by every
// resampler of that pair.
type filter struct {
	l, m int       // output step L, input step M (t_j = j*M/L)
	w    int       // half-width of the filter in input samples
	taps []float32 // (L, 2W): phase p, tap i multiplies x[floor(t_j) - W + 1 + i]
}

// filters caches phase tables by rate pair, up to maxCached pairs, so that
// rates taken from outside data cannot grow it without bound.
var (
	filtersMu sync.Mutex
	filters   = map[[2]int]*filter{}
)

const maxCached = 32

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// filterFor returns the filter for from -> to, building it if needed.
func filterFor(from, to int) (*filter, error) {
	if from <= 0 || to <= 0 {
		return nil, &RateError{from, to, "sample rates must be positive"}
	}
	key := [2]int{from, to}
	filtersMu.Lock()
	f, ok := filters[key]
	filtersMu.Unlock()
	if ok {
		return f, nil
	}
	g := gcd(from, to)
	l, m := to/g, from/g
	if l > maxPhases {
		return nil, &RateError{from, to, fmt.Sprintf(
			"the ratio reduces to %d/%d, whose %d filter phases exceed %d; "+
				"use rates with a larger common divisor (8000, 16000, 22050, 44100 and 48000 Hz all convert to each other)",
			l, m, l, maxPhases)}
	}
	fc := resampleRolloff * min(1, float64(l)/float64(m))
	w := math.Ceil(resampleZeros / fc)
	if float64(l)*2*w > maxTable {
		return nil, &RateError{from, to, fmt.Sprintf(
			"downsampling by %d/%d needs a %g-tap filter table, more than %d; resample in two steps",
			m, l, float64(l)*2*w, maxTable)}
	}
	f = newFilter(l, m, fc, int(w))
	filtersMu.Lock()
	if len(filters) < maxCached {
		filters[key] = f
	}
	filtersMu.Unlock()
	return f, nil
}

func newFilter(l, m int, fc float64, w int) *filter {
	f := &filter{l: l, m: m, w: w}
	n := 2 * w
	f.taps = make([]float32, l*n)
	i0b := besselI0(resampleBeta)
	for p := range l {
		frac := float64(p) / float64(l) // t_j - floor(t_j)
		row := f.taps[p*n : (p+1)*n]
		for i := range n {
			t := frac + float64(w-1-i) // t_j - k, k = floor(t_j) - W + 1 + i
			if math.Abs(t) >= float64(w) {
				continue
			}
			x := t / float64(w)
			win := besselI0(resampleBeta*math.Sqrt(1-x*x)) / i0b
			row[i] = float32(fc * sinc(fc*t) * win)
		}
	}
	return f
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series (converges fast for the arguments used here).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 200; k++ {
		term *= (x / 2) * (x / 2) / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// output computes output j from the 2W input samples xs that start at
// floor(t_j) - W + 1. Batch and streaming both call it, so they agree bit
// for bit.
func (f *filter) output(xs []float32, j int64) float32 {
	n := 2 * f.w
	p := int(j * int64(f.m) % int64(f.l))
	row := f.taps[p*n : (p+1)*n]
	xs = xs[:n]
	var acc float32
	for i, v := range xs {
		acc += v * row[i]
	}
	return acc
}

// ResampledLen is the number of output samples for n input samples from
// rate from to rate to: ceil(n * to / from).
func ResampledLen(n, from, to int) int {
	return int((int64(n)*int64(to) + int64(from) - 1) / int64(from))
}

// Resample appends to dst the samples of src converted from rate from to
// rate to, ResampledLen(len(src), from, to) of them, and returns it.
// Equal rates copy; otherwise the output is exactly what a
// StreamResampler gives for the same input (Push then Flush). dst and src
// must not overlap. The error is a *RateError.
func Resample(dst, src []float32, from, to int) ([]float32, error) {
	if from == to && from > 0 {
		return append(dst, src...), nil
	}
	f, err := filterFor(from, to)
	if err != nil {
		return dst, err
	}
	total := int64(ResampledLen(len(src), from, to))
	n := 2 * f.w
	var small [128]float32 // 2W <= 128 up to a downsampling ratio of 3.7 (44.1 to 16 kHz: 94)
	var edge []float32     // zero-padded window for outputs near the ends
	for j := range total {
		first := j*int64(f.m)/int64(f.l) - int64(f.w) + 1
		if first >= 0 && first+int64(n) <= int64(len(src)) {
			dst = append(dst, f.output(src[first:], j))
			continue
		}
		if edge == nil {
			edge = small[:0]
			if n > len(small) {
				edge = make([]float32, 0, n)
			}
			edge = edge[:n]
		}
		for i := range edge {
			edge[i] = 0
			if k := first + int64(i); k >= 0 && k < int64(len(src)) {
				edge[i] = src[k]
			}
		}
		dst = append(dst, f.output(edge, j))
	}
	return dst, nil
}

// StreamResampler converts a signal that arrives in pieces, with the same
// filter and the same output as Resample over the whole signal. It is not
// safe for concurrent use.
type StreamResampler struct {
	f    *filter   // nil when the rates are equal (copy)
	buf  []float32 // input from global index base on
	base int64     // global index of buf[0]
	in   int64     // input samples received
	j    int64     // next output index
}

// NewStreamResampler returns a resampler from rate from to rate to. The
// error is a *RateError for non-positive rates or a ratio whose reduced
// numerator to/gcd exceeds the phase-table limit (4096).
func NewStreamResampler(from, to int) (*StreamResampler, error) {
	if from == to && from > 0 {
		return &StreamResampler{}, nil
	}
	f, err := filterFor(from, to)
	if err != nil {
		return nil, err
	}
	r := &StreamResampler{f: f}
	r.reset()
	return r, nil
}

func (r *StreamResampler) reset() {
	// Start with W-1 zeros before time 0.
	r.base = -int64(r.f.w - 1)
	r.buf = append(r.buf[:0], make([]float32, r.f.w-1)...)
	r.in, r.j = 0, 0
}

// Push adds input samples x and appends to dst the outputs they complete.
// Once buffers have grown to the chunk size, it does not allocate.
func (r *StreamResampler) Push(dst, x []float32) []float32 {
	if r.f == nil {
		return append(dst, x...)
	}
	r.buf = append(r.buf, x...)
	r.in += int64(len(x))
	return r.produce(dst, r.in, -1)
}

// Flush appends the remaining outputs to dst, so that the outputs of all
// Push and Flush calls number ResampledLen of all input, and makes the
// resampler ready for a new signal.
func (r *StreamResampler) Flush(dst []float32) []float32 {
	if r.f == nil {
		return dst
	}
	total := (r.in*int64(r.f.l) + int64(r.f.m) - 1) / int64(r.f.m)
	// Pad with zeros far enough for every remaining output.
	for range r.f.w + 1 {
		r.buf = append(r.buf, 0)
	}
	dst = r.produce(dst, r.in+int64(r.f.w)+1, total)
	r.reset()
	return dst
}

// produce appends outputs whose input ends before avail, up to limit
// outputs in all (limit < 0: no limit), then drops input no later output
// needs.
func (r *StreamResampler) produce(dst []float32, avail, limit int64) []float32 {
	f := r.f
	for limit < 0 || r.j < limit {
		fl := r.j * int64(f.m) / int64(f.l) // floor(t_j)
		if fl+int64(f.w) >= avail {
			break
		}
		first := fl - int64(f.w) + 1
		dst = append(dst, f.output(r.buf[first-r.base:], r.j))
		r.j++
	}
	// Output j needs k >= floor(t_j)-W+1.
	keep := r.j*int64(f.m)/int64(f.l) - int64(f.w) + 1
	if d := keep - r.base; d > 0 && d <= int64(len(r.buf)) {
		r.buf = append(r.buf[:0], r.buf[d:]...)
		r.base = keep
	}
	return dst
}
