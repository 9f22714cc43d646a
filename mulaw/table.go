package mulaw

import "math"

// The Q = 256 fast path. Encoding is exact to the float64 formula: thr256[c]
// is the smallest float32 whose float64 code is at least c, found by binary
// search over the ordered float32 values at init, so a comparison against it
// decides the code exactly. base256 maps the top 16 bits of a sample's
// order key (sign, exponent and 7 mantissa bits) to the code of the
// smallest value with those bits; a bucket is narrower than a code's bin
// (the widest bucket, [0.5, 1), is 0.5/128 = 0.0039 wide, the narrowest
// bin, at x = 1, is 0.044 wide), so at most one comparison follows the
// lookup. The loop keeps it exact even if that were not so.
var (
	decTable256 [256]float32
	thr256      [257]float32 // thr256[256] is +Inf, so c+1 is always in range
	base256     []uint8
	baseOff256  uint32
)

// orderKey maps float32 values to uint32 keys in the same order.
func orderKey(x float32) uint32 {
	b := math.Float32bits(x)
	if b&0x80000000 != 0 {
		return ^b
	}
	return b | 0x80000000
}

func fromOrderKey(k uint32) float32 {
	if k&0x80000000 != 0 {
		return math.Float32frombits(k &^ 0x80000000)
	}
	return math.Float32frombits(^k)
}

func init() {
	const mu = 255.0
	for c := range decTable256 {
		decTable256[c] = float32(decodeRef(int32(c), mu))
	}
	lo, hi := orderKey(-1), orderKey(1)
	thr256[0] = -1
	for c := 1; c < 256; c++ {
		// Smallest key in [lo, hi] whose value encodes to at least c.
		a, b := lo, hi
		for a < b {
			m := a + (b-a)/2
			if encodeRef(float64(fromOrderKey(m)), mu) >= int32(c) {
				b = m
			} else {
				a = m + 1
			}
		}
		thr256[c] = fromOrderKey(a)
	}
	thr256[256] = float32(math.Inf(1))
	baseOff256 = lo >> 16
	n := hi>>16 - baseOff256 + 1
	base256 = make([]uint8, n)
	for i := range n {
		k := (baseOff256 + i) << 16
		if k < lo {
			k = lo
		}
		base256[i] = uint8(encodeRef(float64(fromOrderKey(k)), mu))
	}
}

// encode256 returns the 256-level code of x, which must not be NaN.
func encode256(x float32) int32 {
	if x > 1 {
		x = 1
	} else if x < -1 {
		x = -1
	}
	c := int32(base256[orderKey(x)>>16-baseOff256])
	for x >= thr256[c+1] {
		c++
	}
	return c
}
