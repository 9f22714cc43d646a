package synth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wavenet-go/wavenet/audio"
)

// The layouts of a 2-D mel array (DecodeMelsNPY): NumPy front ends store
// frames x n_mels (ESPnet, HiFi-GAN's inference) or n_mels x frames
// (librosa, torchaudio, Tacotron 2).
const (
	LayoutFramesByMels = "frames-by-mels"
	LayoutMelsByFrames = "mels-by-frames"
)

// DecodeMelsNPY reads a .npy mel spectrogram (2-D float32 or float64, C
// order: audio.DecodeNPY) stored in layout (default LayoutFramesByMels)
// and returns its frames. A bad stream or layout is a *RequestError on
// "mels".
func DecodeMelsNPY(r io.Reader, layout string) ([][]float32, error) {
	data, rows, cols, err := audio.DecodeNPY(r)
	if err != nil {
		return nil, &RequestError{Field: "mels", Msg: fmt.Sprintf("mel spectrogram .npy: %s; save a 2-D float32 array with numpy.save", strings.TrimPrefix(err.Error(), "audio: ")), Err: err}
	}
	switch layout {
	case "", LayoutFramesByMels:
		mels := make([][]float32, rows)
		for i := range mels {
			mels[i] = data[i*cols : (i+1)*cols : (i+1)*cols]
		}
		return mels, nil
	case LayoutMelsByFrames:
		mels := make([][]float32, cols)
		for t := range mels {
			mels[t] = make([]float32, rows)
			for k := range rows {
				mels[t][k] = data[k*cols+t]
			}
		}
		return mels, nil
	}
	return nil, badRequest("layout", "layout %q; want %q or %q", layout, LayoutFramesByMels, LayoutMelsByFrames)
}

// DecodeMelsJSON reads mel frames as JSON: {"mels": [[...], ...]} or the
// bare array of frames, each of n_mels numbers. Bad JSON is a
// *RequestError on "mels".
func DecodeMelsJSON(r io.Reader) ([][]float32, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("synth: read mels: %w", err)
	}
	var obj struct {
		Mels [][]float32 `json:"mels"`
	}
	// The bare array, or the object: the error is the one of the form the
	// body has (a number beyond float32 in an array is named as such).
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(b, &obj.Mels); err != nil {
			return nil, badRequest("mels", "mel frames JSON: %v; want [[n_mels numbers], ...] with one array per frame", err)
		}
		return obj.Mels, nil
	}
	if err := json.Unmarshal(b, &obj); err != nil || obj.Mels == nil {
		if err == nil {
			err = errors.New("no \"mels\" field")
		}
		return nil, badRequest("mels", "mel frames JSON: %v; want {\"mels\": [[n_mels numbers], ...]} with one array per frame", err)
	}
	return obj.Mels, nil
}

// DecodeRecording reads a WAV or FLAC recording (audio.DecodeAny) for copy
// synthesis: its samples mixed down to mono and its rate, for
// Request.Recording and RecordingRate. A bad stream is a *RequestError on
// "audio".
func DecodeRecording(r io.Reader) ([]float32, int, error) {
	clip, err := audio.DecodeAny(r)
	if err != nil {
		return nil, 0, &RequestError{Field: "audio", Msg: fmt.Sprintf("recording: %s; send a WAV (PCM or float) or FLAC file", strings.TrimPrefix(err.Error(), "audio: ")), Err: err}
	}
	return clip.Mono(nil), clip.Format.SampleRate, nil
}
