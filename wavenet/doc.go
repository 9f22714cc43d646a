// Package wavenet defines the WaveNet model of van den Oord et al. 2016,
// "WaveNet: A Generative Model for Raw Audio" (arXiv:1609.03499): its
// configuration (compatible with ibab/tensorflow-wavenet's
// wavenet_params.json), its weights as plain float32 slices, a pure-Go
// full-sequence forward pass, and checkpoint directories (config.json plus
// model.safetensors, https://github.com/huggingface/safetensors), whose
// weights it reads in every dtype a checkpoint may store (DType: float32,
// float16, bfloat16, and the int8 that package compress writes) and whose
// config records how the training audio was processed, so that a
// recording is scored as training saw it (Config.RecordingCodes).
//
// Local conditioning (section 2.5 of the paper; r9y9/wavenet_vocoder):
// with Config.Local, mel frames are upsampled to one vector per sample by
// causal transposed convolutions, or by nearest-neighbour repeats each
// followed by a causal 2-D convolution over time and mel bands (r9y9's
// UpsampleNetwork; LocalConfig.Net, Upsampler), and projected
// into every layer's gate (Layer.Local): ForwardMels, ForwardLocal and
// ScoreMels are the reference pass of such a model.
//
// Nothing here imports gorgonia: training lives in package train, fast
// generation in package cache. No package registers anything with this
// one: loading needs nothing else linked in.
package wavenet
