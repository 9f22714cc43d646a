// Package nn implements the shared deep-learning core of the project on
// gorgonia (gorgonia.org/gorgonia): trainable parameters as plain float32
// slices ([Param]), optimizers (Adam after Kingma & Ba 2015, arXiv:1412.6980,
// with PyTorch's torch.optim.Adam update; SGD with momentum and Nesterov
// momentum as torch.optim.SGD; RMSProp as torch.optim.RMSprop), global-norm
// gradient clipping (torch.nn.utils.clip_grad_norm_), learning-rate
// schedules, initialisers (Glorot & Bengio 2010; He et al. 2015), custom
// gorgonia Ops backed by the project's float32 kernels (dense layer,
// normalisation layers, numerically stable per-row softmax, losses including
// the temperature-softened KL divergence of Hinton et al. 2015,
// arXiv:1503.02531), a finite-difference gradient checker, and small model
// builders (MLP, residual tower) with a pure-Go forward pass for inference.
//
// Gorgonia graphs have fixed shapes and keep gradients across runs until
// they are zeroed: build one graph per batch shape, share the weight
// tensors between graphs, zero gradients every step ([ZeroGrads]) and pass
// parameters to an [Optimizer] in the same order on every call.
//
// The softmax and log-softmax of gorgonia.org/tensor v0.9.24 take one max
// over the whole tensor, not per row, so large logits give -Inf; this
// package's [SoftmaxRows] and losses subtract a per-row maximum instead.
package nn

import (
	// gorgonia v0.9.18 panics at start on Go 1.26 with the old version of
	// this module it requires; importing the latest one fixes it.
	_ "go4.org/unsafe/assume-no-moving-gc"
)
