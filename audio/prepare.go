package audio

import (
	"fmt"
	"math"
)

// Defaults of Preprocess's zero fields.
const (
	DefaultTrimDB      = -60.0 // frame RMS below this is always silence (dBFS)
	DefaultTrimRelDB   = 30.0  // frames this far below a recording's loudest frame are silence
	DefaultFrameMS     = 20.0  // frame length for trimming and silence statistics
	DefaultNormalizeDB = -1.0  // peak level after normalisation (dBFS)
)

// Preprocess says how a recording is processed before it is mu-law
// encoded: the way a model's training corpus was processed, so that a
// recording scored under the model is what the model was trained on. A
// model's config records it (wavenet.Config.Preprocess); the JSON names
// are those of that record. Zero numeric fields take the Default
// constants.
type Preprocess struct {
	// RemoveDC subtracts the recording's mean before anything else.
	RemoveDC bool `json:"remove_dc,omitempty"`
	// Trim removes leading and trailing frames of FrameMS that are
	// silent: RMS level below TrimDB (dBFS), or more than TrimRelDB below
	// the recording's loudest frame (a negative TrimRelDB turns the
	// relative rule off).
	Trim      bool    `json:"trim"`
	TrimDB    float64 `json:"trim_db,omitempty"`
	TrimRelDB float64 `json:"trim_rel_db,omitempty"`
	FrameMS   float64 `json:"frame_ms,omitempty"`
	// Normalize scales the recording so that its peak is at NormalizeDB
	// dBFS, after trimming and resampling.
	Normalize   bool    `json:"normalize"`
	NormalizeDB float64 `json:"normalize_db,omitempty"`
}

// WithDefaults returns p with its zero numeric fields set to the defaults.
func (p Preprocess) WithDefaults() Preprocess {
	if p.TrimDB == 0 {
		p.TrimDB = DefaultTrimDB
	}
	if p.TrimRelDB == 0 {
		p.TrimRelDB = DefaultTrimRelDB
	}
	if p.FrameMS == 0 {
		p.FrameMS = DefaultFrameMS
	}
	if p.NormalizeDB == 0 {
		p.NormalizeDB = DefaultNormalizeDB
	}
	return p
}

// String describes p in a few words ("trimmed, normalised to -1 dBFS").
func (p Preprocess) String() string {
	p = p.WithDefaults()
	s := "untrimmed"
	if p.Trim {
		s = fmt.Sprintf("trimmed (%g ms frames below %g dBFS or %g dB under the loudest)", p.FrameMS, p.TrimDB, p.TrimRelDB)
	}
	if p.Normalize {
		s += fmt.Sprintf(", peak normalised to %g dBFS", p.NormalizeDB)
	}
	if p.RemoveDC {
		s = "DC removed, " + s
	}
	return s
}

// SilenceThreshold is the level in dBFS below which a frame of x (at rate
// Hz) is silent under p: TrimDB, raised to TrimRelDB below the loudest
// frame when the relative rule is on.
func (p Preprocess) SilenceThreshold(x []float32, rate int) float64 {
	p = p.WithDefaults()
	thr := p.TrimDB
	if p.TrimRelDB > 0 {
		thr = math.Max(thr, LoudestFrameDB(x, rate, p.FrameMS)-p.TrimRelDB)
	}
	return thr
}

// Apply processes the mono recording x at rate Hz as p says and returns it
// at toRate Hz (0: rate): DC removal, trimming, resampling, normalisation,
// in that order. x is modified in place where possible. A recording that
// trimming leaves empty comes back empty (the caller decides whether that
// is an error).
func (p Preprocess) Apply(x []float32, rate, toRate int) ([]float32, error) {
	p = p.WithDefaults()
	if p.FrameMS < 0 {
		return nil, fmt.Errorf("audio: preprocess: frame length %g ms, want a positive length", p.FrameMS)
	}
	if p.RemoveDC {
		RemoveDC(x)
	}
	if p.Trim {
		a, b := Trim(x, rate, p.SilenceThreshold(x, rate), p.FrameMS)
		x = x[a:b]
	}
	if len(x) == 0 {
		return x, nil
	}
	if toRate != 0 && toRate != rate {
		var err error
		if x, err = Resample(nil, x, rate, toRate); err != nil {
			return nil, err
		}
	}
	if p.Normalize {
		Normalize(x, p.NormalizeDB)
	}
	return x, nil
}
