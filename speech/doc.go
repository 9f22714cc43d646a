// Package speech implements the text and word policy of saying sequences
// of labels (the digits of the default voice) with a globally conditioned
// WaveNet (van den Oord et al. 2016, "WaveNet: A Generative Model for Raw
// Audio", arXiv:1609.03499, section 3.1: one conditioning value per
// utterance), for the CLI and the service alike: ParseText and Items turn
// text (digits, number words, any case, punctuation) into label values;
// each label is generated as its own stream, conditioned on (speaker,
// label), its end is detected from the audio itself (Utterance), the
// attempts at it are retried and chosen by Word (the one copy of the
// policy; package synth's scheduler drives it), its leading and trailing
// silence is trimmed, and the pieces are joined with short pauses
// (Concat).
//
// Texts for drop-in speech APIs: the model says only its label values (the
// ten digits), so Normalize reads free text (an OpenAI-style "input") by a
// stated policy: numbers digit by digit ("1,250" is 1 2 5 0, "2026" is
// 2 0 2 6), grouping commas and phone punctuation dropped ("+1 (555)
// 010-9999"), number words as their digits, and every word it cannot say
// named with its character offset in an *InputError (or skipped, on
// request; a number it cannot read, "3.5" or "-4", is an error in any
// case). ParseSSML reads the subset of SSML (W3C Speech Synthesis Markup
// Language 1.1) that maps onto such a model, as Google's input.ssml sends
// it: <speak>, <say-as interpret-as="characters|cardinal|telephone">,
// <break time|strength>, <p> and <s>; anything else is an *InputError
// naming the element, attribute or text and its line. Both return a
// Script: the labels, whose Text Items reads, the pause before each (SSML)
// and the Changes made in reading.
//
// How long to generate: a model trained on trimmed utterances padded with
// silence learns that silence follows each utterance (if its training
// windows reach past the ends often: corpus.Sampler pads only windows
// longer than what is left of an utterance, so segments should be longer
// than most utterances, 4000 samples or more for FSDD at 8 kHz), so
// generation can stop when the output goes quiet; the dip rule below
// covers models that do not. Stats holds per (speaker, label)
// duration statistics of the training split (median, 90th percentile and
// maximum of the trimmed lengths; computed by Compute, stored with the
// model as StatsFile). For one utterance:
//
//   - onset: the first of three Options.FrameMS frames in a row whose
//     level is above Options.FloorDB (a click is not speech); at most
//     Options.LeadSeconds of leading silence are waited for;
//   - end: Options.HoldMS of consecutive silent frames (below FloorDB, or
//     more than Options.RelDB below the loudest frame so far), starting at
//     least Options.MinFraction of the median after the onset (a silence
//     that starts earlier must last twice HoldMS and reach past that
//     point), so that the closure of a stop consonant inside a word
//     ("eight", "six") does not end it; the end is the start of that
//     silence;
//   - cap: if no end is found, generation stops max(CapFactor*p90,
//     median+CapExtra seconds) after the onset. If the output dipped
//     (Options.DipMS at least Options.DipDB below the loudest frame) after
//     the median length, the word ends in the middle of the quietest such
//     dip and the rest, babble of a model that does not fall silent, is
//     dropped; otherwise everything is kept, so a digit is not cut off.
//
// This is the energy endpoint detector of Rabiner and Sambur (1975, "An
// algorithm for determining the endpoints of isolated utterances", Bell
// System Technical Journal 54(2)), with the thresholds relative to the
// loudest frame as corpus trimming uses them. The kept part is then trimmed
// with the corpus rule (20 ms frames more than 30 dB below the loudest
// frame, audio.DefaultTrimRelDB), the way the training data was trimmed.
//
// The statistics travel with the model as StatsFile in its checkpoint
// directory: `wavenet say --calibrate --model DIR --data CORPUS` computes
// them (train.Calibrate: the corpus loaded as `wavenet train` loads it,
// its training split only, summarised by Compute) and writes them
// (WriteStats); a trainer can put
// Stats.Marshal's bytes into wavenet.Checkpoint.Extra[StatsFile]; the
// embedded default model carries models/default/speech.json. LoadStats
// and ReadStats (for an fs.FS such as the embedded model) read them; a
// model without them gets DefaultDuration, and the commands say so.
//
// Utterance is the end detector as a per-stream state machine for a
// scheduler that owns a shared generator: feed it every code the stream
// draws, stop the stream when Push reports done, then take Trimmed. Word
// wraps it with the policy over attempts: seeds (RetrySeed), quality
// (Quality), candidates chosen by quality then GuideScore, taken in
// attempt order, and a zero-history retry after an attempt with no onset.
//
// Checked on the 2700 real recordings of FSDD's training directory (each
// followed by a second of silence, with its group's statistics): 2538 end
// by silence, 156 by a dip (long noisy lead-ins reach the cap), 6 at the
// cap; the part kept is at least 90% of the corpus-trimmed length for all
// but 35 (1.3%), and those we looked at have a click or breath before or
// after the word that corpus trimming keeps and the detector drops.
//
// The package does not import gorgonia or corpus: it is on the synthesis
// path.
package speech
