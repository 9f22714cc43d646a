// Package compress makes WaveNet models smaller and faster, with the three
// methods of the curriculum:
//
//   - quantization: IEEE 754 binary16 (fp16) and bfloat16 with
//     round-to-nearest-even (IEEE 754-2019 section 4.3.1), and int8 affine
//     or symmetric quantization per tensor or per output channel with the
//     semantics of PyTorch's MinMaxObserver and PerChannelMinMaxObserver
//     (torch/ao/quantization/observer.py, _calculate_qparams; ATen's
//     quantize_val for the rounding);
//   - magnitude pruning with the meaning of torch.nn.utils.prune's
//     l1_unstructured, global_unstructured and ln_structured, and masks that
//     keep pruned weights at zero;
//   - knowledge distillation (Hinton, Vinyals and Dean 2015, "Distilling the
//     Knowledge in a Neural Network"): in the subpackage compress/retrain,
//     with fine-tuning after pruning, because both train with gorgonia.
//
// Compressed checkpoints are ordinary checkpoint directories (config.json,
// model.safetensors): fp16 and bf16 as safetensors F16/BF16, int8 as I8 or
// U8 weights with F32 scales ("NAME.scale") and, for affine schemes, I32
// zero points ("NAME.zero_point"), the scheme in the safetensors
// __metadata__ ("compress.qscheme"). wavenet.Load reads all of them
// itself (wavenet.DType names them, wavenet.StoredDType tells them from
// the header). This package does not import gorgonia, so the serving path
// may import it.
//
// Int8Recipe is the int8 recipe the quantize command uses: per-channel
// scales, float16 biases, and the output layer rounded by GPTQ (Frantar
// et al. 2022, "GPTQ: Accurate Post-Training Quantization for Generative
// Pre-trained Transformers") against second moments from Calibrate.
//
// Int8 generation itself (int8 weights and activations, AVX-512 VNNI) is
// cache.Int8Generator; MeasureSpeed and Int8Bits measure it.
package compress
