package audio

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func tone(n, rate int, freq, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

// fitTone least-squares fits a*sin + b*cos at freq to x and returns the
// amplitude sqrt(a^2+b^2) and the RMS of what the fit leaves over.
func fitTone(x []float32, rate int, freq float64) (amp, residual float64) {
	var ss, cc, sc, xs, xc float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / float64(rate)
		s, c := math.Sin(w), math.Cos(w)
		ss += s * s
		cc += c * c
		sc += s * c
		xs += float64(v) * s
		xc += float64(v) * c
	}
	det := ss*cc - sc*sc
	a := (xs*cc - xc*sc) / det
	b := (xc*ss - xs*sc) / det
	var r float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / float64(rate)
		d := float64(v) - a*math.Sin(w) - b*math.Cos(w)
		r += d * d
	}
	return math.Hypot(a, b), math.Sqrt(r / float64(len(x)))
}

func rms(x []float32) float64 { return math.Sqrt(meanSquare(x)) }

// middle drops the first and last quarter: the filter sees zeros beyond
// the ends, so edge samples are not steady state.
func middle(x []float32) []float32 { return x[len(x)/4 : len(x)-len(x)/4] }

// The rate pairs the tests and benchmarks cover: telephony up and down,
// telephony to the 22.05 kHz output rate, and CD audio to the model rate.
var ratePairs = [][2]int{{8000, 16000}, {16000, 8000}, {8000, 22050}, {44100, 16000}}

// naiveResample computes the filter's definition (see resample.go) in
// float64 from scratch: y[j] = sum_k x[k] h(t_j - k) over every k with
// |t_j - k| < W, t_j = j*from/to, h(t) = fc sinc(fc t) kaiser(t/W). It
// also returns, per output, sum_k |x[k] h(t_j - k)|, which bounds the
// float32 rounding of the fast path.
func naiveResample(x []float32, from, to int) (y, mag []float64) {
	fc := resampleRolloff * math.Min(1, float64(to)/float64(from))
	w := math.Ceil(resampleZeros / fc)
	n := (len(x)*to + from - 1) / from
	for j := range n {
		tj := float64(j) * float64(from) / float64(to)
		var s, a float64
		for k := int(math.Floor(tj - w)); k <= int(math.Ceil(tj+w)); k++ {
			d := tj - float64(k)
			if k < 0 || k >= len(x) || math.Abs(d) >= w {
				continue
			}
			u := d / w
			win := besselI0(resampleBeta*math.Sqrt(1-u*u)) / besselI0(resampleBeta)
			h := fc * sinc(fc*d) * win
			s += float64(x[k]) * h
			a += math.Abs(float64(x[k]) * h)
		}
		y = append(y, s)
		mag = append(mag, a)
	}
	return y, mag
}

func TestResampleMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 3000)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	for _, p := range ratePairs {
		from, to := p[0], p[1]
		got, err := Resample(nil, x, from, to)
		if err != nil {
			t.Fatal(err)
		}
		want, mag := naiveResample(x, from, to)
		if len(got) != len(want) {
			t.Fatalf("Resample(%d samples, %d->%d) = %d samples, want %d", len(x), from, to, len(got), len(want))
		}
		// Tolerance: the taps are rounded to float32 (relative 2^-24 each)
		// and the 2W products and sums accumulate in float32 (each adds at
		// most 2^-24 of the running magnitude): (2W+2) * 2^-24 * sum|x h|.
		// The constants differ where the table rounds t_j = p/L (exact in
		// float64 for these L) and where fc, W are computed: nothing else.
		w := math.Ceil(resampleZeros / (resampleRolloff * math.Min(1, float64(to)/float64(from))))
		for j := range got {
			tol := (2*w + 2) * 0x1p-24 * mag[j]
			if d := math.Abs(float64(got[j]) - want[j]); d > tol {
				t.Errorf("Resample(%d->%d)[%d] = %.9g, definition gives %.9g (|diff| %.3g > tolerance %.3g)", from, to, j, got[j], want[j], d, tol)
				break
			}
		}
	}
}

func TestStreamResamplerEqualsBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := tone(7919, 8000, 700, 0.4) // a prime length, so chunks end unevenly
	for i := range x {
		x[i] += float32(rng.Float64()*0.2 - 0.1)
	}
	for _, p := range append(ratePairs, [2]int{8000, 8000}) {
		from, to := p[0], p[1]
		whole, err := Resample(nil, x, from, to)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewStreamResampler(from, to)
		if err != nil {
			t.Fatal(err)
		}
		// Twice: Flush makes the resampler ready for a new signal.
		for round := range 2 {
			var got []float32
			for i := 0; i < len(x); {
				n := min(len(x)-i, rng.IntN(300)) // chunks of 0 to 299 samples
				got = r.Push(got, x[i:i+n])
				i += n
			}
			got = r.Flush(got)
			if len(got) != ResampledLen(len(x), from, to) {
				t.Fatalf("%d->%d round %d: streamed %d samples, want ResampledLen %d", from, to, round, len(got), ResampledLen(len(x), from, to))
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(whole[i]) {
					t.Fatalf("%d->%d round %d sample %d: streamed %v, batch %v", from, to, round, i, got[i], whole[i])
				}
			}
		}
	}
}

func TestResampleTones(t *testing.T) {
	// The numbers come from the design (resample.go): the cutoff sits at
	// 0.945 of the lower Nyquist frequency and the Kaiser window (beta 8.6,
	// 16 zero crossings) makes a transition band about 0.16 of the input
	// rate wide around it (Kaiser's formula: (A-7.95)/(2.285 2W) rad per
	// sample with A = 8.6/0.1102+8.7 = 87 dB), so the passband is flat to
	// about 0.8 of the lower Nyquist and the stopband starts near 1.1 of it.
	// Measured at this commit: -0.0003 dB at 0.75, -0.32 dB at 0.85,
	// -3.9 dB at 0.925, -23 dB at 1.025, <= -88 dB from 1.125 of Nyquist.
	// The bounds below leave a margin over those measurements.
	for _, c := range []struct {
		from, to int
		hz       float64
		lo, hi   float64 // gain bounds, dB
	}{
		// Passband: 1 kHz and 3 kHz (0.75 of the 4 kHz Nyquist) flat within 0.01 dB.
		{8000, 16000, 1000, -0.01, 0.01},
		{8000, 16000, 3000, -0.01, 0.01},
		{16000, 8000, 1000, -0.01, 0.01},
		{16000, 8000, 3000, -0.01, 0.01},
		{8000, 22050, 1000, -0.01, 0.01},
		{8000, 22050, 3000, -0.01, 0.01},
		{44100, 16000, 1000, -0.01, 0.01},
		{44100, 16000, 6000, -0.01, 0.01},
		// Upper passband edge, 0.85 of Nyquist: about -0.3 dB.
		{16000, 8000, 3400, -0.5, 0},
		{8000, 16000, 3400, -0.5, 0},
		// Stopband: tones above the output's Nyquist frequency that would
		// alias, at least 80 dB down from 1.125 of Nyquist on.
		{16000, 8000, 4500, -200, -80},
		{16000, 8000, 6000, -200, -80},
		{44100, 16000, 9000, -200, -80},
		{44100, 16000, 15000, -200, -80},
		// Transition band, 1.025 of Nyquist: only about 23 dB down.
		{16000, 8000, 4100, -30, -15},
	} {
		const amp = 0.5
		x := tone(c.from, c.from, c.hz, amp) // 1 s
		y, err := Resample(nil, x, c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		var db float64
		if c.hz < float64(c.to)/2 {
			a, _ := fitTone(middle(y), c.to, c.hz)
			db = 20 * math.Log10(a/amp)
		} else { // everything left is aliasing
			db = 20 * math.Log10(rms(middle(y))/rms(middle(x)))
		}
		if db < c.lo || db > c.hi {
			t.Errorf("Resample(%g Hz tone, %d->%d): gain %.4f dB, want %g to %g dB", c.hz, c.from, c.to, db, c.lo, c.hi)
		}
	}
	// Upsampling images: a tone at f also appears at from-f unless the
	// filter removes it; 3 kHz at 8 kHz images to 5 kHz (1.25 of Nyquist).
	for _, p := range [][2]int{{8000, 16000}, {8000, 22050}} {
		y, _ := Resample(nil, tone(8000, 8000, 3000, 0.5), p[0], p[1])
		a, _ := fitTone(middle(y), p[1], 5000)
		if db := 20 * math.Log10(a/0.5); db > -80 {
			t.Errorf("Resample(3 kHz, %d->%d): image at 5 kHz %.1f dB, want <= -80 dB", p[0], p[1], db)
		}
	}
}

func TestResampleEdges(t *testing.T) {
	x := []float32{1, 2, 3}
	if y, _ := Resample(nil, x, 8000, 8000); len(y) != 3 || y[2] != 3 {
		t.Errorf("Resample(%v, 8000->8000) = %v, want a copy", x, y)
	}
	if y, _ := Resample([]float32{9}, x, 8000, 16000); len(y) != 7 || y[0] != 9 {
		t.Errorf("Resample(dst [9], %v, 8000->16000) = %v, want 9 then 6 samples", x, y)
	}
	if y, _ := Resample(nil, nil, 8000, 16000); len(y) != 0 {
		t.Errorf("Resample(nil, 8000->16000) = %v, want empty", y)
	}
	for _, tt := range []struct{ n, from, to, want int }{
		{0, 8000, 16000, 0}, {1, 16000, 8000, 1}, {3, 16000, 8000, 2}, {160, 8000, 22050, 441}, {1, 8000, 22050, 3},
	} {
		if got := ResampledLen(tt.n, tt.from, tt.to); got != tt.want {
			t.Errorf("ResampledLen(%d, %d, %d) = %d, want %d", tt.n, tt.from, tt.to, got, tt.want)
		}
	}
	// 8000 -> 8001 reduces to 8001/8000: more phases than maxPhases.
	for _, r := range [][2]int{{0, 8000}, {8000, -1}, {8000, 8001}, {1 << 20, 1}} {
		_, err := NewStreamResampler(r[0], r[1])
		var re *RateError
		if !errors.As(err, &re) || re.From != r[0] || re.To != r[1] {
			t.Errorf("NewStreamResampler(%d, %d) error %v, want a *RateError", r[0], r[1], err)
		}
		if _, err := Resample(nil, x, r[0], r[1]); !errors.As(err, &re) {
			t.Errorf("Resample(_, %d->%d) error %v, want a *RateError", r[0], r[1], err)
		}
	}
	// The cache of filters stays bounded whatever rates come in.
	for i := 1; i <= 2*maxCached; i++ {
		if _, err := Resample(nil, x, 1000*i, 1000*(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	filtersMu.Lock()
	n := len(filters)
	filtersMu.Unlock()
	if n > maxCached {
		t.Errorf("%d filters cached, want at most %d", n, maxCached)
	}
	// Steady-state streaming does not allocate.
	r, _ := NewStreamResampler(8000, 16000)
	chunk := tone(160, 8000, 440, 0.5)
	dst := make([]float32, 0, 2*len(chunk)+2)
	r.Push(dst, chunk)
	if n := testing.AllocsPerRun(20, func() { r.Push(dst[:0], chunk) }); n != 0 {
		t.Errorf("StreamResampler.Push with capacity allocates %v times, want 0", n)
	}
}

func BenchmarkResample(b *testing.B) {
	for _, p := range ratePairs {
		x := tone(p[0], p[0], 440, 0.5) // 1 s
		dst := make([]float32, 0, ResampledLen(len(x), p[0], p[1]))
		b.Run(fmt.Sprintf("batch/%d-%d", p[0], p[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Resample(dst[:0], x, p[0], p[1]); err != nil {
					b.Fatal(err)
				}
			}
			// Input samples per second.
			b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
		b.Run(fmt.Sprintf("stream/%d-%d", p[0], p[1]), func(b *testing.B) {
			r, err := NewStreamResampler(p[0], p[1])
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				out := dst[:0]
				for i := 0; i < len(x); i += 256 { // 256-sample chunks
					out = r.Push(out, x[i:min(i+256, len(x))])
				}
				r.Flush(out)
			}
			b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
