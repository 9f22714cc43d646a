// Package models embeds the default WaveNet checkpoint (the directory
// default/: config.json + model.safetensors, the checkpoint format of
// package wavenet) into the binary with go:embed, so that `wavenet serve`
// works with no flags. The model and its training are described in
// default/README.md.
package models
