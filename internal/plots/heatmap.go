package plots

import (
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"image/png"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Tick labels an axis at Value.
type Tick struct {
	Value float64
	Label string
}

// Spectrogram is a time-frequency grid drawn as a heat map: columns are
// frames (x: seconds), rows are bins (y: BinY, e.g. mel).
type Spectrogram struct {
	Title, YLabel string
	// Data holds Frames x Bins values, frame-major: Data[f*Bins+b].
	Data         []float32
	Frames, Bins int
	// FrameRate is in frames per second: frame f is at f/FrameRate s.
	FrameRate float64
	// BinY is each bin's position on the y axis (len Bins), drawn from 0
	// to YMax.
	BinY []float64
	YMax float64
	// YTicks mark the y axis; those outside [0, YMax] are left out.
	YTicks []Tick
	// Min and Max span the colour map; values below Min are drawn as Min.
	Min, Max float64
	// Width and Height are in inches; zero means 5 x 2.5.
	Width, Height float64
}

// grid is a Spectrogram as a plotter.GridXYZ.
type grid struct{ s *Spectrogram }

func (g grid) Dims() (int, int)   { return g.s.Frames, g.s.Bins }
func (g grid) Z(c, r int) float64 { return math.Max(float64(g.s.Data[c*g.s.Bins+r]), g.s.Min) }
func (g grid) X(c int) float64    { return float64(c) / g.s.FrameRate }
func (g grid) Y(r int) float64    { return g.s.BinY[r] }

// ticks is a fixed list of ticks as a plot.Ticker.
type ticks []Tick

func (t ticks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, k := range t {
		if k.Value >= lo && k.Value <= hi {
			out = append(out, plot.Tick{Value: k.Value, Label: k.Label})
		}
	}
	return out
}

// WritePNG draws s as a PNG to w. The image is drawn in RGBA, then stored
// with 96 colours (the heat map's 64 and 32 greys for the text and axes):
// a paletted PNG is about 6 times smaller, which matters for committed
// samples.
func (s Spectrogram) WritePNG(w io.Writer) error {
	if s.Frames <= 0 || s.Bins <= 0 || len(s.Data) != s.Frames*s.Bins || len(s.BinY) != s.Bins {
		return fmt.Errorf("plots: spectrogram of %d x %d bins has %d values and %d bin positions", s.Frames, s.Bins, len(s.Data), len(s.BinY))
	}
	if !(s.FrameRate > 0) || !(s.Max > s.Min) {
		return fmt.Errorf("plots: spectrogram frame rate %g, colour range [%g, %g]: want a positive rate and min < max", s.FrameRate, s.Min, s.Max)
	}
	p := plot.New()
	p.Title.Text = s.Title
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = s.YLabel
	if s.YTicks != nil {
		p.Y.Tick.Marker = ticks(s.YTicks)
	}
	heat := moreland.ExtendedBlackBody().Palette(64)
	hm := plotter.NewHeatMap(grid{&s}, heat)
	hm.Min, hm.Max = s.Min, s.Max
	hm.Rasterized = true
	p.Add(hm)
	p.X.Min, p.X.Max = 0, float64(s.Frames)/s.FrameRate
	p.Y.Min, p.Y.Max = 0, s.YMax
	width, height := s.Width, s.Height
	if width == 0 || height == 0 {
		width, height = 5, 2.5
	}
	c := vgimg.New(vg.Length(width)*vg.Inch, vg.Length(height)*vg.Inch)
	p.Draw(draw.New(c))
	img := c.Image()
	colors := slices.Clone(heat.Colors())
	for i := range 32 {
		colors = append(colors, color.Gray{Y: uint8(i * 255 / 31)})
	}
	pal := image.NewPaletted(img.Bounds(), colors)
	stddraw.Draw(pal, img.Bounds(), img, img.Bounds().Min, stddraw.Src)
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(w, pal); err != nil {
		return fmt.Errorf("plots: write png: %w", err)
	}
	return nil
}
