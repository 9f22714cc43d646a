// Package nn implements the shared deep-learning core of the project on
// gorgonia (gorgonia.org/gorgonia): trainable parameters as plain float32
// slices, optimizers, schedules, clipping, initialisers, custom gorgonia
// Ops backed by the project's float32 kernels, a finite-difference
// gradient checker, and small model builders with a pure-Go forward pass
// for inference. It is used by train (WaveNet), rl and compress.
//
// References: Adam (Kingma & Ba 2015, arXiv:1412.6980) with
// torch.optim.Adam's update; SGD with momentum and Nesterov momentum as
// torch.optim.SGD (dampening 0); RMSProp (Tieleman & Hinton 2012) as
// torch.optim.RMSprop; global-norm clipping as
// torch.nn.utils.clip_grad_norm_; the cosine schedule with warmup of
// nanoGPT; Glorot & Bengio (2010) and He et al. (2015) initialisation;
// layer, batch and instance normalisation (Ba et al. 2016, Ioffe & Szegedy
// 2015, Ulyanov et al. 2016); distillation with temperature (Hinton et al.
// 2015, arXiv:1503.02531); the policy-value residual tower of AlphaGo Zero
// (Silver et al. 2017); MobileNet v1 and v2 (Howard et al. 2017,
// arXiv:1704.04861; Sandler et al. 2018, arXiv:1801.04381); DenseNet-BC
// (Huang et al. 2017, arXiv:1608.06993); inverted dropout (Srivastava et
// al. 2014).
//
// # Pieces
//
//   - [Param], [Optimizer] ([Adam], [SGD], [RMSProp]) with State/SetState
//     for checkpoints, [ClipGlobalNorm], [Schedule] ([Constant],
//     [StepDecay], [ExponentialDecay], [CosineWarmup]), [ZeroGrads].
//   - Graph Ops, float32 (training) and float64 (gradient checks): [Dense]
//     (x Wᵀ + b on kernel.Gemm), [SoftmaxRows], [LogSoftmaxRows], [MSE],
//     [Huber], [KLDivTemperature], [SoftCrossEntropy], [RowDot],
//     [LayerNorm], [BatchNormTrain] / [BatchNorm], [InstanceNorm]; the
//     WaveNet Ops [Conv], [Gated], [SoftmaxCE], [CondBias] (float32 only).
//     ReLU, ReLU6, tanh and sigmoid are [Activation]s.
//   - 2-D convolution networks over NCHW images, float32 and float64:
//     [Conv2D] ([Conv2DSpec]; pointwise as one GEMM, depthwise as a direct
//     loop, the rest im2col + GEMM; plain [Conv2DForward],
//     [Conv2DBackwardInput], [Conv2DBackwardWeight], [Conv2DBackwardBias]),
//     [GlobalAvgPool2D], [AvgPool2D], [ConcatChannels], [Dropout],
//     [BatchNormTrain2D] and [BatchNorm.Build2D] (training or eval mode),
//     [BatchNorm.Forward2D] and [BatchNorm.Affine] (folding).
//   - [MobileNet] and [DenseNet], made of [ConvBN] units: Build (train or
//     eval) and a plain Forward returning pooled features (heads are the
//     caller's [Linear]s); Params and Buffers (running statistics) named
//     in a stable order for checkpoints; [Summary] per layer.
//   - [GradCheck] ([GradCheck.Run], [GradCheck.Check]): symbolic gradients
//     against central differences, for this package's tests and other
//     packages'; tests elsewhere call nntest.CheckGradients (package
//     nn/nntest), so "testing" stays out of binaries that import nn.
//   - [MLP] and [ResNet]: Build adds the model to a graph with nodes that
//     alias its weight slices; Forward runs it on one observation without
//     gorgonia and without allocating; CopyFrom / Clone for target networks.
//   - [Machine]: compiles loss and gradients, zeroes gradients before each
//     run and hands back the [Param]s for the optimizer.
//
// # Training loop
//
//	g := gorgonia.NewGraph()
//	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(batch, in),
//		gorgonia.WithName("x"), gorgonia.WithValue(tensor.New(tensor.WithShape(batch, in), tensor.WithBacking(xs))))
//	// ... y likewise
//	out, params, _ := mlp.Build(x)
//	loss, _ := nn.MSE(out, y)
//	m, _ := nn.NewMachine(loss, params)
//	opt := nn.NewAdam(0.9, 0.999, 1e-8, 0)
//	for step := int64(0); step < steps; step++ {
//		// fill xs and ys (the tensors' backing slices)
//		l, _ := m.Run()
//		nn.ClipGlobalNorm(m.Params(), 1)
//		opt.Step(m.Params(), sched.LR(step))
//	}
//	action := argmax(mlp.Forward(nil, obs)) // weights were updated in place
//
// Gorgonia graphs have fixed shapes and keep gradients across runs until
// they are zeroed: build one graph per batch shape (models can Build into
// several graphs, all aliasing the same weights), and pass parameters to an
// [Optimizer] in the same order on every call. Give every input node a
// name: gorgonia merges unnamed nodes of equal type and shape.
//
// The softmax and log-softmax of gorgonia.org/tensor v0.9.24 take one max
// over the whole tensor, not per row, so large logits give -Inf; this
// package's softmaxes and losses subtract a per-row maximum instead.
package nn

import (
	// gorgonia v0.9.18 panics at start on Go 1.26 with the old version of
	// this module it requires; importing the latest one fixes it.
	_ "go4.org/unsafe/assume-no-moving-gc"
)
