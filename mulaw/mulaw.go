package mulaw

import (
	"fmt"
	"math"
)

// MinLevels and MaxLevels bound the number of quantization levels Q.
const (
	MinLevels = 2
	MaxLevels = 65536
)

func checkQ(q int) {
	if q < MinLevels || q > MaxLevels {
		// A wrong Q is a programmer mistake: configs are validated before use
		// (wavenet.Config.Validate bounds quantization_channels the same way).
		panic(fmt.Sprintf("mulaw: %d quantization levels, want %d to %d", q, MinLevels, MaxLevels))
	}
}

// CheckLevels returns an error if q is not a supported number of levels.
func CheckLevels(q int) error {
	if q < MinLevels || q > MaxLevels {
		return fmt.Errorf("mulaw: %d quantization levels, want %d to %d", q, MinLevels, MaxLevels)
	}
	return nil
}

// Silence returns the code of 0.0 for q levels: q/2 for even q, (q-1)/2 for
// odd q. It panics if q is outside [MinLevels, MaxLevels].
func Silence(q int) int32 {
	checkQ(q)
	return int32(q / 2)
}

// encodeRef is the formula of the package comment in float64. x must not be
// NaN.
func encodeRef(x float64, mu float64) int32 {
	if x > 1 {
		x = 1
	} else if x < -1 {
		x = -1
	}
	f := math.Log1p(mu*math.Abs(x)) / math.Log1p(mu)
	if x < 0 {
		f = -f
	}
	c := math.Floor((f+1)/2*mu + 0.5)
	// f is in [-1, 1], so c is in [0, mu]; the clamp only guards rounding.
	if c < 0 {
		c = 0
	} else if c > mu {
		c = mu
	}
	return int32(c)
}

// decodeRef inverts the bin centre of code c in float64.
func decodeRef(c int32, mu float64) float64 {
	if c < 0 {
		c = 0
	} else if float64(c) > mu {
		c = int32(mu)
	}
	y := 2*float64(c)/mu - 1
	x := math.Expm1(math.Abs(y)*math.Log1p(mu)) / mu
	if y < 0 {
		return -x
	}
	return x
}

// EncodeOne returns the code of one sample for q levels.
func EncodeOne(x float32, q int) int32 {
	checkQ(q)
	if x != x { // NaN
		return int32(q / 2)
	}
	if q == 256 {
		return encode256(x)
	}
	return encodeRef(float64(x), float64(q-1))
}

// DecodeOne returns the sample value of code c for q levels.
func DecodeOne(c int32, q int) float32 {
	checkQ(q)
	if q == 256 {
		return decTable256[clampCode(c, 255)]
	}
	return float32(decodeRef(c, float64(q-1)))
}

func clampCode(c int32, mu int32) int32 {
	if c < 0 {
		return 0
	}
	if c > mu {
		return mu
	}
	return c
}

// Encode writes the codes of x for q levels into dst and returns it,
// resized to len(x). It allocates only if cap(dst) < len(x).
func Encode(dst []int32, x []float32, q int) []int32 {
	checkQ(q)
	dst = grow(dst, len(x))
	if q == 256 {
		for i, v := range x {
			if v != v {
				dst[i] = 128
				continue
			}
			dst[i] = encode256(v)
		}
		return dst
	}
	mu := float64(q - 1)
	lm := math.Log1p(mu)
	silence := int32(q / 2)
	for i, v := range x {
		if v != v {
			dst[i] = silence
			continue
		}
		// Same arithmetic as encodeRef, with ln(1+mu) hoisted.
		a := math.Abs(float64(v))
		if a > 1 {
			a = 1
		}
		f := math.Log1p(mu*a) / lm
		if v < 0 {
			f = -f
		}
		c := math.Floor((f+1)/2*mu + 0.5)
		if c < 0 {
			c = 0
		} else if c > mu {
			c = mu
		}
		dst[i] = int32(c)
	}
	return dst
}

// Decode writes the sample values of codes for q levels into dst and
// returns it, resized to len(codes). It allocates only if
// cap(dst) < len(codes).
func Decode(dst []float32, codes []int32, q int) []float32 {
	checkQ(q)
	dst = growF(dst, len(codes))
	if q == 256 {
		t := &decTable256
		for i, c := range codes {
			dst[i] = t[uint32(clampCode(c, 255))&255]
		}
		return dst
	}
	mu := float64(q - 1)
	lm := math.Log1p(mu)
	for i, c := range codes {
		c = clampCode(c, int32(q-1))
		y := 2*float64(c)/mu - 1
		v := math.Expm1(math.Abs(y)*lm) / mu
		if y < 0 {
			v = -v
		}
		dst[i] = float32(v)
	}
	return dst
}

// EncodeBytes writes the 256-level codes of x as bytes (one byte per
// sample, code 128 is silence): the 8-bit mu-law byte stream of the
// service's "mulaw" output format.
func EncodeBytes(dst []byte, x []float32) []byte {
	if cap(dst) < len(x) {
		dst = make([]byte, len(x))
	}
	dst = dst[:len(x)]
	for i, v := range x {
		if v != v {
			dst[i] = 128
			continue
		}
		dst[i] = byte(encode256(v))
	}
	return dst
}

// DecodeBytes is the inverse of EncodeBytes.
func DecodeBytes(dst []float32, b []byte) []float32 {
	dst = growF(dst, len(b))
	for i, c := range b {
		dst[i] = decTable256[c]
	}
	return dst
}

func grow(dst []int32, n int) []int32 {
	if cap(dst) < n {
		return make([]int32, n)
	}
	return dst[:n]
}

func growF(dst []float32, n int) []float32 {
	if cap(dst) < n {
		return make([]float32, n)
	}
	return dst[:n]
}
