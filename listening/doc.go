// Package listening makes listening tests: one WAV per (speaker, digit)
// and a few sentences per speaker, said by a model through the synthesis
// engine (package synth) with fixed seeds; each digit judged by the
// intelligibility classifier of package classify (MFCC + logistic
// regression, trained on the FSDD recordings outside the validation
// indices); a log-mel spectrogram PNG per file (internal/plots); and a
// README.md for the output directory with the settings, the recognition
// rates against the bar of issue 6 (80% of digits and of speakers), one
// row per file and the licence of the training data (FSDD, CC BY-SA 4.0).
//
// It is what `wavenet samples` runs; `wavenet eval` reads the directory it
// writes.
package listening
