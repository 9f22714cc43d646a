package listening

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/internal/plots"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/synth"
)

// VocoderOptions configures MakeVocoder.
type VocoderOptions struct {
	// Out is the output directory: created; existing files of the same
	// names are replaced.
	Out string
	// Data is the directory of FSDD-named recordings (WAV or FLAC,
	// {digit}_{speaker}_{index}): those whose index is in ValLo..ValHi
	// are copied; ValIndex is that range as the user wrote it.
	Data         string
	ValLo, ValHi int
	ValIndex     string
	// Recordings, when not nil, are the recordings to choose from instead
	// of those of Data (Name, Path, and Digit and Speaker where known):
	// a corpus of any layout, listed by the caller.
	Recordings []*Copy
	// Max limits the number of recordings (0: all). They are chosen in a
	// fixed order that spreads them over speakers and digits: the first
	// recording of (speaker s, digit (j+s) mod 10) for j = 0, 1, ...,
	// speakers in sorted order, then the second of each pair, and so on.
	Max int
	// Seed is the seed of every WaveNet and Griffin-Lim request.
	Seed uint64
	// Temperature is the WaveNet's sampling temperature (nil: the
	// engine's default, 1).
	Temperature *float64
	// FSDD, when not "", is the directory of the classifier's validation
	// recordings (indices ValLo..ValHi; the MFCC classifier trains on the
	// rest), which then gives its verdicts on the three versions of each
	// recording.
	FSDD string
	// Judge names the classifier, as Options.Judge.
	Judge string
	// Streams is the number of recordings vocoded together (0: 8).
	Streams int
	// Report receives a short summary (nil: discarded).
	Report io.Writer
	// Progress, when not nil, is called with the number of recordings
	// done so far (0 first), one goroutine at a time.
	Progress func(done, total int)
}

// Version is one of the three versions of a recording.
type Version int

// The versions of a recording, in the order of the files and the
// spectrogram panels.
const (
	Original   Version = iota // the recording as the vocoder saw it
	WaveNet                   // the model's copy synthesis
	GriffinLim                // Griffin-Lim from the same mels
	numVersions
)

// suffix is the version's part of the file names.
func (v Version) suffix() string { return [...]string{"original", "wavenet", "griffinlim"}[v] }

// String is the version's title.
func (v Version) String() string { return [...]string{"original", "WaveNet", "Griffin-Lim"}[v] }

// Copy is one recording and its copy syntheses.
type Copy struct {
	// Name is the recording's base name without extension; the files are
	// Name.original.wav, Name.wavenet.wav, Name.griffinlim.wav and
	// Name.png in the output directory.
	Name           string
	Path           string // the input file
	Digit, Speaker string // from the file name
	// Audio holds each version at the model's rate.
	Audio [numVersions][]float32
	// MCD is each version's mel-cepstral distortion against the original
	// (dB, aligned by time; MCD[Original] is 0).
	MCD [numVersions]float64
	// Heard is the classifier's verdict on each version, HeardErr why a
	// version has none (both zero without a classifier).
	Heard    [numVersions]classify.Prediction
	HeardErr [numVersions]error
}

// File is the output file name of version v of c.
func (c *Copy) File(v Version) string { return c.Name + "." + v.suffix() + ".wav" }

// PNG is the output file name of c's spectrograms.
func (c *Copy) PNG() string { return c.Name + ".png" }

// VocoderResult is what MakeVocoder made.
type VocoderResult struct {
	Copies []*Copy
	// MeanMCD and MedianMCD are over the copies, per version.
	MeanMCD, MedianMCD [numVersions]float64
	// Heard counts the classifier's verdicts per version (zero without a
	// classifier); Validation is its result on FSDD's validation
	// recordings, Judge the classifier.
	Heard      [numVersions]Counts
	Validation *classify.Report
	Judge      *Judge
}

// ErrNotVocoder is returned by MakeVocoder for a model without local
// conditioning.
var ErrNotVocoder = errors.New("listening: samples --vocoder needs a vocoder: a model trained with --local mel")

// MakeVocoder writes copy-synthesis listening pairs of vocoder b to o.Out:
// for each recording of o.Data in the validation range, the original at
// the model's rate and level (as synth.RecordingMels prepares it), the
// WaveNet vocoder's copy synthesis and Griffin-Lim from the same mels,
// with one PNG of their spectrograms stacked, then index.md with the MCD
// of each against the original and, with o.FSDD, the classifier's
// verdicts.
func MakeVocoder(ctx context.Context, b *synth.Bundle, o VocoderOptions) (*VocoderResult, error) {
	cfg := b.Model.Config
	if cfg.Local == nil {
		return nil, ErrNotVocoder
	}
	if cfg.Local.Mel == nil {
		return nil, fmt.Errorf("listening: the vocoder records no mel parameters, so its frames cannot be computed from a recording")
	}
	report := o.Report
	if report == nil {
		report = io.Discard
	}
	copies, err := o.inputs()
	if err != nil {
		return nil, err
	}
	r := &VocoderResult{Copies: copies}
	var clf classify.Judge
	if o.FSDD != "" {
		lo := Options{FSDD: o.FSDD, ValLo: o.ValLo, ValHi: o.ValHi, ValIndex: o.ValIndex, Judge: o.Judge}
		c, res, err := lo.classifier(ctx)
		if err != nil {
			return nil, err
		}
		clf, r.Validation, r.Judge = c, res.Validation, c
	}
	for _, c := range r.Copies {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := readOriginal(c, b); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	if err := o.vocode(ctx, b, r.Copies); err != nil {
		return nil, err
	}
	rate := cfg.SampleRate
	for _, c := range r.Copies {
		if err := o.judgeCopy(clf, c, rate); err != nil {
			return nil, err
		}
	}
	r.summarize(clf != nil)
	if err := writeFile(filepath.Join(o.Out, "index.md"), []byte(r.index(o, rate))); err != nil {
		return nil, err
	}
	for _, v := range []Version{WaveNet, GriffinLim} {
		fmt.Fprintf(report, "%-11s MCD against the originals: mean %.2f dB, median %.2f dB", v, r.MeanMCD[v], r.MedianMCD[v])
		if clf != nil {
			fmt.Fprintf(report, "; digit recognised %d/%d, speaker %d/%d", r.Heard[v].DigitOK, r.Heard[v].N, r.Heard[v].SpeakerOK, r.Heard[v].N)
		}
		fmt.Fprintln(report)
	}
	if clf != nil {
		h := r.Heard[Original]
		fmt.Fprintf(report, "%-11s digit recognised %d/%d, speaker %d/%d\n", Original, h.DigitOK, h.N, h.SpeakerOK, h.N)
	}
	fmt.Fprintf(report, "wrote %d copy-synthesis triples, index.md to %s\n", len(r.Copies), o.Out)
	return r, nil
}

// inputs lists the recordings of o.Data in the validation range (or
// o.Recordings), at most o.Max of them in the order VocoderOptions.Max
// describes.
func (o *VocoderOptions) inputs() ([]*Copy, error) {
	recs := o.Recordings
	if recs == nil {
		ents, err := os.ReadDir(o.Data)
		if err != nil {
			return nil, fmt.Errorf("listening: recordings: %w", err)
		}
		keep := classify.IndexIn(o.ValLo, o.ValHi, true)
		for _, e := range ents { // sorted by name
			d, s, rest, ok := classify.ParseAudioName(e.Name())
			if !e.IsDir() && ok && keep(rest) {
				stem := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
				recs = append(recs, &Copy{Name: stem, Path: filepath.Join(o.Data, e.Name()), Digit: d, Speaker: s})
			}
		}
		if len(recs) == 0 {
			return nil, fmt.Errorf("listening: %s has no WAV or FLAC recordings named {digit}_{speaker}_{index} with an index in %s", o.Data, o.ValIndex)
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("listening: no recordings to copy")
	}
	type pair struct{ speaker, digit string }
	byPair := map[pair][]*Copy{}
	speakerSet, digitSet := map[string]bool{}, map[string]bool{}
	for _, c := range recs {
		p := pair{c.Speaker, c.Digit}
		byPair[p] = append(byPair[p], c)
		speakerSet[c.Speaker], digitSet[c.Digit] = true, true
	}
	speakers, digits := slices.Sorted(maps.Keys(speakerSet)), slices.Sorted(maps.Keys(digitSet))
	var out []*Copy
	for round := 0; ; round++ {
		more := false
		for j := range digits {
			for si, s := range speakers {
				files := byPair[pair{s, digits[(j+si)%len(digits)]}]
				if round >= len(files) {
					continue
				}
				more = true
				if o.Max > 0 && len(out) == o.Max {
					return out, nil
				}
				out = append(out, files[round])
			}
		}
		if !more {
			return out, nil
		}
	}
}

// readOriginal reads c's recording and prepares it as the vocoder sees
// it (synth.CopyAudio).
func readOriginal(c *Copy, b *synth.Bundle) error {
	f, err := os.Open(c.Path)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	defer f.Close()
	clip, err := audio.DecodeAny(f)
	if err != nil {
		return fmt.Errorf("listening: %s: %w", c.Path, err)
	}
	x, err := synth.CopyAudio(b.Model.Config, clip.Mono(nil), clip.Format.SampleRate)
	if err != nil {
		return fmt.Errorf("listening: %s: %w", c.Path, err)
	}
	c.Audio[Original] = x
	return nil
}

// vocode computes each copy's mels once and vocodes them with both
// methods on one engine, o.Streams WaveNet requests at a time (Griffin-Lim
// one at a time: the engine bounds those requests by the cores).
func (o *VocoderOptions) vocode(ctx context.Context, b *synth.Bundle, copies []*Copy) error {
	streams := o.Streams
	if streams <= 0 {
		streams = 8
	}
	e, err := newEngine(b, streams, len(copies))
	if err != nil {
		return err
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var glMu sync.Mutex
	progress := counter(o.Progress, len(copies))
	errs := make([]error, len(copies))
	sem := make(chan struct{}, streams)
	var wg sync.WaitGroup
	for i, c := range copies {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = vocodeCopy(ctx, e, b, c, *o, &glMu)
			if errs[i] != nil {
				cancel()
				return
			}
			progress()
		}()
	}
	wg.Wait()
	for _, err := range errs { // the first cause, not the cancellations it caused
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// vocodeCopy vocodes the mels of c's original with WaveNet and, holding
// gl, Griffin-Lim.
func vocodeCopy(ctx context.Context, e *synth.Engine, b *synth.Bundle, c *Copy, o VocoderOptions, gl *sync.Mutex) error {
	seed := o.Seed
	mels, err := synth.RecordingMels(models.ID, b.Model.Config, c.Audio[Original], b.Model.Config.SampleRate)
	if err != nil {
		return fmt.Errorf("listening: %s: %w", c.Path, err)
	}
	for _, v := range []Version{WaveNet, GriffinLim} {
		req := &synth.Request{Mels: mels, Seed: &seed, Method: synth.MethodWaveNet, Temperature: o.Temperature}
		if v == GriffinLim {
			req.Method = synth.MethodGriffinLim
			gl.Lock()
		}
		syn, err := e.Start(ctx, req)
		if v == GriffinLim {
			gl.Unlock()
		}
		if err == nil {
			c.Audio[v], err = syn.Audio()
			syn.Close()
		}
		if err != nil {
			return fmt.Errorf("listening: %s: %s: %w", c.Path, v, err)
		}
	}
	return nil
}

// judgeCopy computes c's MCDs and verdicts (with clf) and writes its
// WAVs and PNG.
func (o *VocoderOptions) judgeCopy(clf classify.Judge, c *Copy, rate int) error {
	var specs [numVersions]plots.Spectrogram
	for v := range numVersions {
		x := c.Audio[v]
		if v != Original {
			m, err := audio.MCD(c.Audio[Original], rate, x, rate, audio.MCDConfig{})
			if err != nil {
				return fmt.Errorf("listening: %s: %w", c.File(v), err)
			}
			c.MCD[v] = m.DB
		}
		if clf != nil {
			c.Heard[v], c.HeardErr[v] = predictAt(clf, x, rate)
		}
		var buf bytes.Buffer
		if err := audio.Encode(&buf, x, rate, audio.PCM16); err != nil {
			return fmt.Errorf("listening: %s: %w", c.File(v), err)
		}
		if err := writeFile(filepath.Join(o.Out, c.File(v)), buf.Bytes()); err != nil {
			return err
		}
		var err error
		if specs[v], err = spectrogram(x, rate, fmt.Sprintf("%s: %s", c.Name, v)); err != nil {
			return fmt.Errorf("listening: %s: %w", c.PNG(), err)
		}
	}
	// One colour scale for the three: 80 dB below the loudest cell of
	// any (spectrogram's range), so that levels compare.
	hi := math.Inf(-1)
	for _, sp := range specs {
		hi = math.Max(hi, sp.Max)
	}
	var pngs [numVersions][]byte
	for v := range numVersions {
		var buf bytes.Buffer
		specs[v].Min, specs[v].Max = hi-(specs[v].Max-specs[v].Min), hi
		if err := specs[v].WritePNG(&buf); err != nil {
			return fmt.Errorf("listening: %s: %w", c.PNG(), err)
		}
		pngs[v] = buf.Bytes()
	}
	img, err := stackPNGs(pngs[:])
	if err != nil {
		return fmt.Errorf("listening: %s: %w", c.PNG(), err)
	}
	return writeFile(filepath.Join(o.Out, c.PNG()), img)
}

// stackPNGs returns one PNG with the paletted images pngs (as
// spectrogramPNG draws them, all with one palette) one above the other.
func stackPNGs(pngs [][]byte) ([]byte, error) {
	var imgs []*image.Paletted
	w, h := 0, 0
	for _, b := range pngs {
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		p, ok := img.(*image.Paletted)
		if !ok {
			return nil, fmt.Errorf("spectrogram image is %T, want a paletted image", img)
		}
		imgs = append(imgs, p)
		w, h = max(w, p.Rect.Dx()), h+p.Rect.Dy()
	}
	out := image.NewPaletted(image.Rect(0, 0, w, h), imgs[0].Palette)
	y := 0
	for _, p := range imgs {
		for r := range p.Rect.Dy() {
			src := p.Pix[r*p.Stride : r*p.Stride+p.Rect.Dx()]
			copy(out.Pix[(y+r)*out.Stride:], src)
		}
		y += p.Rect.Dy()
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// summarize fills in the means, medians and (with judged) the counts.
func (r *VocoderResult) summarize(judged bool) {
	for v := range numVersions {
		xs := make([]float64, len(r.Copies))
		for i, c := range r.Copies {
			xs[i] = c.MCD[v]
			if !judged || c.HeardErr[v] != nil {
				continue
			}
			r.Heard[v].N++
			if c.Heard[v].Digit == c.Digit {
				r.Heard[v].DigitOK++
			}
			if c.Heard[v].Speaker == c.Speaker {
				r.Heard[v].SpeakerOK++
			}
		}
		r.MeanMCD[v], r.MedianMCD[v] = meanMedian(xs)
	}
}

// meanMedian returns the mean and median of xs (NaN for none).
func meanMedian(xs []float64) (mean, median float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	for _, x := range s {
		mean += x
	}
	mean /= float64(len(s))
	median = s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return mean, median
}

// index is index.md: what was done, one row per copy, the means and
// medians at the bottom.
func (r *VocoderResult) index(o VocoderOptions, rate int) string {
	var s strings.Builder
	fmt.Fprintf(&s, "# Copy synthesis: WaveNet vocoder and Griffin-Lim\n\n")
	fmt.Fprintf(&s, "%d recordings of `%s` (FSDD indices %s), each as the vocoder saw it (resampled to %d Hz, level-normalised as in training), "+
		"its WaveNet copy synthesis and Griffin-Lim from the same mel frames, seed %d. "+
		"MCD is the mel-cepstral distortion against the original (MFCC c1-c12 of 26 mel filters, 25 ms frames every 10 ms, aligned by time, as `wavenet eval --reference`); lower is closer.\n\n",
		len(r.Copies), o.Data, o.ValIndex, rate, o.Seed)
	judged := r.Validation != nil
	if judged {
		fmt.Fprintf(&s, "Verdicts are the classifier's (%s, %s; on the %d validation recordings of `%s` it recognises %.1f%% of digits, %.1f%% of speakers): heard digit / speaker, ✓ when right.\n\n",
			r.Judge.Name(), r.Judge.Origin, r.Validation.Files, o.FSDD, 100*r.Validation.DigitAccuracy(), 100*r.Validation.SpeakerAccuracy())
		s.WriteString("| file | MCD WaveNet (dB) | MCD Griffin-Lim (dB) | original heard | WaveNet heard | Griffin-Lim heard | listen | spectrograms |\n")
		s.WriteString("|---|---:|---:|---|---|---|---|---|\n")
	} else {
		s.WriteString("| file | MCD WaveNet (dB) | MCD Griffin-Lim (dB) | listen | spectrograms |\n")
		s.WriteString("|---|---:|---:|---|---|\n")
	}
	for _, c := range r.Copies {
		fmt.Fprintf(&s, "| %s | %.2f | %.2f |", c.Name, c.MCD[WaveNet], c.MCD[GriffinLim])
		if judged {
			for v := range numVersions {
				fmt.Fprintf(&s, " %s |", c.verdict(v))
			}
		}
		fmt.Fprintf(&s, " [original](%s) · [WaveNet](%s) · [Griffin-Lim](%s) | [png](%s) |\n",
			c.File(Original), c.File(WaveNet), c.File(GriffinLim), c.PNG())
	}
	fmt.Fprintf(&s, "\n| method | mean MCD (dB) | median MCD (dB) |")
	if judged {
		s.WriteString(" digit recognised | speaker recognised |\n|---|---:|---:|---:|---:|\n")
	} else {
		s.WriteString("\n|---|---:|---:|\n")
	}
	for v := range numVersions {
		if v == Original && !judged {
			continue
		}
		mean, median := fmt.Sprintf("%.2f", r.MeanMCD[v]), fmt.Sprintf("%.2f", r.MedianMCD[v])
		if v == Original {
			mean, median = "–", "–"
		}
		fmt.Fprintf(&s, "| %s | %s | %s |", v, mean, median)
		if judged {
			h := r.Heard[v]
			fmt.Fprintf(&s, " %d/%d (%.0f%%) | %d/%d (%.0f%%) |", h.DigitOK, h.N, 100*h.DigitRate(), h.SpeakerOK, h.N, 100*h.SpeakerRate())
		}
		s.WriteString("\n")
	}
	return s.String()
}

// verdict is the classifier's verdict on version v of c for index.md.
func (c *Copy) verdict(v Version) string {
	if err := c.HeardErr[v]; err != nil {
		return "none: " + strings.ReplaceAll(err.Error(), "|", "/")
	}
	mark := func(ok bool) string {
		if ok {
			return " ✓"
		}
		return " ✗"
	}
	h := c.Heard[v]
	return h.Digit + mark(h.Digit == c.Digit) + " / " + h.Speaker + mark(h.Speaker == c.Speaker)
}
