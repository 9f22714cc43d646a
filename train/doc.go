// Package train implements WaveNet training (van den Oord et al. 2016,
// arXiv:1609.03499) on gorgonia: the training graph over a wavenet.Model's
// weights built from nn's custom Ops, synchronous data-parallel workers
// with gradients averaged in a fixed order, Adam with clipping and a
// learning-rate schedule, validation in bits per sample with the pure-Go
// forward pass, and resumable checkpoints, after
// ibab/tensorflow-wavenet's train.py (whose resume bug, issue #387, this
// package does not repeat: the step counter, schedule and data order carry
// on exactly). Open turns a run specification (preset or config file,
// initial model, resume) into a trainer on a corpus processed as the
// model's config records (Config.Preprocess); LatestCheckpoint and
// RunConfig read run directories.
//
// Local conditioning (a mel vocoder, r9y9/wavenet_vocoder) trains the
// upsampling network and every layer's projection with the rest: each
// training sequence takes the mel frames around its window (LocalWindow:
// LocalMargin frames of upsampling context, zeros outside the utterance),
// and its prediction of code t sees upsampled row t, as
// wavenet.Model.ForwardLocal defines (the silence padding before an
// utterance is the go code).
package train

import (
	// gorgonia v0.9.18 panics at start on Go 1.26 with the old version of
	// this module it requires; importing the latest one fixes it.
	_ "go4.org/unsafe/assume-no-moving-gc"
)
