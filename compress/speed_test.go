package compress

import (
	"context"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// TestMeasureSpeed: both generators step a plain model and a vocoder (whose
// streams need mel frames pushed as they go) for the asked time, and
// report the samples they generated, all streams together.
func TestMeasureSpeed(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		local bool
	}{{"tiny", false}, {"vocoder", true}} {
		m := wavenettest.Tiny(t, 1, nil)
		if c.local {
			m = wavenettest.Vocoder(t, 1)
		}
		for _, int8 := range []bool{false, true} {
			s, err := MeasureSpeed(ctx, m, int8, 3, 5*time.Millisecond)
			if err != nil {
				t.Fatalf("%s int8=%v: %v", c.name, int8, err)
			}
			// Rounds of 64 steps of 3 streams, at least one.
			if s.Streams != 3 || s.Int8 != int8 || s.Samples < 3*64 || s.Samples%(3*64) != 0 || !(s.PerSec > 0) {
				t.Errorf("%s int8=%v: %+v, want 3 streams, a positive multiple of 192 samples, a positive rate", c.name, int8, s)
			}
		}
	}
	if _, err := MeasureSpeed(ctx, wavenettest.Vocoder(t, 1), false, 0, time.Millisecond); err == nil {
		t.Errorf("MeasureSpeed with 0 streams: no error")
	}
}
