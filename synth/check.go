package synth

import "context"

// Check plans req as Start would, without admitting or starting it, and
// returns Start's error for a request that cannot run. A MelStream
// request is planned as if its stream began with one frame of zeros and
// nothing is read from it, so that a caller can refuse bad parameters
// before it reads a streamed body.
func (e *Engine) Check(ctx context.Context, req *Request) error {
	if e.draining.Load() {
		return ErrShutdown
	}
	r := *req
	if r.MelStream != nil {
		m, err := e.pickModel(ctx, r.Model)
		if err != nil {
			return err
		}
		if lc := m.b.Model.Config.Local; lc != nil {
			r.streamFirst = [][]float32{make([]float32, lc.Channels)}
		}
	}
	_, err := e.plan(ctx, &r)
	return err
}
