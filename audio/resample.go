package audio

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// Resampler design constants. The stopband starts at the lower Nyquist
// frequency and is attenuated by stopbandDB; the passband ends
// transition*100 % below it. 80 dB leaves margin over the 60 dB the tests
// demand (Kaiser's formulas are approximations); a 15 % transition band
// keeps 0 to 3.4 kHz flat at 8 kHz output, above FSDD's speech band.
const (
	stopbandDB   = 80
	transition   = 0.15
	maxPhases    = 4096    // beyond this many phases, phases are rounded to 1/4096 sample
	maxTable     = 1 << 21 // taps in the phase table (8 MiB); fewer, coarser phases beyond
	maxRatio     = 256     // largest supported fromRate/toRate or toRate/fromRate
	maxRateHertz = 1 << 24
)

// Resampler converts between two fixed sample rates with a band-limited
// Kaiser-windowed sinc filter (polyphase: one row of taps per output
// phase). It is safe for concurrent use.
type Resampler struct {
	from, to int
	l, m     int       // to/from reduced: output n is at input time n*m/l
	phases   int       // rows in table; == l when exact
	taps     int       // taps per row (even)
	half     int       // taps/2
	table    []float32 // (phases+1, taps): row p is input fraction p/phases
}

// NewResampler builds the filter for fromRate -> toRate.
func NewResampler(fromRate, toRate int) (*Resampler, error) {
	if fromRate <= 0 || toRate <= 0 || fromRate > maxRateHertz || toRate > maxRateHertz {
		return nil, fmt.Errorf("audio: resample %d Hz to %d Hz: rates must be 1 to %d Hz", fromRate, toRate, maxRateHertz)
	}
	if fromRate > maxRatio*toRate || toRate > maxRatio*fromRate {
		return nil, fmt.Errorf("audio: resample %d Hz to %d Hz: ratio beyond %d", fromRate, toRate, maxRatio)
	}
	g := gcd(fromRate, toRate)
	r := &Resampler{from: fromRate, to: toRate, l: toRate / g, m: fromRate / g}

	// Cutoff and transition width in cycles per input sample.
	ratio := math.Min(1, float64(toRate)/float64(fromRate))
	stop := 0.5 * ratio
	width := stop * transition
	fc := stop - width/2
	beta := 0.1102 * (stopbandDB - 8.7) // Kaiser's beta for A > 50 dB
	n := (stopbandDB - 7.95) / (2.285 * 2 * math.Pi * width)
	r.half = int(math.Ceil(n/2)) + 1
	r.taps = 2 * r.half
	// Exact phases for every ratio in practical use (44100 -> 16000 has
	// 160); odd ratios round the phase to 1/phases of a sample.
	r.phases = min(r.l, maxPhases, max(64, maxTable/r.taps))
	r.table = make([]float32, (r.phases+1)*r.taps)
	i0b := besselI0(beta)
	row := make([]float64, r.taps)
	for p := 0; p <= r.phases; p++ {
		frac := float64(p) / float64(r.phases)
		sum := 0.0
		for j := range row {
			tau := frac + float64(r.half-1-j) // input time of the output minus input j's time
			u := tau / float64(r.half)
			w := 0.0
			if u > -1 && u < 1 {
				w = besselI0(beta*math.Sqrt(1-u*u)) / i0b
			}
			row[j] = 2 * fc * sinc(2*fc*tau) * w
			sum += row[j]
		}
		for j, v := range row {
			// Unit gain at DC for every phase.
			r.table[p*r.taps+j] = float32(v / sum)
		}
	}
	return r, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series (converges fast for the beta values used here).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 200; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// OutputLen returns the number of output samples for n input samples:
// ceil(n * toRate / fromRate).
func (r *Resampler) OutputLen(n int) int {
	return int((int64(n)*int64(r.l) + int64(r.m) - 1) / int64(r.m))
}

// Resample converts src into dst and returns it, resized to
// OutputLen(len(src)) (allocating only if dst is too small). Output sample
// n is the band-limited interpolation of src at time n*fromRate/toRate;
// samples before and after src count as zero. dst and src must not
// overlap.
func (r *Resampler) Resample(dst, src []float32) []float32 {
	nOut := r.OutputLen(len(src))
	dst = growF(dst, nOut)
	if r.l == r.m {
		copy(dst, src)
		return dst
	}
	l, m := int64(r.l), int64(r.m)
	taps, half := r.taps, r.half
	ns := len(src)
	for n := range nOut {
		pos := int64(n) * m
		i := int(pos / l)
		p := int(pos % l)
		if r.phases != r.l {
			p = int((int64(p)*int64(r.phases) + l/2) / l) // nearest of phases+1 rows
		}
		h := r.table[p*taps : p*taps+taps]
		k0 := i - half + 1
		var acc float32
		if k0 >= 0 && k0+taps <= ns {
			x := src[k0 : k0+taps]
			var a0, a1, a2, a3 float32
			j := 0
			for ; j+4 <= taps; j += 4 {
				a0 += x[j] * h[j]
				a1 += x[j+1] * h[j+1]
				a2 += x[j+2] * h[j+2]
				a3 += x[j+3] * h[j+3]
			}
			for ; j < taps; j++ {
				a0 += x[j] * h[j]
			}
			acc = (a0 + a1) + (a2 + a3)
		} else {
			for j := max(0, -k0); j < taps && k0+j < ns; j++ {
				acc += src[k0+j] * h[j]
			}
		}
		dst[n] = acc
	}
	return dst
}

// resamplers caches filters by rate pair, up to maxCached pairs, so that
// rates taken from outside data cannot grow it without bound.
var (
	resamplers sync.Map // [2]int{from, to} -> *Resampler
	cached     atomic.Int32
)

const maxCached = 32

// Resample converts src from fromRate to toRate with a cached Resampler;
// see Resampler.Resample. Equal rates copy.
func Resample(dst, src []float32, fromRate, toRate int) ([]float32, error) {
	key := [2]int{fromRate, toRate}
	v, ok := resamplers.Load(key)
	if !ok {
		r, err := NewResampler(fromRate, toRate)
		if err != nil {
			return nil, err
		}
		if cached.Add(1) > maxCached {
			cached.Add(-1)
			return r.Resample(dst, src), nil
		}
		var loaded bool
		if v, loaded = resamplers.LoadOrStore(key, r); loaded {
			cached.Add(-1)
		}
	}
	return v.(*Resampler).Resample(dst, src), nil
}
