package listening

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// fsddAttribution is the licence notice of the training data, which the
// generated audio is an adaptation of.
const fsddAttribution = `The model that made these files was trained on the "Free Spoken Digit Dataset (FSDD)" by Zohar Jackson and contributors
(https://github.com/Jakobovski/free-spoken-digit-dataset), licensed under CC BY-SA 4.0
(https://creativecommons.org/licenses/by-sa/4.0/). The generated audio is an adaptation of it and is released under
CC BY-SA 4.0 as well.`

// Counts are recognition counts: N digits, of which DigitOK were heard as
// the digit asked for and SpeakerOK as the speaker.
type Counts struct{ N, DigitOK, SpeakerOK int }

// DigitRate is the share of digits recognised (0 when N is 0).
func (c Counts) DigitRate() float64 { return float64(c.DigitOK) / float64(max(c.N, 1)) }

// SpeakerRate is the share of speakers recognised (0 when N is 0).
func (c Counts) SpeakerRate() float64 { return float64(c.SpeakerOK) / float64(max(c.N, 1)) }

// Summary counts the verdicts on the files: the digit files in total and
// per speaker, the digits of sentences, and how every digit's generation
// ended.
type Summary struct {
	Counts
	PerSpeaker                                  map[string]*Counts
	Sentences, SentenceDigits, SentenceDigitsOK int
	Ends                                        map[speech.EndReason]int
}

func (s Summary) endCounts() string {
	var out []string
	for _, r := range []speech.EndReason{speech.Silence, speech.Dip, speech.Cap, speech.NoOnset} {
		out = append(out, fmt.Sprintf("%d by %s", s.Ends[r], r))
	}
	return strings.Join(out, ", ")
}

func summarize(files []*File) Summary {
	s := Summary{PerSpeaker: map[string]*Counts{}, Ends: map[speech.EndReason]int{}}
	for _, f := range files {
		for _, p := range f.Words {
			s.Ends[p.Reason]++
		}
		if len(f.Digits) > 1 {
			s.Sentences++
			for i, d := range f.Digits {
				s.SentenceDigits++
				if f.Errs[i] == nil && f.Heard[i].Digit == d {
					s.SentenceDigitsOK++
				}
			}
			continue
		}
		pc := s.PerSpeaker[f.Speaker]
		if pc == nil {
			pc = &Counts{}
			s.PerSpeaker[f.Speaker] = pc
		}
		for _, c := range []*Counts{&s.Counts, pc} {
			c.N++
			if f.Errs[0] == nil && f.Heard[0].Digit == f.Digits[0] {
				c.DigitOK++
			}
			if f.Errs[0] == nil && f.Heard[0].Speaker == f.Speaker {
				c.SpeakerOK++
			}
		}
	}
	return s
}

// write prints the summary: the digit files, each speaker (in the order
// of speakers), the sentences and the ends.
func (s Summary) write(w io.Writer, perPair int, speakers []string) {
	fmt.Fprintf(w, "%d digit files (%d per speaker and digit): digit recognised %.1f%% (%d/%d), speaker recognised %.1f%% (%d/%d); the bar is %.0f%% each\n",
		s.N, perPair, 100*s.DigitRate(), s.DigitOK, s.N, 100*s.SpeakerRate(), s.SpeakerOK, s.N, 100*RecognitionBar)
	for _, sp := range speakers {
		ps := s.PerSpeaker[sp]
		fmt.Fprintf(w, "  %-10s %4d files  digit %5.1f%%  speaker %5.1f%%\n", sp, ps.N, 100*ps.DigitRate(), 100*ps.SpeakerRate())
	}
	if s.Sentences > 0 {
		fmt.Fprintf(w, "%d sentences: %d of %d digits recognised\n", s.Sentences, s.SentenceDigitsOK, s.SentenceDigits)
	}
	fmt.Fprintf(w, "ends: %s\n", s.endCounts())
}

func condNames(cfg wavenet.Config) string {
	names := make([]string, len(cfg.Conditions))
	for i, c := range cfg.Conditions {
		names[i] = c.Name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func mark(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// readme is the README.md of the output directory: how the files were
// made, the recognition rates, one row per file, the licence.
func (o *Options) readme(cfg wavenet.Config, step string, r *Result) string {
	var b strings.Builder
	model := o.ModelDir
	if model == "" {
		model = "the embedded default model (models/default)"
	}
	if step != "" {
		model += fmt.Sprintf(", training step %s", step)
	}
	sum, val := r.Summary, r.Validation
	fmt.Fprintf(&b, "# Generated samples\n\n")
	fmt.Fprintf(&b, "Made by `wavenet samples` from %s: %d Hz, %d mu-law levels, %d layers (receptive field %d samples), conditioned on %s.\n",
		model, cfg.SampleRate, cfg.QuantizationChannels, len(cfg.Dilations), cfg.ReceptiveField(), condNames(cfg))
	fmt.Fprintf(&b, "Base seed %d (sample k of speaker s, digit d: seed + 1000k + 10s + d), temperature %g", o.Seed, o.Temperature)
	if o.TopK > 0 {
		fmt.Fprintf(&b, ", top-k %d", o.TopK)
	}
	if o.Guidance > 0 {
		fmt.Fprintf(&b, ", classifier-free guidance %g on the digit", o.Guidance)
	}
	if o.Candidates > 1 {
		fmt.Fprintf(&b, ", best of %d candidates per digit by the model's own log-likelihood ratio log p(audio | digit) - log p(audio | no digit)", o.Candidates)
	}
	if o.Greedy {
		b.WriteString(", greedy")
	}
	if o.ZeroStart {
		b.WriteString(", streams started from zero history")
	}
	fmt.Fprintf(&b, ", %d per (speaker, digit).\n\n", o.PerPair)
	b.WriteString("Each digit is generated conditioned on (speaker, digit) until its end is detected (sustained silence after ")
	b.WriteString("a plausible length, from the training split's duration statistics), then trimmed; sentences join digits with ")
	b.WriteString("150 ms pauses.\n\n")
	fmt.Fprintf(&b, "Verdicts come from `wavenet eval`'s classifier: %s, %s. It was never trained on the validation recordings (FSDD indices %s of %s); "+
		"on the %d validation recordings it recognises %.1f%% of digits and %.1f%% of speakers.",
		r.Judge.Name(), r.Judge.Origin, o.ValIndex, o.FSDD, val.Files, 100*val.DigitAccuracy(), 100*val.SpeakerAccuracy())
	b.WriteString(" Its features are level-invariant (each file is peak-normalised first), so a speaker is recognised by voice, not by recording level.")
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "## Recognition\n\n")
	fmt.Fprintf(&b, "- digits recognised: **%.1f%%** (%d of %d)\n", 100*sum.DigitRate(), sum.DigitOK, sum.N)
	fmt.Fprintf(&b, "- speakers recognised: **%.1f%%** (%d of %d)\n", 100*sum.SpeakerRate(), sum.SpeakerOK, sum.N)
	if sum.Sentences > 0 {
		fmt.Fprintf(&b, "- digits of sentences recognised: %d of %d\n", sum.SentenceDigitsOK, sum.SentenceDigits)
	}
	fmt.Fprintf(&b, "- ends: %s\n", sum.endCounts())
	fmt.Fprintf(&b, "- the bar: %.0f%% of digits and %.0f%% of speakers recognised\n\n", 100*RecognitionBar, 100*RecognitionBar)
	b.WriteString("| speaker | files | digit | speaker |\n|---|---:|---:|---:|\n")
	speakers := make([]string, 0, len(sum.PerSpeaker))
	for s := range sum.PerSpeaker {
		speakers = append(speakers, s)
	}
	sort.Strings(speakers)
	for _, s := range speakers {
		p := sum.PerSpeaker[s]
		fmt.Fprintf(&b, "| %s | %d | %.0f%% | %.0f%% |\n", s, p.N, 100*p.DigitRate(), 100*p.SpeakerRate())
	}
	b.WriteString("\n## Files\n\nThe end column says how each digit's generation stopped: silence (the model fell silent), dip (a quiet stretch after the median length; what followed was dropped), cap (no end found: kept to the length cap).\n\n")
	b.WriteString("| file | spectrogram | speaker | said | length | end | heard (p) | speaker heard (p) | digit ok | speaker ok |\n")
	b.WriteString("|---|---|---|---|---:|---|---|---|---|---|\n")
	for _, f := range r.Files {
		b.WriteString(f.row(cfg.SampleRate))
	}
	b.WriteString("\n## Licence\n\n")
	b.WriteString(fsddAttribution)
	b.WriteString("\n")
	return b.String()
}

// row is f's row of the README's file table (rate Hz).
func (f *File) row(rate int) string {
	png := ""
	if f.PNG != "" {
		png = fmt.Sprintf("[png](%s)", f.PNG)
	}
	var heard, spk []string
	dOK, sOK := true, true
	for i, h := range f.Heard {
		if f.Errs[i] != nil {
			heard = append(heard, "?")
			spk = append(spk, "?")
			dOK, sOK = false, false
			continue
		}
		heard = append(heard, fmt.Sprintf("%s (%.2f)", h.Digit, h.DigitProb))
		spk = append(spk, fmt.Sprintf("%s (%.2f)", h.Speaker, h.SpeakerProb))
		dOK = dOK && h.Digit == f.Digits[i]
		sOK = sOK && h.Speaker == f.Speaker
	}
	if len(f.Digits) > 1 {
		// Sentences: the digits heard, and the speaker heard for most.
		spk = []string{majority(f.Heard, f.Errs)}
	}
	ends := make([]string, len(f.Words))
	for i, p := range f.Words {
		ends[i] = p.Reason.String()
	}
	return fmt.Sprintf("| [%s](%s) | %s | %s | %s | %.2f s | %s | %s | %s | %s | %s |\n",
		f.Name, f.Name, png, f.Speaker, strings.Join(f.Digits, " "), float64(len(f.Audio))/float64(rate),
		strings.Join(ends, " "), strings.Join(heard, " "), strings.Join(spk, " "), mark(dOK), mark(sOK))
}

// majority returns the speaker heard most often among preds.
func majority(preds []classify.Prediction, errs []error) string {
	n := map[string]int{}
	for i, p := range preds {
		if errs[i] == nil {
			n[p.Speaker]++
		}
	}
	best := "?"
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if best == "?" || n[k] > n[best] {
			best = k
		}
	}
	if best == "?" {
		return best
	}
	return fmt.Sprintf("%s (%d of %d)", best, n[best], len(preds))
}
