package api

import "math"

// Band-limited resampling of the output (sample_rate != the model's rate),
// streaming, so that a streamed response and a whole one carry the same
// samples. A polyphase windowed-sinc filter (Kaiser window, J. O. Smith,
// "Digital Audio Resampling", https://ccrma.stanford.edu/~jos/resample/):
// output j sits at input time t_j = j*M/L with L/M = to/from in lowest
// terms, and is sum_k x[k] h(t_j - k), h(t) = fc sinc(fc t) w(t / W).
// Input before time 0 and after the end is zero.

const (
	resampleZeros   = 16    // zero crossings of the sinc on each side
	resampleRolloff = 0.945 // cutoff as a fraction of the lower Nyquist frequency
	resampleBeta    = 8.6   // Kaiser beta: about 86 dB stopband attenuation
	maxPhases       = 4096  // largest L whose coefficient table is built
)

// resampleSupported reports whether from -> to has a small enough
// reduced ratio (all the usual rates have L <= 441).
func resampleSupported(from, to int) bool {
	g := gcd(from, to)
	return to/g <= maxPhases
}

// resampledLen is the number of output samples for n input samples:
// ceil(n * to / from).
func resampledLen(n, from, to int) int {
	return int((int64(n)*int64(to) + int64(from) - 1) / int64(from))
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

type streamResampler struct {
	l, m   int       // output step L, input step M (t_j = j*M/L)
	w      int       // half-width of the filter in input samples
	taps   []float32 // (L, 2W): phase p, tap i multiplies x[floor(t_j) - W + 1 + i]
	buf    []float32 // input from index base on
	base   int64     // global index of buf[0]
	in     int64     // input samples received
	j      int64     // next output index
	closed bool
}

func newStreamResampler(from, to int) *streamResampler {
	g := gcd(from, to)
	r := &streamResampler{l: to / g, m: from / g}
	fc := resampleRolloff * min(1, float64(r.l)/float64(r.m))
	r.w = int(math.Ceil(resampleZeros / fc))
	n := 2 * r.w
	r.taps = make([]float32, r.l*n)
	i0b := besselI0(resampleBeta)
	for p := range r.l {
		frac := float64(p) / float64(r.l) // t_j - floor(t_j)
		row := r.taps[p*n : (p+1)*n]
		for i := range n {
			t := frac + float64(r.w-1-i) // t_j - k, k = floor(t_j) - W + 1 + i
			if math.Abs(t) >= float64(r.w) {
				continue
			}
			x := t / float64(r.w)
			win := besselI0(resampleBeta*math.Sqrt(1-x*x)) / i0b
			row[i] = float32(fc * sinc(fc*t) * win)
		}
	}
	// Start with W-1 zeros before time 0.
	r.base = -int64(r.w - 1)
	r.buf = make([]float32, r.w-1)
	return r
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0,
// by its power series (converges fast for the arguments used here).
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

// push adds input samples and returns the outputs they complete (a view
// valid until the next call).
func (r *streamResampler) push(x []float32) []float32 {
	r.buf = append(r.buf, x...)
	r.in += int64(len(x))
	return r.produce(r.in, nil)
}

// flush returns the remaining outputs, up to resampledLen of all input.
func (r *streamResampler) flush() []float32 {
	total := (r.in*int64(r.l) + int64(r.m) - 1) / int64(r.m)
	// Pad with zeros far enough for every remaining output.
	r.buf = append(r.buf, make([]float32, r.w+1)...)
	return r.produce(r.in+int64(r.w)+1, &total)
}

func (r *streamResampler) produce(avail int64, limit *int64) []float32 {
	var out []float32
	n := 2 * r.w
	for {
		if limit != nil && r.j >= *limit {
			break
		}
		num := r.j * int64(r.m)
		fl := num / int64(r.l) // floor(t_j)
		last := fl + int64(r.w)
		if last >= avail {
			break
		}
		p := int(num % int64(r.l))
		first := fl - int64(r.w) + 1
		xs := r.buf[first-r.base : first-r.base+int64(n)]
		row := r.taps[p*n : (p+1)*n]
		var acc float32
		for i, v := range xs {
			acc += v * row[i]
		}
		out = append(out, acc)
		r.j++
	}
	// Drop input no later output needs: output j needs k >= floor(t_j)-W+1.
	keep := r.j*int64(r.m)/int64(r.l) - int64(r.w) + 1
	if d := keep - r.base; d > 0 && d <= int64(len(r.buf)) {
		r.buf = append(r.buf[:0], r.buf[d:]...)
		r.base = keep
	}
	return out
}

// resampleAll resamples a whole signal (the non-streaming path), with the
// same filter as the streaming one.
func resampleAll(x []float32, from, to int) []float32 {
	r := newStreamResampler(from, to)
	out := append([]float32(nil), r.push(x)...)
	return append(out, r.flush()...)
}
