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
