package wavenet

import (
	"fmt"
	"strings"

	"github.com/wavenet-go/wavenet/audio"
)

// Config holds a WaveNet's hyperparameters. Its JSON field names follow
// ibab/tensorflow-wavenet's wavenet_params.json, so that file loads as is
// (fields this project does not use, such as scalar_input, are ignored).
// Conditions adds global conditioning: one categorical input per entry.
type Config struct {
	FilterWidth          int         `json:"filter_width"`
	SampleRate           int         `json:"sample_rate"`
	Dilations            []int       `json:"dilations"`
	ResidualChannels     int         `json:"residual_channels"`
	DilationChannels     int         `json:"dilation_channels"`
	SkipChannels         int         `json:"skip_channels"`
	QuantizationChannels int         `json:"quantization_channels"`
	UseBiases            bool        `json:"use_biases"`
	Conditions           []Condition `json:"global_conditions,omitempty"`
	// Preprocess records how the training audio was processed before it
	// was mu-law encoded (trimming, level); scoring applies the same to a
	// recording. Nil (checkpoints from before it was recorded) means
	// DefaultPreprocess, what training has always done by default.
	Preprocess *audio.Preprocess `json:"preprocess,omitempty"`
	// Local adds local conditioning (a mel spectrogram, say): nil for a
	// model without it, whose config and weights are as before.
	Local *LocalConfig `json:"local_conditioning,omitempty"`
}

// LocalConfig is the local conditioning of a WaveNet vocoder (the WaveNet
// paper, section 2.5; r9y9/wavenet_vocoder): frames of Channels values
// (mel bands), one per Hop samples, are upsampled to one vector per sample
// by a stack of causal transposed 1-D convolutions, one per entry of
// Scales, and enter every layer's gate through a 1x1 projection.
//
// Upsampling layer i (scale s, width W = Width) maps n input rows (C) to
// n*s output rows (C), with kernel (C, W*s, C) and no bias:
//
//	out[j*s + r] = Σ_{m=0..W-1} kernel[:, m*s + r, :] · in[j - m]   (r < s)
//
//	in   j-W+1 ... j-1   j           (rows before 0 are zero)
//	       \      |     /
//	out        j*s ... j*s+s-1
//
// This is PyTorch's ConvTranspose1d(C, C, W*s, stride=s, bias=False)
// with weight[ci, co, k] = kernel[co, k, ci], keeping the first n*s
// outputs: output row t depends only on input rows up to t/s, so sample
// t needs only the frames up to t/Hop, the frame covering it (no
// lookahead). Frames (F, C) -> layer 0 -> (F*s0, C) -> ... -> (F*Hop, C).
//
// With Net "repeat-conv2d" (r9y9/wavenet_vocoder's UpsampleNetwork:
// Stretch2d then Conv2d(1, 1, (FreqWidth, Width*s), bias=False), made
// causal in time), layer i repeats each input row s times and convolves
// the (time, channel) plane with one kernel w (Width*s, FreqWidth) shared
// by all channels, FreqWidth odd and centred, zero beyond the band edges:
//
//	rep[t] = in[t / s]
//	out[t, c] = Σ_{k<Width*s} Σ_{f<FreqWidth} w[k, f] · rep[t-k, c+f-FreqWidth/2]
//
// with rep zero before row 0: output row t depends only on input rows up
// to t/s, looking back at most Lookback(i) of them.
type LocalConfig struct {
	Channels int   `json:"channels"`        // C: values per frame (n_mels)
	Hop      int   `json:"hop"`             // samples per frame: the product of Scales
	Scales   []int `json:"upsample_scales"` // the upsampling factor of each layer
	Width    int   `json:"upsample_width"`  // input rows each output row sees per layer (kernel Width*scale)
	// Net is the kind of upsampling layer: UpsampleTransposed (also "",
	// what configs from before it was recorded mean) or UpsampleRepeatConv2D.
	Net string `json:"upsample_net,omitempty"`
	// FreqWidth is the frequency width of a repeat-conv2d kernel, odd (0
	// means DefaultFreqWidth); unset for transposed layers.
	FreqWidth int `json:"upsample_freq_width,omitempty"`
	// Mel, when set, says how the frames are computed from audio (copy
	// synthesis, training): its n_mels is Channels, its hop_length Hop
	// and its sample_rate the model's. Nil: the frames come from outside
	// as they are.
	Mel *audio.MelParams `json:"mel,omitempty"`
}

// The kinds of upsampling layer (LocalConfig.Net).
const (
	UpsampleTransposed   = "transposed"
	UpsampleRepeatConv2D = "repeat-conv2d"
)

// DefaultFreqWidth is the frequency width of a repeat-conv2d kernel when
// LocalConfig.FreqWidth is 0, r9y9/wavenet_vocoder's freq_axis_kernel_size.
const DefaultFreqWidth = 3

// RepeatConv reports whether the upsampling layers are repeat-conv2d ones.
func (l LocalConfig) RepeatConv() bool { return l.Net == UpsampleRepeatConv2D }

// FreqKernel is the frequency width of a repeat-conv2d kernel: FreqWidth,
// or DefaultFreqWidth when it is 0; 0 for transposed layers.
func (l LocalConfig) FreqKernel() int {
	switch {
	case !l.RepeatConv():
		return 0
	case l.FreqWidth == 0:
		return DefaultFreqWidth
	}
	return l.FreqWidth
}

// Lookback is the number of input rows before its own (row t/s) that an
// output row of upsampling layer i depends on: Width-1 for a transposed
// layer; for a repeat-conv2d one, the Width*s-1 repeated rows before row
// t reach back ceil((Width*s-1)/s) input rows (Width for s > 1).
func (l LocalConfig) Lookback(i int) int {
	if !l.RepeatConv() {
		return l.Width - 1
	}
	s := l.Scales[i]
	return (l.Width*s - 1 + s - 1) / s
}

// DefaultPreprocess is the processing `wavenet train` applies by default:
// trimmed and peak-normalised, with audio's default thresholds.
var DefaultPreprocess = audio.Preprocess{Trim: true, Normalize: true}.WithDefaults()

// Preprocessing returns how the model's training audio was processed: the
// recorded Preprocess, or DefaultPreprocess for a checkpoint that has none.
func (c Config) Preprocessing() audio.Preprocess {
	if c.Preprocess != nil {
		return c.Preprocess.WithDefaults()
	}
	return DefaultPreprocess
}

// Condition is one categorical global-conditioning input, such as the
// speaker. Values is its vocabulary, in the order of the embedding rows.
type Condition struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
	// Null adds one embedding row after the values' rows, index
	// len(Values): "no value given". Training with conditioning dropout
	// (train.Options.CondDropout) teaches it; guided sampling contrasts
	// the conditioned logits with it (cache.StreamOptions.Guidance).
	Null bool `json:"null,omitempty"`
}

// Rows is the number of rows of the condition's embedding: one per value,
// plus the null row if Null is set.
func (c Condition) Rows() int {
	if c.Null {
		return len(c.Values) + 1
	}
	return len(c.Values)
}

// HasNull says whether condition i exists and has a null row, which
// guidance and candidate scoring contrast with.
func (c Config) HasNull(i int) bool {
	return i >= 0 && i < len(c.Conditions) && c.Conditions[i].Null
}

// NullIndex is the index of the null row, or -1 if the condition has none.
func (c Condition) NullIndex() int {
	if c.Null {
		return len(c.Values)
	}
	return -1
}

// Index returns the row of value v in the condition's embedding, or an error
// that lists the allowed values.
func (c Condition) Index(v string) (int, error) {
	for i, s := range c.Values {
		if s == v {
			return i, nil
		}
	}
	return 0, fmt.Errorf("wavenet: unknown %s %q (allowed: %s)", c.Name, v, strings.Join(c.Values, ", "))
}

// ReceptiveField is the number of input samples that one output sample
// depends on: (K-1)*sum(dilations) + 1 for the dilated stack, plus K-1 for
// the initial causal layer, as ibab/tensorflow-wavenet computes it.
func (c Config) ReceptiveField() int {
	sum := 0
	for _, d := range c.Dilations {
		sum += d
	}
	return (c.FilterWidth-1)*sum + 1 + c.FilterWidth - 1
}

// Validate reports the first field that makes the configuration unusable.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("wavenet: config: "+format, args...))
		}
	}
	check(c.FilterWidth >= 2, "filter_width is %d, want at least 2", c.FilterWidth)
	check(c.SampleRate > 0, "sample_rate is %d, want a positive rate in Hz", c.SampleRate)
	check(len(c.Dilations) > 0, "dilations is empty, want at least one layer")
	for i, d := range c.Dilations {
		check(d >= 1, "dilations[%d] is %d, want at least 1", i, d)
	}
	check(c.ResidualChannels > 0, "residual_channels is %d, want at least 1", c.ResidualChannels)
	check(c.DilationChannels > 0, "dilation_channels is %d, want at least 1", c.DilationChannels)
	check(c.SkipChannels > 0, "skip_channels is %d, want at least 1", c.SkipChannels)
	check(c.QuantizationChannels >= 2 && c.QuantizationChannels <= 65536,
		"quantization_channels is %d, want 2 to 65536", c.QuantizationChannels)
	seen := map[string]bool{}
	for i, cond := range c.Conditions {
		check(cond.Name != "", "global_conditions[%d] has no name", i)
		check(!seen[cond.Name], "global_conditions[%d]: name %q used twice", i, cond.Name)
		seen[cond.Name] = true
		check(len(cond.Values) > 0, "global_conditions[%d] (%s) has no values", i, cond.Name)
		vals := map[string]bool{}
		for _, v := range cond.Values {
			check(!vals[v], "global_conditions[%d] (%s): value %q listed twice", i, cond.Name, v)
			vals[v] = true
		}
	}
	if l := c.Local; l != nil {
		check(l.Channels > 0, "local_conditioning channels is %d, want at least 1", l.Channels)
		check(l.Width > 0, "local_conditioning upsample_width is %d, want at least 1", l.Width)
		check(len(l.Scales) > 0, "local_conditioning upsample_scales is empty, want at least one layer")
		prod := 1.0 // float64: absurd scales cannot overflow it
		for i, s := range l.Scales {
			check(s > 0, "local_conditioning upsample_scales[%d] is %d, want at least 1", i, s)
			prod *= float64(s)
		}
		check(l.Hop > 0 && prod == float64(l.Hop), "local_conditioning hop is %d, want the product of upsample_scales %v", l.Hop, l.Scales)
		switch l.Net {
		case "", UpsampleTransposed:
			check(l.FreqWidth == 0, "local_conditioning upsample_freq_width is %d, but only upsample_net %q has a frequency kernel", l.FreqWidth, UpsampleRepeatConv2D)
		case UpsampleRepeatConv2D:
			fw := l.FreqKernel()
			check(fw > 0 && fw%2 == 1 && fw <= 2*l.Channels-1,
				"local_conditioning upsample_freq_width is %d, want an odd width from 1 to 2*channels-1 (%d)", fw, 2*l.Channels-1)
		default:
			check(false, "local_conditioning upsample_net is %q, want %q or %q", l.Net, UpsampleTransposed, UpsampleRepeatConv2D)
		}
		if p := l.Mel; p != nil {
			if err := p.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("wavenet: config: local_conditioning mel: %w", err))
			}
			check(p.NMels == l.Channels, "local_conditioning mel n_mels is %d, want channels (%d)", p.NMels, l.Channels)
			check(p.HopLength == l.Hop, "local_conditioning mel hop_length is %d, want hop (%d)", p.HopLength, l.Hop)
			check(p.SampleRate == c.SampleRate, "local_conditioning mel sample_rate is %d, want the model's %d", p.SampleRate, c.SampleRate)
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// LabelCondition returns the index of the condition that a label (the
// service's "label" field, the CLI's --label) and the words of a text set:
// the condition named "label", else the one named "digit", else the only
// condition not named "speaker"; -1 if there is none (or several could be
// meant). This is the one rule every command and route uses.
func (c Config) LabelCondition() int {
	if i := c.Condition("label"); i >= 0 {
		return i
	}
	if i := c.Condition("digit"); i >= 0 {
		return i
	}
	found := -1
	for i, cond := range c.Conditions {
		if cond.Name != "speaker" {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

// Condition returns the index of the condition named name, or -1.
func (c Config) Condition(name string) int {
	for i, cond := range c.Conditions {
		if cond.Name == name {
			return i
		}
	}
	return -1
}

func repeatDilations(maxExp, stacks int) []int {
	var d []int
	for s := 0; s < stacks; s++ {
		for e := 0; e <= maxExp; e++ {
			d = append(d, 1<<e)
		}
	}
	return d
}

// Preset returns a named reference configuration: "tiny" (for tests),
// "small" and "ibab" (ibab/tensorflow-wavenet's defaults), as in DESIGN.md.
func Preset(name string) (Config, error) {
	switch name {
	case "tiny":
		return Config{FilterWidth: 2, SampleRate: 8000, Dilations: repeatDilations(4, 1),
			ResidualChannels: 8, DilationChannels: 8, SkipChannels: 16, QuantizationChannels: 256, UseBiases: true}, nil
	case "small":
		return Config{FilterWidth: 2, SampleRate: 16000, Dilations: repeatDilations(9, 2),
			ResidualChannels: 32, DilationChannels: 32, SkipChannels: 128, QuantizationChannels: 256, UseBiases: true}, nil
	case "ibab":
		return Config{FilterWidth: 2, SampleRate: 16000, Dilations: repeatDilations(9, 5),
			ResidualChannels: 32, DilationChannels: 32, SkipChannels: 512, QuantizationChannels: 256, UseBiases: true}, nil
	}
	return Config{}, fmt.Errorf("wavenet: unknown preset %q (allowed: tiny, small, ibab)", name)
}

// Presets lists the names Preset accepts.
func Presets() []string { return []string{"tiny", "small", "ibab"} }
