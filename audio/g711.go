package audio

// ITU-T G.711 (1988) companding of 16-bit linear PCM to 8 bits, as Sun
// Microsystems' public-domain g711.c computes it (linear2ulaw,
// linear2alaw). This is the segmented telephony encoding that decoders of
// audio/basic, PCMU and PCMA expect, not the continuous mu-law of the
// model's codes (package mulaw).

// linearToUlaw encodes s as G.711 mu-law: the 14-bit magnitude, clipped
// to 32635 and biased by 0x84, is split into a 3-bit segment (the position
// of its leading one) and the 4 bits after it; the byte is inverted.
func linearToUlaw(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// linearToAlaw encodes s as G.711 A-law: the 13-bit value (s >> 3), its
// magnitude taken as one's complement for negatives, is split into a
// segment (0 and 1 are linear) and 4 quantisation bits; even bits are
// inverted (xor 0x55) and the sign bit is set for non-negative values.
func linearToAlaw(s int16) byte {
	v := int(s) >> 3
	mask := byte(0xD5)
	if v < 0 {
		v, mask = -v-1, 0x55
	}
	seg := 0
	for seg < 8 && v >= 0x20<<seg { // segment ends 0x1F, 0x3F, ..., 0xFFF
		seg++
	}
	if seg >= 8 { // unreachable for 16-bit input: 32767>>3 = 0xFFF
		return 0x7F ^ mask
	}
	a := byte(seg << 4)
	if seg < 2 {
		a |= byte(v>>1) & 0x0f
	} else {
		a |= byte(v>>seg) & 0x0f
	}
	return a ^ mask
}

// ulawToLinear decodes a G.711 mu-law byte (Sun's ulaw2linear): the
// inverted byte's 4 mantissa bits, with the implicit leading one and the
// bias, shifted by the segment, less the bias.
func ulawToLinear(u byte) int16 {
	const bias = 0x84
	u = ^u
	t := (int(u&0x0f)<<3 + bias) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(bias - t)
	}
	return int16(t - bias)
}

// alawToLinear decodes a G.711 A-law byte (Sun's alaw2linear): the even
// bits re-inverted, the 4 quantisation bits placed mid-step in their
// segment, positive when the sign bit is set.
func alawToLinear(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	switch seg := int(a&0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t = (t + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
