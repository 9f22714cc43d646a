package wavenet

import (
	"context"
	"fmt"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// LocalError reports local conditioning that does not fit the model: mels
// whose length is not a whole number of frames, too few frames for the
// codes, or local conditioning given to (or missing from) a model.
type LocalError struct {
	Msg string
}

func (e *LocalError) Error() string { return "wavenet: local conditioning: " + e.Msg }

// Upsampler turns mel frames into per-sample conditioning incrementally:
// frames pushed in several calls give the same rows, bit for bit, as all
// pushed at once (Model.Upsample is one Push), on every kernel
// implementation (AVX-512, AVX2, purego): every output is one
// kernel.MatMulAddPacked chain (transposed layers) or one kernel.Axpy
// chain (repeat-conv2d layers, UpLayer.RepeatConvRows). It keeps the last
// LocalConfig.Lookback input rows of every upsampling layer. It is not
// safe for concurrent use; Fresh gives another one sharing the packed
// weights.
type Upsampler struct {
	m *Model
	// phase[i][r] is transposed layer i's kernel for output phase
	// r < Scale, packed: (C, Width*C), column m*C+ci is
	// kernel[:, m*Scale+r, ci], the weight of input row j-m for output
	// row j*Scale+r.
	phase [][]*kernel.Packed
	// fold[i] is repeat-conv2d layer i's folded kernel (UpLayer.Fold).
	fold [][]float32
	// hist holds per layer the last Lookback input rows, oldest first:
	// (Width-1, C) for a transposed layer, padded as UpLayer.PadRows
	// writes them for a repeat-conv2d one.
	hist [][]float32
	ext  []float32 // history then input rows
	taps []float32 // (n, Width*C): row j is input rows j, j-1, ..., j-Width+1
	buf  [2][]float32
}

// NewUpsampler returns an upsampler at time 0 (no frame pushed). It
// returns a *LocalError if the model has no local conditioning. It reads
// the upsampling weights as they are now: make a new one after they change.
func (m *Model) NewUpsampler() (*Upsampler, error) {
	lc := m.Config.Local
	if lc == nil {
		return nil, &LocalError{Msg: "the model has none"}
	}
	if err := m.checkUp(); err != nil {
		return nil, err
	}
	C, W := lc.Channels, lc.Width
	u := &Upsampler{m: m}
	for _, ly := range m.Up {
		if ly.FreqWidth > 0 {
			u.phase, u.fold = append(u.phase, nil), append(u.fold, ly.Fold(nil))
			continue
		}
		u.fold = append(u.fold, nil)
		s := ly.Scale
		var ps []*kernel.Packed
		for r := 0; r < s; r++ {
			w := make([]float32, C*W*C)
			for co := 0; co < C; co++ {
				for mm := 0; mm < W; mm++ {
					k := mm*s + r
					copy(w[co*W*C+mm*C:co*W*C+(mm+1)*C], ly.W[(co*W*s+k)*C:(co*W*s+k+1)*C])
				}
			}
			ps = append(ps, kernel.NewPacked(w, C, W*C))
		}
		u.phase = append(u.phase, ps)
	}
	u.Reset()
	return u, nil
}

// Fresh returns a new upsampler at time 0 with u's weights (no repacking).
func (u *Upsampler) Fresh() *Upsampler {
	f := &Upsampler{m: u.m, phase: u.phase, fold: u.fold}
	f.Reset()
	return f
}

// Reset returns the upsampler to time 0.
func (u *Upsampler) Reset() {
	lc := u.m.Config.Local
	if u.hist == nil {
		for i, ly := range u.m.Up {
			u.hist = append(u.hist, make([]float32, lc.Lookback(i)*(lc.Channels+max(ly.FreqWidth-1, 0))))
		}
	}
	for _, h := range u.hist {
		clear(h)
	}
}

// Push appends to dst the conditioning rows of frames ((F, C) row-major,
// F whole frames): F*Hop rows of C values, one per sample. It returns a
// *LocalError if len(frames) is not a multiple of C.
func (u *Upsampler) Push(dst, frames []float32) ([]float32, error) {
	C := u.m.Config.Local.Channels
	if len(frames)%C != 0 {
		return dst, &LocalError{Msg: fmt.Sprintf("%d values are not whole frames of %d channels", len(frames), C)}
	}
	if len(frames) == 0 {
		return dst, nil
	}
	in := frames
	for i, ly := range u.m.Up {
		n := len(in) / C
		var out []float32
		if i == len(u.m.Up)-1 {
			start := len(dst)
			dst = append(dst, make([]float32, n*ly.Scale*C)...)
			out = dst[start:]
		} else {
			u.buf[i%2] = grow(u.buf[i%2], n*ly.Scale*C)
			out = u.buf[i%2]
		}
		u.layer(i, out, in)
		in = out
	}
	return dst, nil
}

// layer computes the n*Scale output rows of layer i for its n input rows
// in (C each) and advances the layer's history.
func (u *Upsampler) layer(i int, out, in []float32) {
	ly, C := u.m.Up[i], u.m.Config.Local.Channels
	if u.fold[i] != nil {
		u.ext = ly.PadRows(u.ext, in, C, ly.Taps()-1)
		copy(u.ext, u.hist[i])
		ly.RepeatConvRows(out, u.ext, u.fold[i], C)
		copy(u.hist[i], u.ext[len(u.ext)-len(u.hist[i]):])
		return
	}
	n, s, W := len(in)/C, ly.Scale, ly.Width
	h := W - 1
	u.ext = append(append(u.ext[:0], u.hist[i]...), in...)
	u.taps = grow(u.taps, n*W*C)
	for j := 0; j < n; j++ {
		for m := 0; m < W; m++ {
			copy(u.taps[(j*W+m)*C:(j*W+m+1)*C], u.ext[(j+h-m)*C:])
		}
	}
	clear(out)
	for r, p := range u.phase[i] {
		kernel.MatMulAddPacked(out[r*C:], s*C, p, u.taps, W*C, n)
	}
	copy(u.hist[i], u.ext[n*C:])
}

// Upsample returns the per-sample conditioning of mels ((F, C) row-major):
// (F*Hop, C) in dst (appended to dst[:0]; nil allocates).
func (m *Model) Upsample(dst, mels []float32) ([]float32, error) {
	u, err := m.NewUpsampler()
	if err != nil {
		return dst, err
	}
	return u.Push(dst[:0], mels)
}

// checkLocal reports whether local, per-sample conditioning rows (C each),
// covers T codes of a model with local conditioning, or is nil for a model
// without.
func (m *Model) checkLocal(local []float32, T int) error {
	lc := m.Config.Local
	switch {
	case lc == nil && local != nil:
		return &LocalError{Msg: "given to a model that has none"}
	case lc == nil:
		return nil
	case local == nil:
		return &LocalError{Msg: "the model needs it (use ForwardMels, ForwardLocal or ScoreMels)"}
	case len(local)%lc.Channels != 0:
		return &LocalError{Msg: fmt.Sprintf("%d values are not whole rows of %d channels", len(local), lc.Channels)}
	case len(local)/lc.Channels < T:
		return &LocalError{Msg: fmt.Sprintf("%d rows of conditioning for %d codes", len(local)/lc.Channels, T)}
	}
	return nil
}

// ForwardLocal is Forward for a model with local conditioning: local holds
// the per-sample conditioning rows (at least T rows of C values, as
// Upsample gives), and row t of local enters the gates of row t, the
// logits of the code that follows codes[t]. (Generation feeds a go code
// first, so the code drawn at step t, output sample t, sees local row t:
// a trainer feeds codes [go, x_0, ..., x_{T-2}] to predict x_0..x_{T-1}.)
func (m *Model) ForwardLocal(ctx context.Context, dst []float32, codes []int32, cond []int, local []float32) ([]float32, error) {
	if err := m.checkLocal(local, len(codes)); err != nil {
		return dst, err
	}
	return m.forwardChecked(ctx, dst, codes, cond, local)
}

// ForwardMels is ForwardLocal with the conditioning upsampled from mels
// ((F, C) row-major, F*Hop >= len(codes)).
func (m *Model) ForwardMels(ctx context.Context, dst []float32, codes []int32, cond []int, mels []float32) ([]float32, error) {
	local, err := m.Upsample(nil, mels)
	if err != nil {
		return dst, err
	}
	return m.ForwardLocal(ctx, dst, codes, cond, local)
}

// ScoreMels is Score for a model with local conditioning: codes[t+1] is
// predicted from codes[0..t] and the row t of the upsampled mels.
func (m *Model) ScoreMels(ctx context.Context, codes []int32, cond []int, mels []float32, from int) (nats float64, n int, err error) {
	local, err := m.Upsample(nil, mels)
	if err != nil {
		return 0, 0, err
	}
	return m.score(ctx, codes, cond, local, from)
}
