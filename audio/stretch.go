package audio

import (
	"fmt"
	"math"
)

// Speed limits of TimeStretch: OpenAI's speech API's range.
const (
	MinSpeed = 0.25
	MaxSpeed = 4.0
)

// TimeStretch returns x (at rate Hz) played speed times faster without
// changing its pitch: about len(x)/speed samples, by WSOLA (waveform
// similarity overlap-add; Verhelst and Roelands, ICASSP 1993). Output
// frames of 30 ms with Hann windows overlap by half; each input frame is
// read near its nominal position (input advance speed times the output
// advance), shifted by up to 1/3 of a frame to the position whose start
// best continues the previous frame's natural continuation (highest
// cross-correlation), so periodic sounds keep their period. Speed 1
// returns a copy of x. Speeds outside [MinSpeed, MaxSpeed] are an error.
func TimeStretch(x []float32, rate int, speed float64) ([]float32, error) {
	if !(speed >= MinSpeed && speed <= MaxSpeed) {
		return nil, fmt.Errorf("audio: time stretch: speed %v, want %v to %v", speed, MinSpeed, MaxSpeed)
	}
	if rate <= 0 {
		return nil, fmt.Errorf("audio: time stretch: rate %d, want > 0", rate)
	}
	if speed == 1 || len(x) == 0 {
		return append([]float32(nil), x...), nil
	}
	n := max(4, rate*30/1000) &^ 1 // frame length, even
	hop := n / 2                   // output advance
	tol := n / 3                   // search range either side
	win := make([]float32, n)
	for i := range win {
		win[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n)))
	}
	outLen := int(math.Round(float64(len(x)) / speed))
	frames := (outLen + hop - 1) / hop
	y := make([]float32, (frames+1)*hop+n)
	norm := make([]float32, len(y))
	at := func(i int) float32 { // x with zeros outside
		if i < 0 || i >= len(x) {
			return 0
		}
		return x[i]
	}
	prev := 0 // input position of the previous frame
	for k := 0; k < frames; k++ {
		nominal := int(math.Round(float64(k*hop) * speed))
		pos := nominal
		if k > 0 {
			// The previous frame's natural continuation starts at
			// prev+hop; pick the start within nominal +- tol whose first
			// hop samples correlate best with it.
			best := math.Inf(-1)
			for d := -tol; d <= tol; d++ {
				var c float64
				for i := 0; i < hop; i++ {
					c += float64(at(prev+hop+i)) * float64(at(nominal+d+i))
				}
				if c > best {
					best, pos = c, nominal+d
				}
			}
		}
		o := k * hop
		for i := 0; i < n; i++ {
			y[o+i] += win[i] * at(pos+i)
			norm[o+i] += win[i]
		}
		prev = pos
	}
	for i := range y {
		if norm[i] > 1e-3 {
			y[i] /= norm[i]
		}
	}
	return y[:outLen], nil
}
