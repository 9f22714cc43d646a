// Package models embeds the default models into the binary with
// go:embed: the default WaveNet checkpoint (the directory default/:
// config.json + model.safetensors, the checkpoint format of package
// wavenet), so that `wavenet serve` works with no flags; the default
// vocoder (vocoder/); and the spectrogram CNN judge of `wavenet eval` and
// `wavenet samples` (judge/: config.json + model.safetensors, the format
// of classify.CNN). Each directory's README.md describes its model and
// training.
package models
