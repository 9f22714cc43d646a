package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/ngram"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

func runScore(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "score", "score [--model DIR] [--raw] [--speaker X] [--label Y] [--cond name=value...] [--full-context] [--baseline CORPUS [--layout L] [--pattern RE] [--speaker-from-folder]] file.wav...\n"+
		"       wavenet score [--model DIR] --baseline CORPUS   (the validation split of CORPUS, processed as training does)")
	modelDir := fs.String("model", "", "checkpoint directory (default: the embedded default model)")
	full := fs.Bool("full-context", false, "score only predictions whose whole receptive field lies inside the recording (as training on segments does), not those that see the silence before it")
	raw := fs.Bool("raw", false, "score the recordings as they are (only resampled to the model's rate), not trimmed and normalised as the model's training audio was")
	baseline := fs.String("baseline", "", "also score with an interpolated trigram over mu-law codes trained on the training split of this corpus (a folder tree, LJSpeech directory or manifest, listed by --layout, --pattern and --speaker-from-folder; loaded as `wavenet train` loads it); without files, score the corpus's validation split")
	var corp corpusFlags
	corp.register(fs)
	var cf condFlags
	cf.register(fs, true)
	files, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 && *baseline == "" {
		return Usagef("no WAV files given")
	}
	if len(files) == 0 && *raw {
		return Usagef("--raw scores given files: the validation split of --baseline is processed as training was")
	}
	m, err := loadModel(ctx, *modelDir)
	if err != nil {
		return err
	}
	read := func(name string) ([]int32, []float32, error) { return recordingCodes(name, m.Config, *raw) }
	processing := fmt.Sprintf("processing: as training (%s); --raw scores the recordings as they are", m.Config.Preprocessing())
	if *raw {
		processing = fmt.Sprintf("processing: raw (only resampled to %d Hz); without --raw the recordings are processed as training was (%s)",
			m.Config.SampleRate, m.Config.Preprocessing())
	}
	var tri *ngram.Trigram
	if *baseline != "" {
		var list corpus.Options
		if err := corp.options(&list); err != nil {
			return err
		}
		b, err := train.NewBaseline(ctx, *baseline, m.Config, list)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "trigram baseline: %s\n", b)
		tri = b.Trigram
		split := b.Validation
		if len(files) == 0 {
			processing = fmt.Sprintf("processing: as training (%s): the validation split as the trainer loads it", m.Config.Preprocessing())
			// The validation split, as the trainer holds it (trimmed,
			// normalised, resampled), so the model's numbers match
			// the trainer's validation bits/sample.
			for name := range split {
				files = append(files, name)
			}
			sort.Strings(files)
			mels := map[string][]float32{} // a vocoder's frames, as the trainer computed them
			for _, u := range b.Corpus.Validation {
				mels[u.Name] = u.Mel
			}
			read = func(name string) ([]int32, []float32, error) { return split[name], mels[name], nil }
		}
	}
	cfg := m.Config
	fmt.Fprintln(env.Stdout, processing)
	rep := ngram.NewReport(env.Stdout, cfg.QuantizationChannels, tri != nil)
	if err := rep.WriteHeader(); err != nil {
		return err
	}
	for _, name := range files {
		if err := scoreFile(ctx, env.Stderr, rep, m, tri, name, &cf, read, *full); err != nil {
			return err
		}
	}
	return rep.Close()
}

// scoreFile scores one recording under m (and tri) and adds it to rep.
// Its conditions are the flags', else what an FSDD file name says, else
// (the engine's rule, synth.ResolveConditions) each condition's first
// value, which a note on notes points out.
func scoreFile(ctx context.Context, notes io.Writer, rep *ngram.Report, m *wavenet.Model, tri *ngram.Trigram, name string, cf *condFlags,
	read func(string) ([]int32, []float32, error), full bool) error {
	cfg := m.Config
	digit, speaker, _, named := classify.ParseName(name)
	vals := map[string]string{}
	lc := cfg.LabelCondition()
	if named {
		if cfg.Condition("speaker") >= 0 {
			vals["speaker"] = speaker
		}
		if lc >= 0 {
			vals[cfg.Conditions[lc].Name] = digit
		}
	}
	for k, v := range cf.named() {
		vals[k] = v
	}
	cond, err := synth.ResolveConditions("", cfg, vals, cf.speaker, cf.label)
	if err != nil {
		return fmt.Errorf("%s: %w", name, usageOf(err))
	}
	var defaulted []string
	for i, c := range cfg.Conditions {
		_, ok := vals[c.Name]
		if !ok && !(c.Name == "speaker" && cf.speaker != "") && !(i == lc && cf.label != "") {
			defaulted = append(defaulted, c.Name+"="+c.Values[cond[i]])
		}
	}
	if len(defaulted) > 0 {
		fmt.Fprintf(notes, "note: %s: scored with %s (the first value: no flag or {digit}_{speaker}_N.wav name gives it)\n", name, strings.Join(defaulted, ", "))
	}
	codes, mels, err := read(name)
	if errors.Is(err, wavenet.ErrSilentRecording) {
		return rep.Skip(name, "silent: nothing is left after trimming (--raw scores it as it is)")
	}
	if err != nil {
		return err
	}
	// from = 0: every prediction counts, including the first ones, which
	// see the zero padding before the recording starts.
	from := 0
	if full {
		from = cfg.ReceptiveField() - 1
	}
	nats, n, err := m.ScoreInput(ctx, codes, cond, mels, from)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n == 0 {
		return rep.Skip(name, "too short")
	}
	s := ngram.Score{Name: name, Label: digit, Speaker: speaker, Grouped: named, Samples: n, Nats: nats}
	if tri != nil {
		if s.TrigramBits, err = tri.SuffixBits(codes, from); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return rep.Add(s)
}

// recordingCodes reads the WAV file name and turns it into the model's
// codes and, for a vocoder, mel frames: processed as the model's training
// audio was, or only resampled with raw (wavenet.Config.RecordingInput).
func recordingCodes(name string, cfg wavenet.Config, raw bool) ([]int32, []float32, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	clip, err := audio.DecodeMono(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	codes, mels, err := cfg.RecordingInput(clip.Samples, clip.Format.SampleRate, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return codes, mels, nil
}
