// Package mulaw implements the mu-law companding and quantization of the
// WaveNet paper (van den Oord et al. 2016, "WaveNet: A Generative Model for
// Raw Audio", section 2.2, arXiv:1609.03499): the continuous formula
//
//	F(x) = sign(x) ln(1 + mu|x|) / ln(1 + mu),  mu = Q - 1,  x in [-1, 1]
//
// followed by uniform quantization of F(x) into Q levels,
//
//	code = floor((F(x) + 1) / 2 * mu + 0.5),
//
// as ibab/tensorflow-wavenet's mu_law_encode does. Decode returns the value
// whose companded image is the centre of the code's bin. This is not the
// segmented G.711 mu-law of telephony.
//
// Any number of levels Q from 2 to 65536 is supported. Q = 256 (the paper's
// choice) has a table-driven fast path that gives exactly the codes of the
// float64 formula. Input outside [-1, 1] is clipped; NaN encodes as the code
// of 0.0 (Silence). Codes outside [0, Q-1] decode as the nearest valid code.
//
// Slice functions are dst-first: a nil or short dst is (re)allocated, a dst
// with enough capacity is reused without allocation.
package mulaw
