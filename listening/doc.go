// Package listening makes listening tests: one WAV per (speaker, digit)
// and a few sentences per speaker, said by a model through the synthesis
// engine (package synth) with fixed seeds; each digit judged by a
// classify.Judge (LoadJudge: by default the embedded spectrogram CNN,
// models/judge; or the MFCC + logistic-regression classifier trained on
// the FSDD recordings outside the validation indices; or a CNN judge
// directory), checked first on the validation recordings; a log-mel spectrogram PNG per file (internal/plots); and a
// README.md for the output directory with the settings, the recognition
// rates against the bar of issue 6 (80% of digits and of speakers), one
// row per file and the licence of the training data (FSDD, CC BY-SA 4.0).
//
// MakeVocoder makes the copy-synthesis listening test of a mel vocoder
// (issue 16): for each validation recording, the original as the vocoder
// saw it, the WaveNet copy synthesis and Griffin-Lim from the same mels,
// their spectrograms stacked in one PNG, and an index.md with each one's
// mel-cepstral distortion against the original (audio.MCD) and the
// classifier's verdicts.
//
// It is what `wavenet samples` (and `samples --vocoder`) runs; `wavenet
// eval` reads the directory Make writes.
package listening
