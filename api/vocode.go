package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// VocodeRequest is the JSON body of POST /v1/vocode, and the query
// parameters of its .npy and recording uploads (mels then come from the
// body).
type VocodeRequest struct {
	// Model is a vocoder's id from GET /v1/models (a model with
	// local_conditioning).
	Model string `json:"model,omitempty"`
	// Mels are the frames to vocode, frames x n_mels, in the model's
	// log-mel scale (GET /v1/models shows its mel parameters).
	Mels [][]float32 `json:"mels"`
	// Method is "wavenet" (default: the model) or "griffin-lim" (the
	// classical baseline from the same frames).
	Method string `json:"method,omitempty"`
	// Speaker and Conditions (a vocoder's global conditions, if any),
	// Temperature and Seed are as in SynthesizeRequest.
	Speaker     string            `json:"speaker,omitempty"`
	Conditions  map[string]string `json:"conditions,omitempty"`
	Temperature *float64          `json:"temperature,omitempty"`
	Seed        *uint64           `json:"seed,omitempty"`
	Output
}

func (r *VocodeRequest) request() *synth.Request {
	return &synth.Request{Model: r.Model, Mels: r.Mels, Method: r.Method, Speaker: r.Speaker, Conditions: r.Conditions,
		Temperature: r.Temperature, Seed: r.Seed, Format: audio.Encoding(r.Format), SampleRate: r.SampleRate}
}

// npyType is the Content-Type of a .npy mel spectrogram upload;
// ndjsonType that of frames streamed in, one JSON line each.
const (
	npyType    = "application/x-npy"
	ndjsonType = "application/x-ndjson"
)

// handleVocode turns mel frames into audio with a vocoder: a JSON body
// (VocodeRequest), a .npy upload (Content-Type application/x-npy; query
// layout=frames-by-mels or mels-by-frames), frames streamed in as they are
// made (application/x-ndjson: each line a frame or an array of frames,
// vocoded while later lines still arrive), or a WAV/FLAC recording (raw
// body or the "file" part of multipart/form-data: copy synthesis, its mels
// computed with the model's parameters). The other settings of uploads
// are query parameters named as VocodeRequest's JSON fields.
func (s *Server) handleVocode(c echo.Context) error {
	req := c.Request()
	mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	var vr VocodeRequest
	var sr *synth.Request
	switch mt {
	case "", echo.MIMEApplicationJSON, echo.MIMEApplicationForm, echo.MIMETextPlain: // curl -d sends a form type
		if err := decodeJSON(c, &vr); err != nil {
			return err
		}
		if vr.Mels == nil {
			return badRequest("field \"mels\" is required: the frames to vocode, frames x n_mels (or upload a .npy as %s, or a WAV recording)", npyType)
		}
		sr = vr.request()
	case npyType:
		if err := vocodeQuery(&vr, req.URL.Query()); err != nil {
			return err
		}
		sr = vr.request()
		mels, err := synth.DecodeMelsNPY(req.Body, req.URL.Query().Get("layout"))
		if err != nil {
			return uploadError(err)
		}
		sr.Mels = mels
	case ndjsonType:
		if err := vocodeQuery(&vr, req.URL.Query()); err != nil {
			return err
		}
		sr = vr.request()
		var errc <-chan error
		sr.MelStream, errc = streamFrames(c)
		syn, err := s.engine.Start(req.Context(), sr)
		if err != nil {
			return err
		}
		defer syn.Close()
		return s.respond(c, syn, vr.Stream, errc)
	default:
		if err := vocodeQuery(&vr, req.URL.Query()); err != nil {
			return err
		}
		sr = vr.request()
		body, err := uploadReader(req)
		if err != nil {
			return err
		}
		if sr.Recording, sr.RecordingRate, err = synth.DecodeRecording(body); err != nil {
			return uploadError(err)
		}
	}
	syn, err := s.engine.Start(req.Context(), sr)
	if err != nil {
		return err
	}
	defer syn.Close()
	return s.respond(c, syn, vr.Stream, nil)
}

// uploadError is 413 for an upload cut at the server's body limit, else err.
func uploadError(err error) error {
	if isMaxBytes(err) {
		return Errorf(http.StatusRequestEntityTooLarge, "too_large", "upload is larger than the server's limit; send a shorter recording or spectrogram")
	}
	return err
}

// vocodeQuery reads the settings of an upload from its query.
func vocodeQuery(vr *VocodeRequest, q url.Values) error {
	for k, v := range q {
		val := v[0]
		var err error
		switch k {
		case "model":
			vr.Model = val
		case "method":
			vr.Method = val
		case "speaker":
			vr.Speaker = val
		case "format":
			vr.Format = val
		case "layout":
		case "sample_rate":
			vr.SampleRate, err = strconv.Atoi(val)
		case "stream":
			vr.Stream, err = strconv.ParseBool(val)
		case "seed":
			var n uint64
			n, err = strconv.ParseUint(val, 10, 64)
			vr.Seed = &n
		case "temperature":
			var t float64
			t, err = strconv.ParseFloat(val, 64)
			vr.Temperature = &t
		default:
			if vr.Conditions == nil {
				vr.Conditions = map[string]string{}
			}
			vr.Conditions[k] = val
		}
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) {
				err = ne.Err
			}
			return badRequest("query %q is %q (%v); see GET /openapi.json for its type", k, val, err)
		}
	}
	return nil
}

// streamFrames reads the request body as JSON lines of frames in the
// background and sends them as they arrive; the channel is closed at the
// body's end, or at a bad line, whose 400 error is sent on errc first.
func streamFrames(c echo.Context) (<-chan [][]float32, <-chan error) {
	req := c.Request()
	// Read the body while the response is written (HTTP/1.1 too).
	_ = http.NewResponseController(c.Response().Writer).EnableFullDuplex()
	ch := make(chan [][]float32)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(req.Body)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for line := 1; sc.Scan(); line++ {
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			frames, err := synth.DecodeMelsJSON(bytes.NewReader(b))
			if err != nil {
				var frame []float32
				if json.Unmarshal(b, &frame) != nil {
					errc <- badRequest("line %d of the %s body is neither a frame [n_mels numbers] nor an array of frames", line, ndjsonType)
					return
				}
				frames = [][]float32{frame}
			}
			select {
			case ch <- frames:
			case <-req.Context().Done():
				return
			}
		}
		if err := sc.Err(); err != nil {
			errc <- uploadError(badRequest("reading the %s body: %v", ndjsonType, err))
		}
	}()
	return ch, errc
}
