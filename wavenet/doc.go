// Package wavenet defines the WaveNet model of van den Oord et al. 2016,
// "WaveNet: A Generative Model for Raw Audio" (arXiv:1609.03499): its
// configuration (compatible with ibab/tensorflow-wavenet's
// wavenet_params.json), its weights as plain float32 slices, a pure-Go
// full-sequence forward pass, and checkpoint directories (config.json plus
// model.safetensors).
//
// Nothing here imports gorgonia: training lives in package train, fast
// generation in package cache.
package wavenet
