// Package cnntrain trains the spectrogram CNN judges of package classify
// on FSDD-style recordings: a DenseNet-BC teacher with cross-entropy, a
// MobileNet student by distillation (Hinton et al. 2015,
// arXiv:1503.02531: nn.KLDivTemperature's T²-scaled loss on the teacher's
// logits plus cross-entropy on the labels), with SpecAugment masking and
// small time shifts (Park et al. 2019, arXiv:1904.08779), Adam and a
// cosine schedule from nn. It also quantizes a judge to int8 (per-channel
// symmetric, compress.QuantizeInt8) and prunes it (global magnitude
// pruning, compress.GlobalUnstructured, then distillation with the masks
// held). The networks' forward and backward passes are classify's plain
// Go; gorgonia (through nn) computes only the losses and their gradients
// with respect to the logits.
package cnntrain
