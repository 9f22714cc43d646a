package cnntrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/nn"
)

// Options configure Train.
type Options struct {
	// Config is the network to train: its architecture fields (Features,
	// Digits and Speakers are set by Train from the data, or copied from
	// the teacher's or Init's).
	Config classify.CNNConfig
	// Teacher, if not nil, is distilled into the student: the loss is
	// (1-Alpha) * cross-entropy on the labels + Alpha *
	// KLDivTemperature(student, teacher, Temperature), for both heads.
	Teacher     *classify.CNN
	Alpha       float64
	Temperature float64
	// Init, if not nil, is the network trained further instead of a new
	// one (Config ignored); Prune > 0 first removes that fraction of its
	// convolution and head weights by global magnitude and keeps them at
	// zero.
	Init  *classify.CNN
	Prune float64

	Epochs, Batch int
	LR            float64 // peak of the cosine schedule (warm-up: the first epoch)
	WeightDecay   float64 // Adam's L2 term
	Masking       classify.Masking
	Seed          uint64
	Workers       int
	// Out, if not "", receives the network after every epoch (written to
	// a temporary directory, then renamed: an interrupted run leaves the
	// last complete one).
	Out string
	// Progress receives one line per epoch (nil: none).
	Progress io.Writer
}

// Data is a training split and a validation split.
type Data struct {
	Train, Val []classify.Example
	ValNames   []string
}

// labels returns the sorted distinct digits and speakers of ex.
func labels(ex []classify.Example) (digits, speakers []string) {
	for _, e := range ex {
		if !slices.Contains(digits, e.Digit) {
			digits = append(digits, e.Digit)
		}
		if !slices.Contains(speakers, e.Speaker) {
			speakers = append(speakers, e.Speaker)
		}
	}
	slices.Sort(digits)
	slices.Sort(speakers)
	return digits, speakers
}

// standardise sets f's Mean and Std to each mel band's over the
// unshifted windows of ex.
func standardise(f *classify.FeatureConfig, ex []classify.Example) error {
	f.Mean, f.Std = make([]float32, f.Mel.NMels), make([]float32, f.Mel.NMels)
	for i := range f.Std {
		f.Std[i] = 1
	}
	feat, err := f.Extractor()
	if err != nil {
		return err
	}
	nm, nf := f.Mel.NMels, f.Frames()
	img := make([]float32, f.Size())
	sum, sq := make([]float64, nm), make([]float64, nm)
	n := 0
	for _, e := range ex {
		if err := feat(img, e.Samples, 0); err != nil {
			continue
		}
		n++
		for b := 0; b < nm; b++ {
			for _, v := range img[b*nf : (b+1)*nf] {
				sum[b] += float64(v)
				sq[b] += float64(v) * float64(v)
			}
		}
	}
	if n == 0 {
		return errors.New("cnntrain: every training example is silent")
	}
	cnt := float64(n * nf)
	for b := 0; b < nm; b++ {
		mean := sum[b] / cnt
		f.Mean[b] = float32(mean)
		f.Std[b] = float32(math.Sqrt(max(sq[b]/cnt-mean*mean, 1e-6)))
	}
	return nil
}

// lossGraph computes the loss of a batch of logits and its gradient with
// respect to them, on gorgonia through nn's losses.
type lossGraph struct {
	m              *nn.Machine
	sd, ss, yd, ys []float32 // student logits and one-hot labels
	td, ts         []float32 // teacher logits (distillation only)
}

func matrix(g *gorgonia.ExprGraph, name string, rows, cols int) (*gorgonia.Node, []float32) {
	back := make([]float32, rows*cols)
	t := tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(back))
	return gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(rows, cols), gorgonia.WithName(name), gorgonia.WithValue(t)), back
}

func newLossGraph(batch, nd, ns int, distil bool, alpha, temp float64) (*lossGraph, error) {
	g := gorgonia.NewGraph()
	l := &lossGraph{}
	sd, sdv := matrix(g, "student_digit", batch, nd)
	ss, ssv := matrix(g, "student_speaker", batch, ns)
	yd, ydv := matrix(g, "label_digit", batch, nd)
	ys, ysv := matrix(g, "label_speaker", batch, ns)
	l.sd, l.ss, l.yd, l.ys = sdv, ssv, ydv, ysv
	ceD, err := nn.SoftCrossEntropy(sd, yd)
	if err != nil {
		return nil, err
	}
	ceS, err := nn.SoftCrossEntropy(ss, ys)
	if err != nil {
		return nil, err
	}
	loss := gorgonia.Must(gorgonia.Add(ceD, ceS))
	if distil {
		td, tdv := matrix(g, "teacher_digit", batch, nd)
		ts, tsv := matrix(g, "teacher_speaker", batch, ns)
		l.td, l.ts = tdv, tsv
		klD, err := nn.KLDivTemperature(sd, td, temp)
		if err != nil {
			return nil, err
		}
		klS, err := nn.KLDivTemperature(ss, ts, temp)
		if err != nil {
			return nil, err
		}
		hard := gorgonia.Must(gorgonia.Mul(gorgonia.NewConstant(float32(1-alpha)), loss))
		soft := gorgonia.Must(gorgonia.Mul(gorgonia.NewConstant(float32(alpha)), gorgonia.Must(gorgonia.Add(klD, klS))))
		loss = gorgonia.Must(gorgonia.Add(hard, soft))
	}
	if l.m, err = nn.NewMachine(loss, []*gorgonia.Node{sd, ss}); err != nil {
		return nil, err
	}
	return l, nil
}

// run returns the loss and the gradients (digit, speaker) of the logits
// written into l.sd and l.ss.
func (l *lossGraph) run() (float64, []float32, []float32, error) {
	v, err := l.m.Run()
	if err != nil {
		return 0, nil, nil, err
	}
	p := l.m.Params()
	return v, p[0].Grad, p[1].Grad, nil
}

// Train trains a judge on d and returns it. Each epoch shuffles the
// training split, drops the last partial batch, and is reported with the
// mean loss and the validation accuracies (BatchNorm in eval mode).
// Cancelling ctx stops at the next batch and returns ctx.Err(); the last
// completed epoch is in Out.
func Train(ctx context.Context, d Data, o Options) (*classify.CNN, error) {
	if len(d.Train) < o.Batch || o.Batch < 1 || o.Epochs < 1 {
		return nil, fmt.Errorf("cnntrain: %d training examples, batch %d, %d epochs: want at least one batch and epoch", len(d.Train), o.Batch, o.Epochs)
	}
	rate := d.Train[0].Rate
	for _, e := range d.Train {
		if e.Rate != rate {
			return nil, fmt.Errorf("cnntrain: training examples at %d and %d Hz, want one rate", rate, e.Rate)
		}
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	m := o.Init
	if m == nil {
		c := o.Config
		switch {
		case o.Teacher != nil:
			c.Features, c.Digits, c.Speakers = o.Teacher.Config.Features, o.Teacher.Config.Digits, o.Teacher.Config.Speakers
		default:
			c.Features = classify.DefaultFeatures(rate)
			if err := standardise(&c.Features, d.Train); err != nil {
				return nil, err
			}
			c.Digits, c.Speakers = labels(d.Train)
		}
		var err error
		if m, err = classify.NewCNN(c, rng); err != nil {
			return nil, err
		}
	}
	if m.SampleRate() != rate {
		return nil, fmt.Errorf("cnntrain: the examples are at %d Hz, the network's features at %d Hz", rate, m.SampleRate())
	}
	cfg := m.Config
	digitOf, speakerOf := index(cfg.Digits), index(cfg.Speakers)
	var ex []classify.Example
	for _, e := range d.Train {
		_, okD := digitOf[e.Digit]
		_, okS := speakerOf[e.Speaker]
		if okD && okS {
			ex = append(ex, e)
		}
	}
	var params []nn.Param
	var prunable [][]float32
	for _, w := range m.Weights() {
		if w.Grad != nil {
			params = append(params, nn.Param{Name: w.Name, Value: w.Value, Grad: w.Grad})
			if len(w.Shape) > 1 {
				prunable = append(prunable, w.Value)
			}
		}
	}
	var masks []compress.Mask
	if o.Prune > 0 {
		var err error
		if masks, err = compress.GlobalUnstructured(prunable, compress.Fraction(o.Prune)); err != nil {
			return nil, fmt.Errorf("cnntrain: %w", err)
		}
		for i, mk := range masks {
			mk.Apply(prunable[i])
		}
	}
	nd, ns := len(cfg.Digits), len(cfg.Speakers)
	lg, err := newLossGraph(o.Batch, nd, ns, o.Teacher != nil, o.Alpha, o.Temperature)
	if err != nil {
		return nil, fmt.Errorf("cnntrain: loss: %w", err)
	}
	defer lg.m.Close()
	workers := max(1, o.Workers)
	feats := make([]func(dst, x []float32, shift int) error, workers)
	for w := range feats {
		if feats[w], err = m.Extractor(); err != nil {
			return nil, err
		}
	}
	size := cfg.Features.Size()
	x := make([]float32, o.Batch*size)
	steps := len(ex) / o.Batch
	sched := nn.CosineWarmup(o.LR, int64(steps), int64(steps*o.Epochs), 0)
	opt := nn.NewAdam(0.9, 0.999, 1e-8, o.WeightDecay)
	order := make([]int, len(ex))
	for i := range order {
		order[i] = i
	}
	seeds := make([]uint64, o.Batch)
	var step int64
	for ep := 1; ep <= o.Epochs; ep++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var sum float64
		for b := 0; b < steps; b++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			batch := order[b*o.Batch : (b+1)*o.Batch]
			for i := range seeds {
				seeds[i] = rng.Uint64()
			}
			errs := make([]error, workers)
			parallelFor(len(batch), workers, func(w, i int) {
				r := rand.New(rand.NewPCG(seeds[i], 1))
				shift := 0
				if o.Masking.Shift > 0 {
					shift = r.IntN(2*o.Masking.Shift+1) - o.Masking.Shift
				}
				img := x[i*size : (i+1)*size]
				if err := feats[w](img, ex[batch[i]].Samples, shift); err != nil {
					zeroSlice(img) // silent: the mean image
					if !errors.Is(err, classify.ErrSilent) {
						errs[w] = err
					}
				}
				o.Masking.Apply(img, cfg.Features.Mel.NMels, cfg.Features.Frames(), r)
			})
			if err := errors.Join(errs...); err != nil {
				return nil, fmt.Errorf("cnntrain: %w", err)
			}
			if o.Teacher != nil {
				td, ts := o.Teacher.Forward(x, o.Batch, false, workers, nil)
				copy(lg.td, td)
				copy(lg.ts, ts)
			}
			dl, sl := m.Forward(x, o.Batch, true, workers, rng)
			copy(lg.sd, dl)
			copy(lg.ss, sl)
			zeroSlice(lg.yd)
			zeroSlice(lg.ys)
			for i, k := range batch {
				lg.yd[i*nd+digitOf[ex[k].Digit]] = 1
				lg.ys[i*ns+speakerOf[ex[k].Speaker]] = 1
			}
			loss, gd, gs, err := lg.run()
			if err != nil {
				return nil, fmt.Errorf("cnntrain: loss: %w", err)
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, fmt.Errorf("cnntrain: epoch %d step %d: loss is %v", ep, b, loss)
			}
			sum += loss
			m.Backward(gd, gs, o.Batch, workers)
			if err := opt.Step(params, sched.LR(step)); err != nil {
				return nil, fmt.Errorf("cnntrain: %w", err)
			}
			nn.ZeroGrads(params)
			for i, mk := range masks {
				mk.Apply(prunable[i])
			}
			step++
		}
		line := fmt.Sprintf("epoch %d/%d: loss %.4f, lr %.2g, %.0f s", ep, o.Epochs, sum/float64(steps), sched.LR(step-1), time.Since(start).Seconds())
		if len(d.Val) > 0 {
			rep, err := classify.Evaluate(m, d.Val, d.ValNames)
			if err != nil {
				return nil, err
			}
			line += fmt.Sprintf("; validation %d files: digit %.2f%%, speaker %.2f%%", rep.Files, 100*rep.DigitAccuracy(), 100*rep.SpeakerAccuracy())
		}
		if o.Progress != nil {
			fmt.Fprintln(o.Progress, line)
		}
		if o.Out != "" {
			if err := saveAtomic(m, o.Out, nil); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// saveAtomic saves m to dir through a temporary sibling directory.
func saveAtomic(m *classify.CNN, dir string, q map[string]classify.Int8) error {
	tmp := filepath.Clean(dir) + ".tmp"
	os.RemoveAll(tmp)
	if err := m.Save(tmp, q); err != nil {
		return err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("cnntrain: %w", err)
	}
	return nil
}

func index(vals []string) map[string]int {
	m := make(map[string]int, len(vals))
	for i, v := range vals {
		m[v] = i
	}
	return m
}

func zeroSlice(b []float32) {
	for i := range b {
		b[i] = 0
	}
}

// parallelFor calls f(w, i) for i < n over workers goroutines.
func parallelFor(n, workers int, f func(w, i int)) {
	done := make(chan struct{}, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := w; i < n; i += workers {
				f(w, i)
			}
			done <- struct{}{}
		}()
	}
	for range workers {
		<-done
	}
}
