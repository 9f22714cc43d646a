package classify

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/wavenet-go/wavenet/audio"
)

// The architectures of CNNConfig.Arch.
const (
	ArchDenseNet  = "densenet-bc"  // Huang et al. 2017, arXiv:1608.06993: dense blocks, 1x1 bottleneck, transitions
	ArchMobileNet = "mobilenet-v1" // Howard et al. 2017, arXiv:1704.04861: depthwise-separable blocks, width multiplier
)

// MobileStage is one depthwise-separable block of a MobileNet: a 3x3
// depthwise convolution with Stride, then a 1x1 convolution to Channels
// (before the width multiplier), each followed by BatchNorm and ReLU.
type MobileStage struct {
	Channels int `json:"channels"`
	Stride   int `json:"stride"`
}

// CNNConfig is the whole description of a spectrogram CNN judge, saved as
// config.json beside its weights: the architecture, the features and the
// label vocabularies.
//
// Both architectures start with a 3x3 stride-2 convolution (Stem planes)
// on the (1, NMels, frames) log-mel image, end with BatchNorm, ReLU,
// global average pooling and dropout, and have two linear heads on the
// pooled features: the digit and the speaker.
type CNNConfig struct {
	Arch string `json:"arch"`
	Stem int    `json:"stem"`
	// StemPool follows the stem by 2x2 average pooling.
	StemPool bool `json:"stem_pool,omitempty"`
	// DenseNet-BC: Blocks[i] dense layers in block i, each BN-ReLU-1x1
	// conv to Bottleneck*Growth planes, BN-ReLU-3x3 conv to Growth
	// planes; between blocks a transition: BN-ReLU-1x1 conv to
	// floor(Compression*C) planes, 2x2 average pooling.
	Growth      int     `json:"growth,omitempty"`
	Blocks      []int   `json:"blocks,omitempty"`
	Bottleneck  int     `json:"bottleneck,omitempty"`
	Compression float64 `json:"compression,omitempty"`
	// MobileNet v1: Stages after the stem, every width scaled by Width.
	Width  float64       `json:"width,omitempty"`
	Stages []MobileStage `json:"stages,omitempty"`

	Dropout  float64       `json:"dropout"`
	Features FeatureConfig `json:"features"`
	Digits   []string      `json:"digits"`
	Speakers []string      `json:"speakers"`
}

// FeatureConfig turns an utterance into the network's input: a Window of
// samples around the utterance's energy, its log-mel spectrogram (Mel)
// standardised per band by Mean and Std (from the training set), laid out
// (NMels, frames).
type FeatureConfig struct {
	Mel    audio.MelParams `json:"mel"`
	Window int             `json:"window"`
	Mean   []float32       `json:"mean"`
	Std    []float32       `json:"std"`
}

// DefaultFeatures are the judge's features at rate Hz: one second, 40
// slaney mels of 32 ms Hann frames every 16 ms (256 and 128 samples at
// 8 kHz) from 0 to rate/2 over the magnitude, natural log floored at
// 1e-4; Mean 0 and Std 1 until set from data.
func DefaultFeatures(rate int) FeatureConfig {
	p := audio.DefaultMelParams(rate)
	hop := p.HopLength
	p.NFFT, p.WinLength, p.NMels, p.Floor = 2*hop, 2*hop, 40, 1e-4
	f := FeatureConfig{Mel: p, Window: rate, Mean: make([]float32, p.NMels), Std: make([]float32, p.NMels)}
	for i := range f.Std {
		f.Std[i] = 1
	}
	return f
}

// Bounds on a configuration read from outside (LoadCNN): far above any
// judge, low enough that a corrupt config.json cannot ask for gigabytes.
const (
	maxWindow = 1 << 20 // samples
	maxInput  = 1 << 18 // features of one window
	maxPlanes = 4096    // channels of any layer
	maxLayers = 256     // dense layers or MobileNet stages
	maxParams = 1 << 24 // convolution weights (64 MB)
)

// convWeights estimates the convolution weights of c (before allocating
// them).
func convWeights(c CNNConfig) int {
	n := 0
	switch c.Arch {
	case ArchMobileNet:
		prev := widthOf(c.Stem, c.Width)
		n = 9 * prev
		for _, st := range c.Stages {
			next := widthOf(st.Channels, c.Width)
			n += 9*prev + prev*next
			prev = next
		}
	case ArchDenseNet:
		ch, mid := c.Stem, c.Bottleneck*c.Growth
		n = 9 * ch
		for _, l := range c.Blocks {
			for j := 0; j < l; j++ {
				n += (ch+j*c.Growth)*mid + 9*mid*c.Growth
			}
			ch += l * c.Growth
			n += ch * ch / 2
			ch /= 2
		}
	}
	return n
}

// Frames is the number of spectrogram frames of a window.
func (f *FeatureConfig) Frames() int { return f.Mel.Frames(f.Window) }

// Size is the number of features of one utterance (NMels*Frames).
func (f *FeatureConfig) Size() int { return f.Mel.NMels * f.Frames() }

func (f *FeatureConfig) validate() error {
	if err := f.Mel.Validate(); err != nil {
		return err
	}
	if f.Window <= f.Mel.NFFT || f.Window > maxWindow || len(f.Mean) != f.Mel.NMels || len(f.Std) != f.Mel.NMels {
		return fmt.Errorf("window %d samples (want more than n_fft %d, at most %d), %d means and %d deviations for %d mels",
			f.Window, f.Mel.NFFT, maxWindow, len(f.Mean), len(f.Std), f.Mel.NMels)
	}
	if f.Size() > maxInput {
		return fmt.Errorf("%d mels of %d frames, want at most %d features", f.Mel.NMels, f.Frames(), maxInput)
	}
	for b, v := range f.Std {
		if !(v > 0) || math.IsInf(float64(v), 0) || math.IsNaN(float64(f.Mean[b])) || math.IsInf(float64(f.Mean[b]), 0) {
			return fmt.Errorf("mel band %d: mean %v, deviation %v, want finite and a positive deviation", b, f.Mean[b], v)
		}
	}
	return nil
}

// Start returns where the window of x begins (negative: zeros before x):
// centred on x's energy centroid, clamped so that a recording shorter than
// the window lies wholly inside it and a longer one covers it.
func (f *FeatureConfig) Start(x []float32) int {
	var e, m float64
	for i, v := range x {
		p := float64(v) * float64(v)
		e += p
		m += p * float64(i)
	}
	c := len(x) / 2
	if e > 0 {
		c = int(math.Round(m / e))
	}
	s := c - f.Window/2
	lo, hi := min(0, len(x)-f.Window), max(0, len(x)-f.Window)
	return max(lo, min(hi, s))
}

// extractor computes features with reusable buffers.
type extractor struct {
	cfg  *FeatureConfig
	mel  *audio.Mel
	norm []float32 // the peak-normalised utterance
	win  []float32 // the window of samples
	spec []float32 // (frames, mels)
}

func newExtractor(cfg *FeatureConfig) (*extractor, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("classify: features: %w", err)
	}
	m, err := audio.NewMel(cfg.Mel)
	if err != nil {
		return nil, fmt.Errorf("classify: features: %w", err)
	}
	return &extractor{cfg: cfg, mel: m}, nil
}

// ErrSilent is the error of an utterance with no sample above zero.
var ErrSilent = errors.New("classify: the utterance is silent")

// features writes the standardised (NMels, frames) log-mel image of x
// into dst (len cfg.Size()): x is peak-normalised to -1 dBFS (so the level
// says nothing of the speaker, as in Features), then windowed from
// Start(x)+shift.
func (e *extractor) features(dst, x []float32, shift int) error {
	if len(x) == 0 || audio.Peak(x) == 0 {
		return ErrSilent
	}
	e.norm = append(e.norm[:0], x...)
	audio.Normalize(e.norm, -1)
	e.win = grow(e.win, e.cfg.Window)
	zero(e.win)
	start := e.cfg.Start(e.norm) + shift
	for i := range e.win {
		if j := start + i; j >= 0 && j < len(e.norm) {
			e.win[i] = e.norm[j]
		}
	}
	var err error
	if e.spec, err = e.mel.Compute(e.spec, e.win); err != nil {
		return fmt.Errorf("classify: features: %w", err)
	}
	nm, nf := e.cfg.Mel.NMels, e.cfg.Frames()
	for t := 0; t < nf; t++ {
		row := e.spec[t*nm : (t+1)*nm]
		for b, v := range row {
			dst[b*nf+t] = (v - e.cfg.Mean[b]) / e.cfg.Std[b]
		}
	}
	return nil
}

// Masking is SpecAugment's time and frequency masking (Park et al. 2019,
// arXiv:1904.08779) with small time shifts, for training only: the window
// moves by up to Shift samples either way, then FreqMasks bands of up to
// FreqWidth mels and TimeMasks spans of up to TimeWidth frames are set to
// 0 (the mean after standardisation).
type Masking struct {
	Shift                int
	FreqMasks, FreqWidth int
	TimeMasks, TimeWidth int
}

// Apply masks one standardised (mels, frames) image in place.
func (m Masking) Apply(img []float32, mels, frames int, rng *rand.Rand) {
	for range m.FreqMasks {
		w := rng.IntN(m.FreqWidth + 1)
		f0 := rng.IntN(mels - w + 1)
		zero(img[f0*frames : (f0+w)*frames])
	}
	for range m.TimeMasks {
		w := rng.IntN(m.TimeWidth + 1)
		t0 := rng.IntN(frames - w + 1)
		for b := 0; b < mels; b++ {
			zero(img[b*frames+t0 : b*frames+t0+w])
		}
	}
}

// CNN is a spectrogram CNN judge: a trunk of convolutions and two linear
// heads, digit and speaker. Predict is safe for concurrent use (callers
// take turns); Forward and Backward, for training, are not.
type CNN struct {
	Config CNNConfig

	trunk          *seq
	digit, speaker *linear
	feat           int // pooled features
	dfeat          []float32
	pass           pass // the mode of the last Forward (kept here: no allocation per call)

	mu     sync.Mutex
	ex     *extractor
	input  []float32
	probsD []float32
	probsS []float32
}

// NewCNN builds the network of c with weights drawn from rng (He normal
// for convolutions, N(0, 1/in) for the heads, BatchNorm 1 and 0).
func NewCNN(c CNNConfig, rng *rand.Rand) (*CNN, error) {
	m, err := buildCNN(c)
	if err != nil {
		return nil, err
	}
	for _, w := range m.Weights() {
		if w.Grad == nil || len(w.Shape) == 1 {
			continue // BatchNorm statistics and scales, biases: as set up
		}
		fanIn := len(w.Value) / w.Shape[0]
		std := math.Sqrt(2 / float64(fanIn))
		if len(w.Shape) == 2 {
			std = math.Sqrt(1 / float64(fanIn))
		}
		for i := range w.Value {
			w.Value[i] = float32(rng.NormFloat64() * std)
		}
	}
	return m, nil
}

func buildCNN(c CNNConfig) (*CNN, error) {
	if err := c.Features.validate(); err != nil {
		return nil, fmt.Errorf("classify: cnn config: %w", err)
	}
	if len(c.Digits) < 2 || len(c.Speakers) < 1 || c.Stem < 1 || c.Dropout < 0 || c.Dropout >= 1 {
		return nil, fmt.Errorf("classify: cnn config: %d digits (want 2 or more), %d speakers, stem %d, dropout %v",
			len(c.Digits), len(c.Speakers), c.Stem, c.Dropout)
	}
	if c.Stem > maxPlanes || c.Growth > maxPlanes || c.Bottleneck > maxPlanes/max(1, c.Growth) || c.Width > 4 ||
		len(c.Stages) > maxLayers || len(c.Blocks) > maxLayers || len(c.Digits) > maxPlanes || len(c.Speakers) > maxPlanes {
		return nil, fmt.Errorf("classify: cnn config: stem %d, growth %d, bottleneck %d, width %v, %d stages, %d blocks, %d digits, %d speakers: too large",
			c.Stem, c.Growth, c.Bottleneck, c.Width, len(c.Stages), len(c.Blocks), len(c.Digits), len(c.Speakers))
	}
	layers := 0
	for _, n := range c.Blocks {
		if n < 1 || n > maxLayers {
			return nil, fmt.Errorf("classify: cnn config: a dense block of %d layers, want 1 to %d", n, maxLayers)
		}
		layers += n
	}
	if c.Stem+layers*c.Growth > maxPlanes {
		return nil, fmt.Errorf("classify: cnn config: %d planes after the dense blocks, want at most %d", c.Stem+layers*c.Growth, maxPlanes)
	}
	for _, st := range c.Stages {
		if st.Channels < 1 || st.Channels > maxPlanes || st.Stride < 1 || st.Stride > 4 {
			return nil, fmt.Errorf("classify: cnn config: mobilenet stage %+v, want 1 to %d channels and stride 1 to 4", st, maxPlanes)
		}
	}
	if n := convWeights(c); n > maxParams {
		return nil, fmt.Errorf("classify: cnn config: about %d convolution weights, want at most %d", n, maxParams)
	}
	var ls []layer
	switch c.Arch {
	case ArchDenseNet:
		if c.Growth < 1 || c.Bottleneck < 1 || len(c.Blocks) == 0 || !(c.Compression > 0 && c.Compression <= 1) {
			return nil, fmt.Errorf("classify: cnn config: densenet growth %d, bottleneck %d, %d blocks, compression %v",
				c.Growth, c.Bottleneck, len(c.Blocks), c.Compression)
		}
		ls = denseNet(c)
	case ArchMobileNet:
		if !(c.Width > 0) || len(c.Stages) == 0 {
			return nil, fmt.Errorf("classify: cnn config: mobilenet width %v, %d stages", c.Width, len(c.Stages))
		}
		ls = mobileNet(c)
	default:
		return nil, fmt.Errorf("classify: cnn config: architecture %q, want %q or %q", c.Arch, ArchDenseNet, ArchMobileNet)
	}
	if c.StemPool {
		ls = slices.Insert(ls, stemLayers(c), layer(&avgPool{name: "stem.pool"}))
	}
	ls = append(ls, &globalAvgPool{}, &dropout{rate: c.Dropout})
	m := &CNN{Config: c, trunk: &seq{layers: ls}}
	out := m.trunk.setup(shape{1, c.Features.Mel.NMels, c.Features.Frames()})
	m.feat = out.size()
	m.digit = &linear{name: "head.digit", out: len(c.Digits)}
	m.speaker = &linear{name: "head.speaker", out: len(c.Speakers)}
	m.digit.setup(out)
	m.speaker.setup(out)
	return m, nil
}

// stemLayers is the number of layers of c's stem.
func stemLayers(c CNNConfig) int {
	if c.Arch == ArchMobileNet {
		return 2 // conv, BatchNorm
	}
	return 1
}

// widthOf scales base planes by the width multiplier, at least 1.
func widthOf(base int, width float64) int { return max(1, int(math.Round(float64(base)*width))) }

func convBN(name string, out, k, stride int) []layer {
	return []layer{newConv(name+".conv", out, k, stride), newBatchNorm(name+".bn", true)}
}

func mobileNet(c CNNConfig) []layer {
	ls := convBN("stem", widthOf(c.Stem, c.Width), 3, 2)
	for i, s := range c.Stages {
		name := fmt.Sprintf("stage%d", i+1)
		ls = append(ls, newDepthwise(name+".dw", 3, s.Stride), newBatchNorm(name+".dw_bn", true))
		ls = append(ls, convBN(name+".pw", widthOf(s.Channels, c.Width), 1, 1)...)
	}
	return ls
}

func denseNet(c CNNConfig) []layer {
	ls := []layer{newConv("stem.conv", c.Stem, 3, 2)}
	ch := c.Stem
	for b, n := range c.Blocks {
		blk := &denseBlock{growth: c.Growth}
		for j := 0; j < n; j++ {
			name := fmt.Sprintf("block%d.layer%d", b+1, j+1)
			blk.layers = append(blk.layers, &seq{layers: []layer{
				newBatchNorm(name+".bn1", true), newConv(name+".conv1", c.Bottleneck*c.Growth, 1, 1),
				newBatchNorm(name+".bn2", true), newConv(name+".conv2", c.Growth, 3, 1),
			}})
		}
		ls = append(ls, blk)
		ch += n * c.Growth
		if b < len(c.Blocks)-1 {
			name := fmt.Sprintf("transition%d", b+1)
			ch = int(math.Floor(c.Compression * float64(ch)))
			ls = append(ls, newBatchNorm(name+".bn", true), newConv(name+".conv", ch, 1, 1), &avgPool{name: name + ".pool"})
		}
	}
	return append(ls, newBatchNorm("final.bn", true))
}

// Weights returns every tensor of the network, trainable ones (Grad not
// nil) and BatchNorm running statistics, in a fixed order.
func (m *CNN) Weights() []*Weight {
	ws := m.trunk.weights()
	return append(ws, m.digit.w, m.digit.b, m.speaker.w, m.speaker.b)
}

// Summary returns each layer's output shape, parameters and
// multiply-accumulates per utterance, in order; the heads last.
func (m *CNN) Summary() []LayerCost {
	s := m.trunk.costs(nil)
	return m.speaker.costs(m.digit.costs(s))
}

// Cost returns the total trainable parameters and multiply-accumulates
// per utterance (the network only, not the features).
func (m *CNN) Cost() (params, macs int) {
	for _, l := range m.Summary() {
		params += l.Params
		macs += l.MACs
	}
	return params, macs
}

// Forward runs the network on n feature images x (n*Features.Size()) and
// returns the digit and speaker logits, (n, len(Digits)) and (n,
// len(Speakers)), in the network's own buffers. In training mode
// BatchNorm uses the batch's statistics (and updates its running ones)
// and dropout draws from rng; workers samples are processed in parallel.
func (m *CNN) Forward(x []float32, n int, train bool, workers int, rng *rand.Rand) (digit, speaker []float32) {
	m.pass = pass{train: train, workers: max(1, workers), rng: rng}
	f := m.trunk.forward(x, n, &m.pass)
	return m.digit.forward(f, n, &m.pass), m.speaker.forward(f, n, &m.pass)
}

// Backward takes the gradients of the loss with respect to the logits of
// the last Forward (in training mode) and adds the weights' gradients to
// their Grad.
func (m *CNN) Backward(dDigit, dSpeaker []float32, n, workers int) {
	p := &pass{train: true, workers: max(1, workers)}
	a := m.digit.backward(dDigit, n, p, true)
	m.dfeat = append(m.dfeat[:0], a...)
	b := m.speaker.backward(dSpeaker, n, p, true)
	for i, v := range b {
		m.dfeat[i] += v
	}
	m.trunk.backward(m.dfeat, n, p, false)
}

// Extractor returns a function writing the standardised log-mel image of
// an utterance (at the features' rate) into dst (len Size()), its window
// moved by shift samples (ErrSilent for silence); it is not safe for
// concurrent use (make one per goroutine).
func (f *FeatureConfig) Extractor() (func(dst, x []float32, shift int) error, error) {
	e, err := newExtractor(f)
	if err != nil {
		return nil, err
	}
	return e.features, nil
}

// Extractor is m.Config.Features.Extractor().
func (m *CNN) Extractor() (func(dst, x []float32, shift int) error, error) {
	return m.Config.Features.Extractor()
}

// SampleRate is the rate Predict expects.
func (m *CNN) SampleRate() int { return m.Config.Features.Mel.SampleRate }

// Name describes the judge.
func (m *CNN) Name() string {
	p, _ := m.Cost()
	return fmt.Sprintf("spectrogram CNN (%s, %d parameters)", m.Config.Arch, p)
}

// Predict classifies one utterance at SampleRate. After the first call it
// allocates nothing.
func (m *CNN) Predict(x []float32) (Prediction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ex == nil {
		ex, err := newExtractor(&m.Config.Features)
		if err != nil {
			return Prediction{}, err
		}
		m.ex = ex
	}
	m.input = grow(m.input, m.Config.Features.Size())
	if err := m.ex.features(m.input, x, 0); err != nil {
		return Prediction{}, err
	}
	d, s := m.Forward(m.input, 1, false, 1, nil)
	var p Prediction
	m.probsD, m.probsS = grow(m.probsD, len(d)), grow(m.probsS, len(s))
	i := softmaxArgmax(m.probsD, d)
	p.Digit, p.DigitProb = m.Config.Digits[i], float64(m.probsD[i])
	i = softmaxArgmax(m.probsS, s)
	p.Speaker, p.SpeakerProb = m.Config.Speakers[i], float64(m.probsS[i])
	return p, nil
}

// softmaxArgmax writes softmax(z) into p and returns the index of the
// largest.
func softmaxArgmax(p, z []float32) int {
	best := 0
	for i, v := range z {
		if v > z[best] {
			best = i
		}
	}
	var s float64
	for i, v := range z {
		e := math.Exp(float64(v - z[best]))
		p[i] = float32(e)
		s += e
	}
	for i := range p {
		p[i] = float32(float64(p[i]) / s)
	}
	return best
}
