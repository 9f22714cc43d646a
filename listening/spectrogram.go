package listening

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/internal/plots"
)

// spectrogramPNG draws the log-mel spectrogram of x (rate Hz) as a PNG
// with time and frequency axes.
func spectrogramPNG(w io.Writer, x []float32, rate int, title string) error {
	s, err := spectrogram(x, rate, title)
	if err != nil {
		return err
	}
	return s.WritePNG(w)
}

// spectrogram is the plot of spectrogramPNG, its colours spanning 80 dB
// below the loudest cell, as librosa's specshow shows.
func spectrogram(x []float32, rate int, title string) (plots.Spectrogram, error) {
	fft := 256 * max(1, rate/8000) // 32 ms frames
	mc := audio.MelConfig{SampleRate: rate, FFTSize: fft, Hop: fft / 4, Mels: 64}
	if len(x) < fft {
		x = append(slices.Clone(x), make([]float32, fft-len(x))...)
	}
	s, err := audio.MelSpectrogram(x, mc)
	if err != nil {
		return plots.Spectrogram{}, err
	}
	// Band centres: 64 bands between 0 Hz and Nyquist, evenly spaced in
	// mel (HTK filters: centre i is edge i+1 of Mels+2 edges).
	top := audio.HzToMel(float64(rate) / 2)
	mels := make([]float64, s.Bins)
	for i := range mels {
		mels[i] = top * float64(i+1) / float64(s.Bins+1)
	}
	hi := math.Inf(-1)
	for _, v := range s.Data {
		hi = math.Max(hi, float64(v))
	}
	// The mel axis is marked at round frequencies in Hz.
	var ticks []plots.Tick
	for _, hz := range []float64{0, 250, 500, 1000, 2000, 3000, 4000, 6000, 8000, 11000, 16000, 22000} {
		if hz <= float64(rate)/2 {
			ticks = append(ticks, plots.Tick{Value: audio.HzToMel(hz), Label: fmt.Sprint(hz)})
		}
	}
	return plots.Spectrogram{
		Title: title, YLabel: "frequency (Hz, mel scale)",
		Data: s.Data, Frames: s.Frames, Bins: s.Bins, FrameRate: s.FrameRate,
		BinY: mels, YMax: top, YTicks: ticks, Min: hi - 80, Max: hi,
	}, nil
}
