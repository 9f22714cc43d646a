package retrain

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// DistillOptions configure Distill.
type DistillOptions struct {
	Options
	// Temperature T softens both distributions (default 2).
	Temperature float64
	// Alpha weighs the soft loss: alpha T^2 KL + (1 - alpha) CE. 0 trains
	// the student from scratch on the hard targets alone (the baseline);
	// 1 on the teacher alone. A nil Alpha means 0.5.
	Alpha *float64
}

// DistillLoss is Hinton et al.'s loss on plain slices, the reference of
// Distill's graph: alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T))
// + (1 - alpha) * CE(student, targets), both means over the n rows of
// logits (n, q).
func DistillLoss(student, teacher []float32, targets []int32, q int, temperature, alpha float64) (float64, error) {
	kl := nn.KLTemperature(student, teacher, q, temperature)
	ce, err := nn.SoftmaxCEForward(student, targets, q, 1, 0)
	if err != nil {
		return 0, err
	}
	return alpha*kl + (1-alpha)*ce, nil
}

// distillHead is the train.LossHead of the distillation loss: the teacher's
// logits are an input node over buf, refilled before every run.
func distillHead(buf []float32, q int, temperature, alpha float64) train.LossHead {
	return func(g *gorgonia.ExprGraph, logits *gorgonia.Node, targets []int32, seqs int) (*gorgonia.Node, gorgonia.Nodes, error) {
		rows := len(buf) / q
		tv := tensor.New(tensor.WithShape(rows, q), tensor.WithBacking(buf))
		teacher := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(rows, q), gorgonia.WithName("teacher.logits"), gorgonia.WithValue(tv))
		ce, err := nn.SoftmaxCE(logits, targets, seqs, 0)
		if err != nil {
			return nil, nil, err
		}
		if alpha == 0 {
			return ce, gorgonia.Nodes{teacher}, nil
		}
		kl, err := nn.KLDivTemperature(logits, teacher, temperature)
		if err != nil {
			return nil, nil, err
		}
		if alpha == 1 {
			return kl, gorgonia.Nodes{teacher}, nil
		}
		a := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("alpha"), gorgonia.WithValue(float32(alpha)))
		b := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("1-alpha"), gorgonia.WithValue(float32(1-alpha)))
		soft, err := gorgonia.Mul(a, kl)
		if err != nil {
			return nil, nil, err
		}
		hard, err := gorgonia.Mul(b, ce)
		if err != nil {
			return nil, nil, err
		}
		loss, err := gorgonia.Add(soft, hard)
		if err != nil {
			return nil, nil, err
		}
		return loss, gorgonia.Nodes{teacher, a, b}, nil
	}
}

// Distill trains student on utts for opts.Steps Adam steps with the loss
// alpha T^2 KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) CE
// (Hinton et al. 2015, section 2: the T^2 keeps the soft gradients'
// magnitude when T changes). The teacher is fixed: its logits come from
// teacher.Forward (pure Go, no gradient) on the same sequences. Teacher
// and student must share the quantization levels and conditions; each
// sequence carries the larger receptive field of the two as context. It
// returns the student's validation curve on opts.Val.
func Distill(ctx context.Context, student, teacher *wavenet.Model, utts []*corpus.Utterance, opts DistillOptions) ([]Point, error) {
	opts.defaults(1e-3)
	T := opts.Temperature
	if T == 0 {
		T = 2
	}
	alpha := 0.5
	if opts.Alpha != nil {
		alpha = *opts.Alpha
	}
	if !(T > 0) || !(alpha >= 0 && alpha <= 1) {
		return nil, fmt.Errorf("retrain: distill: temperature %v and alpha %v, want T > 0 and alpha in [0, 1]", T, alpha)
	}
	sc, tc := student.Config, teacher.Config
	if sc.QuantizationChannels != tc.QuantizationChannels || !slices.EqualFunc(sc.Conditions, tc.Conditions, func(a, b wavenet.Condition) bool {
		return a.Name == b.Name && slices.Equal(a.Values, b.Values)
	}) {
		return nil, fmt.Errorf("retrain: distill: teacher and student differ in quantization levels (%d, %d) or conditions",
			tc.QuantizationChannels, sc.QuantizationChannels)
	}
	if err := sameLocal(sc.Local, tc.Local); err != nil {
		return nil, err
	}
	o := opts.Options
	bt, err := newBatches(student, utts, &o)
	if err != nil {
		return nil, err
	}
	bt.pad = max(sc.ReceptiveField(), tc.ReceptiveField()) - 1
	Q, L, R := sc.QuantizationChannels, bt.pad+o.Segment, o.Segment
	buf := make([]float32, o.Batch*R*Q)
	gr, err := train.NewGraphLoss(student, o.Batch, L, R, distillHead(buf, Q, T, alpha))
	if err != nil {
		return nil, err
	}
	defer gr.Close()
	var params []nn.Param
	var zeros [][]float32 // gradients of parameters outside the loss
	for _, p := range student.Params() {
		params = append(params, nn.Param{Name: p.Name, Value: p.Data})
		zeros = append(zeros, make([]float32, len(p.Data)))
	}
	opt := nn.NewAdam(0.9, 0.999, 1e-8, 0)
	tbuf := make([][]float32, o.Batch)
	vt := &curveTracker{m: student, val: o.Val, workers: o.Workers}
	if err := vt.validate(ctx, 0); err != nil {
		return nil, err
	}
	for step := 1; step <= o.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return vt.curve, err
		}
		bt.next()
		if alpha > 0 {
			// The teacher's logits of the loss rows, sequences in parallel.
			errs := make([]error, o.Batch)
			var wg sync.WaitGroup
			sem := make(chan struct{}, o.Workers)
			for b := range bt.segs {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					tbuf[b], errs[b] = bt.teacherLogits(ctx, teacher, tbuf[b], b, L)
					if errs[b] == nil {
						copy(buf[b*R*Q:(b+1)*R*Q], tbuf[b][(L-R)*Q:L*Q])
					}
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					return vt.curve, fmt.Errorf("retrain: distill: teacher: %w", err)
				}
			}
		}
		if err := gr.SetBatch(bt.segs, bt.conds); err != nil {
			return vt.curve, err
		}
		if bt.local != nil {
			if err := gr.SetLocal(bt.mels, bt.offs); err != nil {
				return vt.curve, err
			}
		}
		loss, err := gr.Run()
		if err != nil {
			return vt.curve, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return vt.curve, fmt.Errorf("retrain: distill: step %d: loss is %v (diverged; lower the learning rate)", step, loss)
		}
		grads, err := gr.Grads()
		if err != nil {
			return vt.curve, err
		}
		for i := range params {
			params[i].Grad = grads[i]
			if params[i].Grad == nil {
				params[i].Grad = zeros[i]
			}
		}
		if o.ClipNorm > 0 {
			nn.ClipGlobalNorm(params, o.ClipNorm)
		}
		if err := opt.Step(params, o.LR); err != nil {
			return vt.curve, fmt.Errorf("retrain: %w", err)
		}
		if err := gr.ZeroGrads(); err != nil {
			return vt.curve, err
		}
		if err := vt.after(ctx, step, loss, &o); err != nil {
			return vt.curve, err
		}
	}
	return vt.curve, nil
}

// teacherLogits returns into dst the teacher's logits of the first L
// codes of batch row b, conditioned, for a vocoder, on the rows of b's mel
// window that the student's graph uses (the upsampled window from offset
// offs[b]).
func (b *batches) teacherLogits(ctx context.Context, teacher *wavenet.Model, dst []float32, row, L int) ([]float32, error) {
	if b.local == nil {
		return teacher.Forward(ctx, dst, b.segs[row][:L], b.conds[row])
	}
	up, err := teacher.Upsample(nil, b.mels[row])
	if err != nil {
		return dst, err
	}
	C := b.local.Channels
	return teacher.ForwardLocal(ctx, dst, b.segs[row][:L], b.conds[row], up[b.offs[row]*C:(b.offs[row]+L)*C])
}

// sameLocal reports whether a student's and a teacher's local
// conditioning agree: none, or the same frames (channels, hop, mel
// parameters) upsampled alike (kind, scales, width, frequency width), so
// that one mel window conditions both.
func sameLocal(s, t *wavenet.LocalConfig) error {
	switch {
	case s == nil && t == nil:
		return nil
	case s == nil || t == nil:
		return fmt.Errorf("retrain: distill: %w", &wavenet.LocalError{Msg: "a vocoder's student must be a vocoder of the same mel frames, and a vocoder cannot teach a model without them"})
	}
	same := s.Channels == t.Channels && s.Hop == t.Hop && slices.Equal(s.Scales, t.Scales) && s.Width == t.Width &&
		s.RepeatConv() == t.RepeatConv() && s.FreqKernel() == t.FreqKernel() &&
		(s.Mel == nil) == (t.Mel == nil) && (s.Mel == nil || *s.Mel == *t.Mel)
	if !same {
		return fmt.Errorf("retrain: distill: %w", &wavenet.LocalError{Msg: fmt.Sprintf("student and teacher take different mel frames or upsampling (%+v, %+v)", *s, *t)})
	}
	return nil
}
