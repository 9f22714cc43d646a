// Package ngram implements an interpolated absolute-discounting trigram
// model over mu-law codes (Ney, Essen and Kneser 1994, "On structuring
// probabilistic dependences in stochastic language modelling"): the
// baseline that a WaveNet's bits per sample must beat. Each order's
// discounted mass goes to the next lower order; the unigram backs off to
// the uniform distribution over the Q codes.
package ngram
