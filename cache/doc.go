// Package cache implements fast autoregressive generation for a
// wavenet.Model: the queue cache of Fast WaveNet (Paine et al. 2016,
// "Fast Wavenet Generation Algorithm", arXiv:1611.09482), with many
// independent streams stepped together.
//
// Each dilated layer keeps, per stream, a queue of its last
// (K-1)*dilation inputs, so one step computes only the newest column of
// every layer: O(layers) work per sample instead of O(receptive field).
// A Generator holds up to maxStreams streams in slots; streams join and
// leave between steps, and one Step advances every active stream by one
// sample with one batched matrix product per weight matrix (the weights,
// packed once by New, are read once per step for all streams:
// kernel.MatMulAddPacked), then draws each stream's next mu-law code with
// its own seeded random number generator (temperature, top-k or greedy).
// The queues of all streams are interleaved by generator step, so a step
// reads and writes one contiguous block per layer and tap; the residual
// biases are folded into the gate biases. Prime starts a stream from given
// audio with one batched full-sequence pass over the last receptive field.
// NewF16 makes a generator with binary16 weights, for few streams of a
// model whose float32 weights do not fit in L2.
//
// Local conditioning (a model with wavenet.Config.Local, a vocoder): a
// stream's mel frames come with Join (StreamOptions.Local) or later
// (PushLocal), are upsampled at once by the stream's wavenet.Upsampler
// (causal: a sample needs only the frame covering it, no lookahead), and
// each step projects every stream's row for all layers with one packed
// product (L*2D by C) added to the gate pre-activations. Buffered says how
// many steps a stream's conditioning allows; so audio streams out while
// frames still arrive. The int8 generator keeps the projection float32.
//
// The layer conventions are those of wavenet.Model.Forward: every layer's
// input, the one-hot input included, is zero before time 0, and the logits
// computed at time t are for the code at t+1. Teacher-forced logits of the
// cache equal Forward's within float32 rounding (the tests allow 1e-4 and
// see about 5e-7).
//
// Determinism: the codes a stream draws depend only on the model, the
// stream's options (seed included) and the codes it was fed or primed
// with: not on the other streams stepped with it, nor on the kernel
// implementation (AVX-512, AVX2 or the pure-Go fallback of the purego
// build and other architectures), because its logits are bit-identical in
// all these cases:
//
//   - Every product of a step runs on kernel.MatMulAddPacked, which
//     computes each output as one fixed chain of fused multiply-adds
//     whatever the batch size, the stream's row or the implementation
//     (pure Go emulates the fma exactly, at a cost in speed), and the
//     activations (kernel.GateTanhSigmoid, ReLU) are bit-identical across
//     implementations too. The rest (the input embedding sum, bias copies)
//     is plain Go without multiplications.
//   - The sampler is pure Go with explicit float32 rounding (no fused
//     multiply-add), so it gives the same code for the same logits on
//     every machine.
//
// Tests check both: a stream alone and among 1 to 16 others, joining and
// leaving, draws the same codes with bit-identical logits over three
// receptive fields; a golden file of 2000 drawn codes is the same on the
// AVX-512 and purego builds; a primed stream continues with bit-identical
// logits to a stream fed the same codes (Prime runs the step's products,
// with the window's rows as streams). One generator is outside the
// guarantee across implementations: NewF16's (binary16 weights), whose
// products sum in implementation-specific orders; its streams are still
// independent of the batch.
package cache
