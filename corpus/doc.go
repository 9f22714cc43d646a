// Package corpus implements the training corpus of a WaveNet: it lists
// the WAV and FLAC files of a corpus in one of its layouts (Layout: a folder
// tree, labels from a regular expression with named groups over relative
// paths and optionally the speaker from the first-level folder as in VCTK;
// LJSpeech's metadata.csv and wavs/, https://keithito.com/LJ-Speech-Dataset/;
// a CSV or JSON lines manifest of paths and labels), detected from the path
// or forced, decodes and mixes each file down to mono, builds stable label vocabularies (the
// values of wavenet.Config's global conditions), splits utterances into
// training and validation sets deterministically, resamples them to the
// model's rate, holds them as mu-law codes in memory, and hands out
// reproducible random training segments with left context for the
// receptive field. List lists a corpus as Load does, split included,
// without reading any audio (for commands that read some files, or read
// them themselves); Require says which label a corpus lacks and how its
// layout would give it.
//
// The default file-name pattern and split follow the Free Spoken Digit
// Dataset (FSDD, https://github.com/Jakobovski/free-spoken-digit-dataset):
// files {digit}_{speaker}_{index}.wav (or .flac), recordings with index 0-4 form the
// dataset's official test set, and this package holds out index 5-9 of the
// remaining recordings for validation. Training segments are drawn as a
// uniformly random utterance and a uniformly random window in it, with the
// receptive field's worth of preceding codes in front (the context
// ibab/tensorflow-wavenet's AudioReader keeps between pieces).
//
// Nothing is dropped silently: files that cannot be read, files whose names
// do not match the pattern and files that are silent after trimming are
// listed in the Corpus with their reasons. Inspect turns a loaded corpus
// into the report of `wavenet data inspect`: durations, rates, formats,
// per-label counts, clipping, silence and the files that need a look.
package corpus
