// Package dist implements distributed data-parallel training of WaveNet
// models across processes and machines, on top of package train's
// graph replicas (train.Parallel), optimizer and checkpoints:
//
//   - a Transport between the ranks of a run: an in-process one over
//     channels (tests) and one over NATS subjects (Dial), which chunks
//     messages larger than the server's maximum payload;
//   - tensors travel as safetensors bytes, float32 or, for gradients,
//     bf16 or int8 with error feedback (Seide et al. 2014, "1-bit
//     stochastic gradient descent"; Karimireddy et al. 2019, "Error
//     feedback fixes SignSGD"): what the compression drops from a step's
//     gradient is added to the next step's;
//   - synchronous data parallelism (Sync): every rank computes the
//     gradient of its fixed slice of the global batch, the gradients are
//     averaged by a reduce at rank 0 and a broadcast, or by a ring
//     all-reduce (Patarasuk and Yuan 2009), in a fixed order, and every
//     rank takes the same optimizer step, so a run equals one process with
//     the same global batch up to float rounding;
//   - asynchronous data parallelism (Async), the parameter server of
//     Dean et al. 2012 ("Large Scale Distributed Deep Networks",
//     Downpour SGD): rank 0 holds the weights, Adam and the data order;
//     workers pull weights and a batch, push a gradient without waiting,
//     and the server applies it, recording its staleness (the server's
//     version at apply minus the version pulled); pushes staler than
//     Options.MaxStaleness are dropped;
//   - model parallelism (Pipeline), GPipe-style (Huang et al. 2019): the
//     residual layers split into contiguous stages, one goroutine each,
//     micro-batches pipelined through them, activations forward and
//     gradients backward between stages, on package nn's plain kernels;
//     its gradient is the unsplit model's.
//
// Checkpoints are package train's: rank 0 (the server) writes them, and a
// run resumes from them exactly, distributed or in one process.
package dist
