package plots

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// decode decodes a PNG and fails t when it is not one.
func decode(t *testing.T, name string, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: png.Decode = %v, want a PNG", name, err)
	}
	return img
}

func TestWritePNGSizes(t *testing.T) {
	// vgimg draws at 96 dpi, so a w x h inch figure is 96w x 96h pixels
	// (16 x 12 cm rounds to 605 x 454).
	tests := []struct {
		name  string
		write func(io.Writer) error
		w, h  int
	}{
		{"default chart", Chart{Title: "t", Series: []Series{{Name: "a", Y: []float64{1, 3, 2}}}}.WritePNG, 768, 480},
		{"chart with NaN and an empty series", Chart{Series: []Series{
			{Name: "a", X: []float64{0, 1, 2}, Y: []float64{1, math.NaN(), math.Inf(1)}, Points: true},
			{Name: "empty", Y: []float64{math.NaN()}, Dashed: true},
		}, Width: 4, Height: 3, LegendLeft: true}.WritePNG, 384, 288},
		{"PR curve", func(w io.Writer) error {
			return PRCurve(w, "cat", []float64{0, 0.5, 1}, []float64{1, 0.5, 0.7}, true)
		}, 605, 454},
		{"empty PR curve", func(w io.Writer) error { return PRCurve(w, "cat", nil, nil, false) }, 605, 454},
		{"spectrogram", Spectrogram{
			Data: []float32{0, 1, 2, 3, 4, 5}, Frames: 3, Bins: 2, FrameRate: 10,
			BinY: []float64{1, 2}, YMax: 3, YTicks: []Tick{{0, "0"}, {2, "2"}, {9, "off the axis"}},
			Min: 1, Max: 5,
		}.WritePNG, 480, 240},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := tt.write(&buf); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		b := decode(t, tt.name, buf.Bytes()).Bounds()
		if b.Dx() != tt.w || b.Dy() != tt.h {
			t.Errorf("%s: PNG is %d x %d, want %d x %d", tt.name, b.Dx(), b.Dy(), tt.w, tt.h)
		}
	}
}

func TestSpectrogramIsPaletted(t *testing.T) {
	s := Spectrogram{Data: make([]float32, 40*8), Frames: 40, Bins: 8, FrameRate: 100, BinY: []float64{1, 2, 3, 4, 5, 6, 7, 8}, YMax: 9, Min: -80, Max: 0}
	for i := range s.Data {
		s.Data[i] = float32(-i % 90)
	}
	var buf bytes.Buffer
	if err := s.WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	p, ok := decode(t, "spectrogram", buf.Bytes()).(*image.Paletted)
	if !ok || len(p.Palette) != 96 {
		t.Errorf("spectrogram PNG: paletted %v, want a paletted image of 96 colours (64 heat, 32 greys)", ok)
	}
}

func TestWritePNGErrors(t *testing.T) {
	tests := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"X and Y lengths differ", Chart{Series: []Series{{X: []float64{1}, Y: []float64{1, 2}}}}.WritePNG},
		{"PR lengths differ", func(w io.Writer) error { return PRCurve(w, "", []float64{1}, nil, false) }},
		{"spectrogram data short", Spectrogram{Data: []float32{1}, Frames: 2, Bins: 1, FrameRate: 1, BinY: []float64{1}, Max: 1}.WritePNG},
		{"spectrogram empty colour range", Spectrogram{Data: []float32{1}, Frames: 1, Bins: 1, FrameRate: 1, BinY: []float64{1}}.WritePNG},
	}
	for _, tt := range tests {
		if err := tt.write(io.Discard); err == nil {
			t.Errorf("%s: WritePNG = nil error, want an error", tt.name)
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.png")
	if err := WriteFile(name, Chart{Series: []Series{{Y: []float64{1, 2}}}}.WritePNG); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, name, b)
	// A failed write leaves the old file and no temporary file.
	boom := errors.New("boom")
	if err := WriteFile(name, func(io.Writer) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("WriteFile(failing writer) = %v, want %v", err, boom)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("after a failed WriteFile the directory holds %d files, want 1 (the old PNG)", len(ents))
	}
	if after, _ := os.ReadFile(name); !bytes.Equal(after, b) {
		t.Error("a failed WriteFile changed the file")
	}
}
