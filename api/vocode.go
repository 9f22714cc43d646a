package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// VocodeRequest is the JSON body of POST /v1/vocode, and the query
// parameters of its .npy and recording uploads (mels then come from the
// body).
type VocodeRequest struct {
	// Model is a vocoder's id from GET /v1/models (a model with
	// local_conditioning). Default: the served vocoder, the only one
	// or the one named "vocoder" (with several others, name one).
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

// vocodeParams are the query parameters of POST /v1/vocode other than
// conditions (any other name is one of the model's global conditions).
var vocodeParams = []string{"model", "method", "layout", "speaker", "temperature", "seed", "format", "sample_rate", "stream"}

// recordingTypes are the Content-Types of a recording upload (raw body).
var recordingTypes = []string{"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/flac", "audio/x-flac", "application/octet-stream"}

// handleVocode turns mel frames into audio with a vocoder: a JSON body
// (VocodeRequest), a .npy upload (Content-Type application/x-npy; query
// layout=frames-by-mels or mels-by-frames), frames streamed in as they are
// made (application/x-ndjson: each line a frame or an array of frames,
// vocoded while later lines still arrive), or a WAV/FLAC recording (raw
// body or the "file" part of multipart/form-data: copy synthesis, its mels
// computed with the model's parameters). The other settings are query
// parameters named as VocodeRequest's JSON fields (with a JSON body, for
// the fields it does not set); other query names are the model's
// conditions. Without a model, the served vocoder is used.
func (s *Server) handleVocode(c echo.Context) error {
	req := c.Request()
	mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	var vr VocodeRequest
	var body map[string]json.RawMessage // the JSON body's fields, if any
	switch {
	case mt == "" || mt == echo.MIMEApplicationJSON || mt == echo.MIMEApplicationForm || mt == echo.MIMETextPlain: // curl -d sends a form type
		var err error
		if body, err = decodeFields(c, &vr); err != nil {
			return err
		}
		if vr.Mels == nil {
			return badRequest("field \"mels\" is required: the frames to vocode, frames x n_mels (or upload a .npy as %s, or a WAV recording)", npyType)
		}
	case mt == npyType || mt == ndjsonType || mt == "multipart/form-data" || slices.Contains(recordingTypes, mt):
	default:
		return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Content-Type is %q; send mel frames as application/json, %s or %s, or a recording as the body with Content-Type %s, or as the \"file\" field of multipart/form-data",
			req.Header.Get(echo.HeaderContentType), npyType, ndjsonType, strings.Join(recordingTypes, ", "))
	}
	queryConds, err := vocodeQuery(&vr, req.URL.Query(), body)
	if err != nil {
		return err
	}
	if err := s.vocodeModel(c, &vr, queryConds); err != nil {
		return err
	}
	sr := vr.request()
	switch {
	case mt == npyType:
		if sr.Mels, err = synth.DecodeMelsNPY(req.Body, req.URL.Query().Get("layout")); err != nil {
			return uploadError(err)
		}
	case mt == ndjsonType:
		return s.vocodeStream(c, &vr, sr)
	case body == nil:
		var r io.Reader = req.Body
		if mt == "multipart/form-data" {
			if r, err = uploadReader(req); err != nil {
				return err
			}
		}
		if sr.Recording, sr.RecordingRate, err = synth.DecodeRecording(r); err != nil {
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

// decodeFields decodes the JSON body into vr and returns its fields as
// they were sent, so that query parameters fill only the others.
func decodeFields(c echo.Context, vr *VocodeRequest) (map[string]json.RawMessage, error) {
	req := c.Request()
	var raw bytes.Buffer
	req.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(req.Body, &raw), req.Body}
	if err := decodeJSON(c, vr); err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw.Bytes(), &fields); err != nil {
		return nil, fmt.Errorf("api: vocode body decoded but not its fields: %w", err) // decodeJSON took it: a bug
	}
	return fields, nil
}

// vocodeModel names the vocoder in vr when the request names none (the
// served vocoder, see defaultVocoder) and refuses query parameters that
// are neither vocodeParams nor conditions of the model (queryConds are
// the query's names taken for conditions).
func (s *Server) vocodeModel(c echo.Context, vr *VocodeRequest, queryConds []string) error {
	if vr.Model == "" {
		id, err := s.defaultVocoder()
		if err != nil {
			return err
		}
		vr.Model = id
	}
	if len(queryConds) == 0 {
		return nil
	}
	id, b, err := s.engine.Pick(c.Request().Context(), vr.Model)
	if err != nil {
		return err
	}
	cfg := b.Model.Config
	var names []string
	for _, cd := range cfg.Conditions {
		names = append(names, cd.Name)
	}
	for _, k := range queryConds {
		if cfg.Condition(k) < 0 {
			conds := "none"
			if len(names) > 0 {
				conds = strings.Join(names, ", ")
			}
			return badRequest("unknown query parameter %q; the parameters are %s, and the conditions of model %q (%s)",
				k, strings.Join(vocodeParams, ", "), id, conds)
		}
	}
	return nil
}

// defaultVocoder is the model of a vocoding request that names none: the
// one served vocoder, or the one named "vocoder" among several (else a
// 400 listing them); "" when no served model is a vocoder (the engine's
// default model then says that it is not one).
func (s *Server) defaultVocoder() (string, error) {
	var vocs []string
	for _, id := range s.engine.IDs() {
		if b, ok := s.engine.Bundle(id); ok && b.Model != nil && b.Model.Config.Local != nil {
			vocs = append(vocs, id)
		}
	}
	switch {
	case len(vocs) == 1:
		return vocs[0], nil
	case slices.Contains(vocs, "vocoder"):
		return "vocoder", nil
	case len(vocs) > 1:
		return "", badRequest("several vocoders are served (%s): name one as \"model\" (or the query parameter model); GET /v1/models lists them", strings.Join(vocs, ", "))
	}
	return "", nil
}

// uploadError is 413 for an upload cut at the server's body limit, else err.
func uploadError(err error) error {
	if isMaxBytes(err) {
		return Errorf(http.StatusRequestEntityTooLarge, "too_large", "upload is larger than the server's limit; send a shorter recording or spectrogram")
	}
	return err
}

// vocodeQuery reads the settings in q into vr: every one for an upload
// (body nil), else those the JSON body's fields (body) do not set; a
// query parameter that contradicts the body is a 400. Names other than
// vocodeParams are conditions, returned sorted for vocodeModel to check.
func vocodeQuery(vr *VocodeRequest, q url.Values, body map[string]json.RawMessage) (conds []string, err error) {
	var qv VocodeRequest
	fields := map[string][2]any{ // the body's field, the query's value
		"model": {&vr.Model, &qv.Model}, "method": {&vr.Method, &qv.Method}, "speaker": {&vr.Speaker, &qv.Speaker},
		"format": {&vr.Format, &qv.Format}, "sample_rate": {&vr.SampleRate, &qv.SampleRate}, "stream": {&vr.Stream, &qv.Stream},
		"seed": {&vr.Seed, &qv.Seed}, "temperature": {&vr.Temperature, &qv.Temperature},
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		val := q[k][0]
		var err error
		switch k {
		case "model":
			qv.Model = val
		case "method":
			qv.Method = val
		case "speaker":
			qv.Speaker = val
		case "format":
			qv.Format = val
		case "layout":
			continue // read by the .npy decoder
		case "sample_rate":
			qv.SampleRate, err = strconv.Atoi(val)
		case "stream":
			qv.Stream, err = strconv.ParseBool(val)
		case "seed":
			var n uint64
			n, err = strconv.ParseUint(val, 10, 64)
			qv.Seed = &n
		case "temperature":
			var t float64
			t, err = strconv.ParseFloat(val, 64)
			qv.Temperature = &t
		default:
			conds = append(conds, k)
			if v, ok := vr.Conditions[k]; ok && v != val {
				return nil, badRequest("query parameter %q is %q but the body's \"conditions\" give %q; give it once", k, val, v)
			}
			if vr.Conditions == nil {
				vr.Conditions = map[string]string{}
			}
			vr.Conditions[k] = val
			continue
		}
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) {
				err = ne.Err
			}
			return nil, badRequest("query %q is %q (%v); see GET /openapi.json for its type", k, val, err)
		}
		dst, src := reflect.ValueOf(fields[k][0]).Elem(), reflect.ValueOf(fields[k][1]).Elem()
		if sent, ok := body[k]; ok {
			if !reflect.DeepEqual(dst.Interface(), src.Interface()) {
				return nil, badRequest("query parameter %q is %q but the body's field %q is %s; give it once (or the same in both)", k, val, k, sent)
			}
			continue
		}
		dst.Set(src)
	}
	return conds, nil
}

// frameReader reads a request body of JSON lines of mel frames in the
// background (readFrames) and sends them on frames as they arrive;
// frames is closed at the body's end, or at a bad line, whose 400 error
// is sent on errc first.
type frameReader struct {
	frames chan [][]float32
	errc   chan error
	quit   chan struct{} // closed by stop
	done   chan struct{} // closed when the reader returns
	eof    bool          // the reader read the body to its end (set before done)
	res    *echo.Response
	rc     *http.ResponseController
}

// readFrames starts reading c's body as JSON lines of frames.
func readFrames(c echo.Context) *frameReader {
	req := c.Request()
	// Read the body while the response is written (HTTP/1.1 too).
	f := &frameReader{frames: make(chan [][]float32), errc: make(chan error, 1), quit: make(chan struct{}), done: make(chan struct{}),
		res: c.Response(), rc: http.NewResponseController(c.Response())}
	_ = f.rc.EnableFullDuplex()
	go func() {
		defer close(f.done)
		defer close(f.frames)
		if err := f.read(req); err != nil {
			select {
			case <-f.quit: // the error of the stop's read deadline
			default:
				f.errc <- err
			}
		}
	}()
	return f
}

// read sends the frames of req's body on f.frames.
func (f *frameReader) read(req *http.Request) error {
	const maxLine = 16 << 20
	body := &errReader{r: req.Body}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	line := 1
	// failed is the error of a body that stopped reading (the size limit,
	// a timeout): the scanner hands its cut last line over as a line.
	failed := func(err error) error {
		switch {
		case errors.Is(err, bufio.ErrTooLong):
			return badRequest("line %d of the %s body is longer than the limit of %d MiB; send one frame or a few frames per line", line, ndjsonType, maxLine>>20)
		case isMaxBytes(err):
			return uploadError(err)
		}
		return readError(err, "the "+ndjsonType+" body")
	}
	for ; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		frames, err := synth.DecodeMelsJSON(bytes.NewReader(b))
		if err != nil && body.err != nil {
			return failed(body.err)
		}
		if err != nil {
			var frame []float32
			ferr := json.Unmarshal(b, &frame)
			var se *json.SyntaxError
			switch {
			case errors.As(ferr, &se):
				return badRequest("line %d of the %s body is not JSON (%v, at byte %d); send one frame [n_mels numbers] or an array of frames per line", line, ndjsonType, se, se.Offset)
			case ferr != nil:
				return badRequest("line %d of the %s body is neither a frame [n_mels numbers] nor an array of frames", line, ndjsonType)
			}
			frames = [][]float32{frame}
		}
		select {
		case f.frames <- frames:
		case <-f.quit:
			return nil
		case <-req.Context().Done():
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return failed(err)
	}
	f.eof = true
	return nil
}

// errReader keeps the first error other than io.EOF its reader returned.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// drainWait is how long net/http may go on draining a JSON-lines body
// the handler left unread (frameReader.stop): a client that sent it all
// then gets its answer, not a reset, and a slow one is not waited for.
const drainWait = 250 * time.Millisecond

// stop makes the reader return and waits for it, so that nothing reads
// the body once the handler has returned (net/http then reads it too):
// a read waiting for the client is unblocked with a read deadline in the
// past. A body not read to its end closes the connection after the
// answer, net/http draining it for drainWait: left to drain it in
// full-duplex mode on a connection kept alive, net/http starts a
// background read that the next request's read panics on
// (golang/go#68560).
func (f *frameReader) stop() {
	select {
	case <-f.quit:
	default:
		close(f.quit)
	}
	select {
	case <-f.done:
	default:
		_ = f.rc.SetReadDeadline(time.Now())
		<-f.done
	}
	if !f.eof {
		_ = f.rc.SetReadDeadline(time.Now().Add(drainWait))
		f.res.Header().Set(echo.HeaderConnection, "close")
	}
}

// err is the reader's error, if it had one; call it after stop.
func (f *frameReader) err() error {
	select {
	case err := <-f.errc:
		return err
	default:
		return nil
	}
}

// vocodeStream vocodes frames streamed in as JSON lines (sr's other
// settings checked before a byte of the body is read).
func (s *Server) vocodeStream(c echo.Context, vr *VocodeRequest, sr *synth.Request) error {
	ctx := c.Request().Context()
	sr.MelStream = make(chan [][]float32) // Check reads nothing from it
	if err := s.engine.Check(ctx, sr); err != nil {
		return err
	}
	f := readFrames(c)
	defer f.stop()
	sr.MelStream = f.frames
	syn, err := s.engine.Start(ctx, sr)
	if err != nil {
		f.stop()
		if ferr := f.err(); ferr != nil {
			return ferr // the input's error, of which the engine saw only an end
		}
		return err
	}
	defer syn.Close()
	return s.respond(c, syn, vr.Stream, f.errc)
}
