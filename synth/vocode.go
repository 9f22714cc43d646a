package synth

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/wavenet"
)

// planVocode plans a vocoding request to a model with local conditioning:
// one segment whose stream is conditioned on the request's mel frames,
// frames*hop samples long (for MelStream, at most maxN).
func (e *Engine) planVocode(ctx context.Context, p *plan, r *Request, opts streamOptions, maxN int) error {
	m := p.model
	cfg := m.b.Model.Config
	lc := cfg.Local
	given := 0
	for _, ok := range []bool{r.Mels != nil, r.Recording != nil, r.MelStream != nil} {
		if ok {
			given++
		}
	}
	switch {
	case given > 1:
		return badRequest("mels", "give one of mel frames, a recording or a stream of frames, not several")
	case r.Seconds != nil || r.NumSamples != nil:
		return badRequest("seconds", "a vocoder's output lasts as long as its mel frames (%d samples per frame): drop \"seconds\" and \"num_samples\"", lc.Hop)
	case len(r.Prime) > 0:
		return badRequest("prime", "a vocoder starts from its mel frames: drop the prime")
	}
	maxFrames := maxN / lc.Hop
	seg := segment{opts: opts, vocode: true, channels: lc.Channels}
	switch {
	case r.MelStream != nil && r.Method == MethodGriffinLim:
		return badRequest("method", "method %q needs all the frames at once: send \"mels\" whole, not as a stream", r.Method)
	case r.MelStream != nil && !r.streamEnded:
		// The first frames (Start waited for them) join with the stream;
		// the rest are pushed as they arrive.
		flat, err := checkMels(nil, r.streamFirst, lc.Channels, maxFrames, 0)
		if err != nil {
			return err
		}
		seg.opts.Local, seg.firstFrames = flat, len(r.streamFirst)
		seg.feed, seg.n, seg.maxFrames = r.MelStream, maxFrames*lc.Hop, maxFrames
		p.stream = true
	default:
		mels := r.Mels
		if r.MelStream != nil { // closed at once: all its frames came in one piece
			mels = r.streamFirst
			if mels == nil {
				mels = [][]float32{}
			}
			p.stream = true
		}
		if r.Recording != nil {
			var err error
			if mels, err = RecordingMels(m.id, cfg, r.Recording, r.RecordingRate); err != nil {
				return err
			}
		}
		if r.Recording != nil && len(mels) > maxFrames {
			return badRequest("audio", "the recording gives %d mel frames (%.2f s at %d Hz), more than this server's limit of %g s; send a shorter recording",
				len(mels), float64(len(mels)*lc.Hop)/float64(cfg.SampleRate), cfg.SampleRate, e.opts.MaxSeconds)
		}
		flat, err := checkMels(nil, mels, lc.Channels, maxFrames, 0)
		if err != nil {
			return err
		}
		if len(flat) == 0 {
			return badRequest("mels", "no mel frames: send at least one frame of %d values", lc.Channels)
		}
		seg.opts.Local = flat
		seg.n = len(mels) * lc.Hop
		if r.Method == MethodGriffinLim {
			if lc.Mel == nil {
				return badRequest("method", "method %q needs the model's mel parameters, which model %q does not record: use method %q", r.Method, m.id, MethodWaveNet)
			}
			if err := e.acquireDirect(ctx); err != nil {
				return err
			}
			x, err := audio.GriffinLim(flat, *lc.Mel, audio.GriffinLimOptions{Seed: p.seed})
			<-e.direct
			if err != nil {
				return fmt.Errorf("synth: %w", err)
			}
			p.direct, p.samples = x, len(x)
			return nil
		}
	}
	if seg.n == 0 {
		return badRequest("mels", "this server's limit of %g s is shorter than one mel frame (%d samples)", e.opts.MaxSeconds, lc.Hop)
	}
	p.segs = []segment{seg}
	p.samples = seg.n
	return nil
}

// checkMels appends the frames of mels (each of c values) to dst row-major
// and returns it, or a *RequestError: a frame of the wrong length, a value
// that is not finite, or more than maxFrames frames counting the before
// frames already taken.
func checkMels(dst []float32, mels [][]float32, c, maxFrames, before int) ([]float32, error) {
	if before+len(mels) > maxFrames {
		return dst, badRequest("mels", "%d mel frames are more than this server's limit of %d frames; send a shorter spectrogram (or split it)", before+len(mels), maxFrames)
	}
	for i, f := range mels {
		if len(f) != c {
			return dst, badRequest("mels", "mel frame %d has %d values; the model wants %d (n_mels): send frames x n_mels, or transpose a spectrogram stored n_mels x frames", before+i, len(f), c)
		}
		for k, v := range f {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return dst, badRequest("mels", "mel frame %d, band %d is %v; every value must be a finite number (log-mel values, e.g. log(max(mel, 1e-5)))", before+i, k, v)
			}
		}
		dst = append(dst, f...)
	}
	return dst, nil
}

// RecordingMels returns the log-mel frames of x (at rate Hz) for the
// vocoder id of config cfg, as its training computed them: x as
// CopyAudio gives it, then cfg.Local.Mel gives the frames. A vocoder
// without mel parameters (trained on frames from outside) and bad audio
// are *RequestError.
func RecordingMels(id string, cfg wavenet.Config, x []float32, rate int) ([][]float32, error) {
	var p *audio.MelParams
	if cfg.Local != nil {
		p = cfg.Local.Mel
	}
	if p == nil {
		return nil, badRequest("audio", "model %q records no mel parameters, so this server cannot compute its frames from a recording: send the mel frames instead", id)
	}
	x, err := CopyAudio(cfg, x, rate)
	if err != nil {
		return nil, err
	}
	if len(x) <= p.NFFT/2 {
		return nil, badRequest("audio", "recording of %d samples at %d Hz is too short for one mel frame: send more than %d samples (n_fft/2)", len(x), cfg.SampleRate, p.NFFT/2)
	}
	sp, err := audio.LogMel(nil, x, *p)
	if err != nil {
		return nil, fmt.Errorf("synth: mels of model %q: %w", id, err)
	}
	mels := make([][]float32, sp.Frames)
	for i := range mels {
		mels[i] = sp.Row(i)
	}
	return mels, nil
}

// CopyAudio returns the recording x (at rate Hz; 0: the model's) as a
// vocoder of config cfg hears it for copy synthesis: resampled to the
// model's rate and brought to the level its training audio had
// (cfg.Preprocessing's normalisation, and DC removal if recorded; not its
// trimming, so that the output lasts as long as the recording). x is not
// modified. Non-finite samples and unconvertible rates are *RequestError.
func CopyAudio(cfg wavenet.Config, x []float32, rate int) ([]float32, error) {
	sampleRate := cfg.SampleRate
	if rate == 0 {
		rate = sampleRate
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, badRequest("audio", "recording sample %d is %v; send finite samples", i, v)
		}
	}
	pre := cfg.Preprocessing()
	pre.Trim = false
	x, err := pre.Apply(slices.Clone(x), rate, sampleRate)
	if err != nil {
		return nil, badRequest("audio", "recording at %d Hz: %s; send audio at %d Hz", rate, strings.TrimPrefix(err.Error(), "audio: "), sampleRate)
	}
	return x, nil
}

// acquireDirect takes a place for a request computed outside the
// schedulers, bounded as the schedulers' admission is: at once when one
// is free, else waiting at most Options.QueueWait behind at most
// Options.MaxQueue others; otherwise ErrBusy (or ctx's error).
func (e *Engine) acquireDirect(ctx context.Context) error {
	select {
	case e.direct <- struct{}{}:
		return nil
	default:
	}
	if e.directWaiting.Add(1) > int64(e.opts.MaxQueue) {
		e.directWaiting.Add(-1)
		return ErrBusy
	}
	defer e.directWaiting.Add(-1)
	t := time.NewTimer(e.opts.QueueWait)
	defer t.Stop()
	select {
	case e.direct <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return ErrBusy
	}
}
