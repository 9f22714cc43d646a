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
// sample with one batched matrix product per weight matrix (the weights are
// read once per step for all streams, kernel.MatMulAddBatch), then draws
// each stream's next mu-law code with its own seeded random number
// generator (temperature, top-k or greedy). The queues of all streams are
// interleaved by generator step, so a step reads and writes one contiguous
// block per layer and tap; the residual biases are folded into the gate
// biases. Prime starts a stream from given audio with one batched
// full-sequence pass over the last receptive field.
//
// The layer conventions are those of wavenet.Model.Forward: every layer's
// input, the one-hot input included, is zero before time 0, and the logits
// computed at time t are for the code at t+1. Teacher-forced logits of the
// cache equal Forward's within float32 rounding (the tests allow 1e-4 and
// see about 5e-7).
//
// Determinism: the codes a stream draws depend only on the model, the
// stream's options (seed included) and the codes it was fed, as long as the
// logits are bit-identical. The sampler is pure Go with explicit float32
// rounding (no fused multiply-add), so it gives the same code for the same
// logits on every machine. The logits come from the kernels of
// internal/kernel:
//
//   - On one machine, in the default mode, a stream's logits do not depend
//     on the other streams of the step (the row-major kernels compute each
//     stream's products in the same order whatever the batch, for channel
//     counts that are multiples of 16, as in every preset; a test checks
//     bit-identity for batches of 1 to 16). Generator.SetFastBatch trades
//     this for about 15-20% more throughput from 8 streams on.
//   - Across machines, the AVX-512, AVX2 and pure-Go kernels may sum in
//     different orders. A last-bit difference changes a drawn code only
//     when the uniform draw falls within about 1e-7 of a boundary of the
//     cumulative distribution, so outputs agree except with a probability
//     of the order of 1e-6 per sample (after which the streams diverge); a
//     golden test checks that the AVX-512 and purego builds draw the same
//     2000 codes.
package cache
