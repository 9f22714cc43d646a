// Package compress makes WaveNet models smaller and faster, with the three
// methods of the curriculum:
//
//   - quantization: IEEE 754 binary16 (fp16) and bfloat16 with
//     round-to-nearest-even, and int8 affine or symmetric quantization per
//     tensor or per output channel with the semantics of PyTorch's
//     MinMaxObserver and PerChannelMinMaxObserver
//     (torch/ao/quantization/observer.py, _calculate_qparams);
//   - magnitude pruning with the meaning of torch.nn.utils.prune's
//     l1_unstructured, global_unstructured and ln_structured;
//   - knowledge distillation (Hinton, Vinyals and Dean 2015, "Distilling the
//     Knowledge in a Neural Network").
package compress
