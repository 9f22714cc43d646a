package train

import (
	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/wavenet"
)

// CorpusOptions are the corpus options that load audio as the training of
// a model of cfg did: cfg's rate and levels, and the preprocessing its
// config records (cfg.Preprocessing(): wavenet.DefaultPreprocess for
// checkpoints older than the record). The split, workers and progress
// are left for the caller.
func CorpusOptions(cfg wavenet.Config) corpus.Options {
	o := corpus.Options{SampleRate: cfg.SampleRate, Levels: cfg.QuantizationChannels}
	setPreprocess(&o, cfg.Preprocessing())
	return o
}

// setPreprocess sets the processing fields of o to p's.
func setPreprocess(o *corpus.Options, p audio.Preprocess) {
	o.RemoveDC, o.Trim, o.TrimDB, o.TrimRelDB, o.FrameMS = p.RemoveDC, p.Trim, p.TrimDB, p.TrimRelDB, p.FrameMS
	o.Normalize, o.NormalizeDB = p.Normalize, p.NormalizeDB
}
