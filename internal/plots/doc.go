// Package plots draws the toolkit's figures as PNG with gonum/plot: line
// charts of named series (training and learning curves, pruning sweeps),
// precision-recall curves, and spectrogram heat maps.
//
// It is a leaf: it imports no package of this module, so callers pass
// plain data (float64 slices, labels), and gonum/plot with its fonts and
// vector back ends stays out of every package that does not draw. The
// colours are matplotlib's "tab10" cycle; the heat map uses Moreland's
// extended black-body map (K. Moreland, "Why we use bad color maps and
// what you can do about it", 2016).
package plots
