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
// pushed at once (Model.Upsample is one Push). It keeps the last Width-1
// input rows of every upsampling layer. It is not safe for concurrent use.
type Upsampler struct {
	m    *Model
	hist [][]float32 // per layer: the last Width-1 input rows, (Width-1, C), oldest first
	buf  [2][]float32
}

// NewUpsampler returns an upsampler at time 0 (no frame pushed). It
// returns a *LocalError if the model has no local conditioning.
func (m *Model) NewUpsampler() (*Upsampler, error) {
	lc := m.Config.Local
	if lc == nil {
		return nil, &LocalError{Msg: "the model has none"}
	}
	u := &Upsampler{m: m}
	for range m.Up {
		u.hist = append(u.hist, make([]float32, (lc.Width-1)*lc.Channels))
	}
	return u, nil
}

// Reset returns the upsampler to time 0.
func (u *Upsampler) Reset() {
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
	in := frames
	for i, ly := range u.m.Up {
		n := len(in) / C
		out := &u.buf[i%2]
		if i == len(u.m.Up)-1 {
			start := len(dst)
			dst = append(dst, make([]float32, n*ly.Scale*C)...)
			upLayer(dst[start:], in, u.hist[i], ly, C)
			return dst, nil
		}
		*out = grow(*out, n*ly.Scale*C)
		upLayer(*out, in, u.hist[i], ly, C)
		in = *out
	}
	return dst, nil
}

// upLayer computes the n*Scale output rows of layer ly for the n input rows
// in (C each), with hist the Width-1 rows before them, which it then
// advances. Every output is the same sequence of kernel.Dot calls however
// the rows are split between calls.
func upLayer(out, in, hist []float32, ly UpLayer, C int) {
	n, s, W := len(in)/C, ly.Scale, ly.Width
	taps := W * s
	h := len(hist) / C             // W-1
	row := func(j int) []float32 { // input row j, j >= -h
		if j < 0 {
			return hist[(h+j)*C : (h+j+1)*C]
		}
		return in[j*C : (j+1)*C]
	}
	for j := 0; j < n; j++ {
		for r := 0; r < s; r++ {
			o := out[(j*s+r)*C : (j*s+r+1)*C]
			for co := range o {
				var sum float32
				for m := 0; m < W; m++ {
					k := m*s + r
					sum += kernel.Dot(ly.W[(co*taps+k)*C:(co*taps+k+1)*C], row(j-m))
				}
				o[co] = sum
			}
		}
	}
	// The new history: the last h rows of hist followed by in.
	if h == 0 {
		return
	}
	if n >= h {
		copy(hist, in[(n-h)*C:])
		return
	}
	copy(hist, hist[n*C:])
	copy(hist[(h-n)*C:], in)
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
