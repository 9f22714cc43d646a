package api

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
)

// OpenAPI returns the server's OpenAPI 3 document: the core paths plus every
// feature's paths.
func (s *Server) OpenAPI() map[string]any { return openAPIDoc(s.features) }

func openAPIDoc(features []Feature) map[string]any {
	paths := corePaths()
	for p, item := range dropInPaths() {
		paths[p] = item
	}
	for _, f := range features {
		for p, item := range f.OpenAPI {
			paths[p] = item
		}
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "wavenet synthesis service",
			"version": "1",
			"description": "WaveNet audio synthesis (POST /v1/synthesize, whole or streamed), vocoding of mel " +
				"spectrograms or recordings (POST /v1/vocode), scoring of WAV " +
				"uploads (POST /v1/score), model listing, health, Prometheus metrics, feature routes, and drop-in " +
				"routes in the shapes of OpenAI's speech API (POST /v1/audio/speech) and Google Cloud Text-to-Speech " +
				"(POST /v1/text:synthesize, GET /v1/voices). " +
				"Every error is {\"error\": {\"code\", \"message\", \"request_id\"}}, except on the drop-in routes, " +
				"which answer in their API's error shape (OpenAIError, GoogleError).",
			"license": license,
		},
		"servers": []any{
			map[string]any{"url": "/", "description": "the server this document is served by (wavenet serve listens on --addr, default :8080)"},
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer",
					"description": "Required on /v1 routes when the server runs with --api-key-file."},
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
			},
			"schemas": map[string]any{
				"Error":                   errorSchema,
				"SynthesizeRequest":       synthesizeSchema,
				"VocodeRequest":           vocodeSchema,
				"ModelInfo":               modelInfoSchema,
				"ScoreResponse":           scoreSchema,
				"SpeechRequest":           speechSchema,
				"OpenAIError":             openAIErrorSchema,
				"GoogleSynthesizeRequest": googleSynthesizeSchema,
				"GoogleVoice":             googleVoiceSchema,
				"GoogleError":             googleErrorSchema,
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"apiKey": []any{}}, map[string]any{}},
		"paths":    paths,
	}
}

// license is the document's info.license. The repository states no
// licence for its code (no LICENSE file; the README's "Data and licence"
// covers the data only), so it names what is licensed: the default model's
// weights and the audio made with them, CC BY-SA 4.0 like the FSDD they
// are adapted from.
var license = map[string]any{
	"name": "CC BY-SA 4.0 (default model weights and generated audio); no licence is stated for the code",
	"url":  "https://creativecommons.org/licenses/by-sa/4.0/",
}

func (s *Server) handleOpenAPI(c echo.Context) error {
	return c.JSON(http.StatusOK, s.OpenAPI())
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

func errResp(desc string) map[string]any {
	return map[string]any{"description": desc, "content": jsonContent(ref("Error"))}
}

var (
	num  = map[string]any{"type": "number"}
	intg = map[string]any{"type": "integer"}
	str  = map[string]any{"type": "string"}
	boo  = map[string]any{"type": "boolean"}
)

var errorSchema = map[string]any{
	"type": "object", "required": []any{"error"},
	"properties": map[string]any{"error": map[string]any{
		"type": "object", "required": []any{"code", "message"},
		"properties": map[string]any{"code": str, "message": str, "request_id": str},
	}},
}

var synthesizeSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"model":         map[string]any{"type": "string", "description": "model id (default: \"default\" or the only model)"},
		"seconds":       map[string]any{"type": "number", "exclusiveMinimum": true, "minimum": 0, "description": "audio length (default 1); at most the server's --max-seconds"},
		"num_samples":   map[string]any{"type": "integer", "minimum": 1, "description": "audio length in samples at the model's rate (instead of seconds)"},
		"speaker":       map[string]any{"type": "string", "description": "value of the condition named speaker"},
		"label":         map[string]any{"type": "string", "description": "value of the model's label condition (e.g. a digit)"},
		"conditions":    map[string]any{"type": "object", "additionalProperties": str, "description": "any condition by name"},
		"text":          map[string]any{"type": "string", "description": "digits (label values) said one after another as `wavenet say` says them: each word generated until its detected end (limits from the model's speech.json duration statistics), trimmed, joined with pauses; streamed word by word"},
		"label_seconds": map[string]any{"type": "number", "description": "optional cap on the samples generated per attempt at each text word, in seconds (default: none, the model's duration statistics decide)"},
		"pause_seconds": map[string]any{"type": "number", "description": "silence between text labels (default 0.15)"},
		"temperature":   map[string]any{"type": "number", "minimum": 0, "description": "default 1; 0 is greedy"},
		"top_k":         map[string]any{"type": "integer", "minimum": 0, "description": "sample among the k most likely codes (0: all)"},
		"candidates":    map[string]any{"type": "integer", "minimum": 1, "maximum": speech.MaxCandidates, "description": "text only: attempts per word, the one the model finds says the most about its word kept (default: the model's, see GET /v1/models); more than 1 needs a model whose label has a null row"},
		"guidance":      map[string]any{"type": "number", "minimum": 0, "maximum": synth.MaxGuidance, "description": "classifier-free guidance weight on the label (0: none; default: the model's, see GET /v1/models); needs a model whose label has a null row"},
		"seed":          map[string]any{"type": "integer", "minimum": 0, "description": "random seed (default random, returned in X-Seed)"},
		"format":        map[string]any{"type": "string", "enum": encodingNames(), "default": string(audio.EncodingWAV)},
		"sample_rate":   map[string]any{"type": "integer", "description": "output rate in Hz, 1000 to 192000; 0 or absent: the model's rate"},
		"stream":        map[string]any{"type": "boolean", "description": "send audio while generating (chunked)"},
	},
	"additionalProperties": false,
}

var modelInfoSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"id": str, "sample_rate": intg, "receptive_field": intg, "receptive_field_ms": num,
		"quantization_channels": intg, "layers": intg, "parameters": intg, "max_streams": intg,
		"label_condition": str,
		"generator":       map[string]any{"type": "string", "enum": []any{"float32", "int8"}, "description": "int8: a checkpoint stored as int8, generated with int8 weight products"},
		"text_condition":  map[string]any{"type": "string", "description": "the condition the words of text set"},
		"word_durations":  map[string]any{"type": "string", "enum": []any{"model", "default"}, "description": "where text's word length limits come from: the model's speech.json or built-in defaults"},
		"conditions": map[string]any{"type": "array", "items": map[string]any{"type": "object",
			"properties": map[string]any{"name": str, "values": map[string]any{"type": "array", "items": str}}}},
		"config":             map[string]any{"type": "object", "description": "the checkpoint's config.json"},
		"local_conditioning": map[string]any{"type": "object", "description": "a vocoder's local conditioning (POST /v1/vocode): channels (n_mels), hop, upsample_scales, upsample_width, upsample_net (transposed or repeat-conv2d; absent: transposed), upsample_freq_width (repeat-conv2d) and mel, the log-mel parameters (torchaudio's names) its frames are computed with"},
		"stored":             map[string]any{"type": "boolean", "description": "a model of the shared model store (made by a job) that this replica has not loaded yet: only id is given; GET /v1/models/{id} or any request naming it loads it"},
	},
}

var vocodeSchema = map[string]any{
	"type":     "object",
	"required": []any{"mels"},
	"properties": map[string]any{
		"model":       map[string]any{"type": "string", "description": "a vocoder's id (a model with local_conditioning in GET /v1/models); default: the served vocoder (the only one, or the one named vocoder)"},
		"mels":        map[string]any{"type": "array", "items": map[string]any{"type": "array", "items": num}, "description": "frames x n_mels log-mel values, computed with the model's mel parameters; the audio is frames*hop samples"},
		"method":      map[string]any{"type": "string", "enum": []any{synth.MethodWaveNet, synth.MethodGriffinLim}, "default": synth.MethodWaveNet, "description": "the model, or Griffin-Lim from the same mels (the classical baseline)"},
		"speaker":     map[string]any{"type": "string", "description": "value of the condition named speaker, if the vocoder has one"},
		"conditions":  map[string]any{"type": "object", "additionalProperties": str, "description": "any global condition by name"},
		"temperature": map[string]any{"type": "number", "minimum": 0, "description": "default 1; 0 is greedy"},
		"seed":        map[string]any{"type": "integer", "minimum": 0, "description": "random seed (default random, returned in X-Seed)"},
		"format":      map[string]any{"type": "string", "enum": encodingNames(), "default": string(audio.EncodingWAV)},
		"sample_rate": map[string]any{"type": "integer", "description": "output rate in Hz, 1000 to 192000; 0 or absent: the model's rate"},
		"stream":      map[string]any{"type": "boolean", "description": "send audio while generating (chunked)"},
	},
	"additionalProperties": false,
}

var scoreSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"model": str, "bits_per_sample": num, "nats_per_sample": num, "scored": intg, "from": intg,
		"samples": intg, "seconds": num, "input_sample_rate": intg, "input_channels": intg,
		"conditions": map[string]any{"type": "array", "items": intg},
		"processing": map[string]any{"type": "string", "enum": []any{"training", "raw"}},
	},
}

func audioHeaders() map[string]any {
	h := func(desc string, schema any) map[string]any {
		return map[string]any{"description": desc, "schema": schema}
	}
	return map[string]any{
		"X-Seed":           h("seed used (repeat it for the same audio)", intg),
		"X-Audio-Duration": h("seconds of audio in the body (absent for a streamed text)", num),
		"X-Sample-Rate":    h("sample rate of the body", intg),
		"X-Num-Samples":    h("samples in the body (absent for a streamed text)", intg),
		"X-Audio-Encoding": h("wav_pcm_s16le, flac, pcm_s16le, mulaw, alaw (G.711) or pcm_f32le", str),
		"X-Model":          h("model id", str),
		"X-Conditions":     h("conditions used, name=value comma-separated (defaults included)", str),
	}
}

// audioResponses are the responses of a route that answers with audio
// (/v1/synthesize, /v1/vocode).
func audioResponses(busy map[string]any, bad, mediaType string) map[string]any {
	binary := map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
	return map[string]any{
		"200": map[string]any{"description": "audio", "headers": audioHeaders(), "content": map[string]any{
			"audio/wav": binary, "audio/flac": binary, "audio/basic": binary, "audio/PCMU": binary, "audio/PCMA": binary, "application/octet-stream": binary,
		}},
		"400": errResp(bad),
		"401": errResp("missing or invalid API key"),
		"404": errResp("unknown model"),
		"413": errResp("body too large"),
		"415": errResp(mediaType),
		"429": busy,
		"503": errResp("shutting down, no model, or past the server's deadline"),
	}
}

func corePaths() map[string]any {
	binary := map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
	busy := errResp("all generation slots and the wait queue are full; see Retry-After")
	busy["headers"] = map[string]any{"Retry-After": map[string]any{"schema": intg}}
	// tooLarge is the one client error of the public routes: the body
	// limit applies to every route, a GET with a body included.
	tooLarge := errResp("request body larger than the server's --max-body-bytes")
	return map[string]any{
		"/healthz": map[string]any{"get": map[string]any{
			"operationId": "checkLiveness", "summary": "liveness: the process serves HTTP", "security": []any{},
			"responses": map[string]any{"200": map[string]any{"description": "alive", "content": jsonContent(map[string]any{"type": "object"})}, "413": tooLarge},
		}},
		"/readyz": map[string]any{"get": map[string]any{
			"operationId": "checkReadiness", "summary": "readiness: models loaded and not shutting down", "security": []any{},
			"responses": map[string]any{
				"200": map[string]any{"description": "ready", "content": jsonContent(map[string]any{"type": "object"})},
				"413": tooLarge,
				"503": errResp("not ready (no model, or shutting down)"),
			},
		}},
		"/metrics": map[string]any{"get": map[string]any{
			"operationId": "getMetrics", "summary": "Prometheus metrics (text exposition format)", "security": []any{},
			"responses": map[string]any{"200": map[string]any{"description": "metrics", "content": map[string]any{"text/plain": map[string]any{"schema": str}}}, "413": tooLarge},
		}},
		"/openapi.json": map[string]any{"get": map[string]any{
			"operationId": "getOpenAPI", "summary": "this document", "security": []any{},
			"responses": map[string]any{"200": map[string]any{"description": "OpenAPI 3 document", "content": jsonContent(map[string]any{"type": "object"})}, "413": tooLarge},
		}},
		"/v1/synthesize": map[string]any{"post": map[string]any{
			"operationId": "synthesize",
			"summary":     "generate audio",
			"description": "Generates audio with the model's fast generator; concurrent requests share one batched generator. stream=true sends the audio while it is generated (chunked; a WAV then declares an unknown length); errors after the first byte cut the connection.",
			"requestBody": map[string]any{"required": false, "content": jsonContent(ref("SynthesizeRequest"))},
			"responses":   audioResponses(busy, "bad request (bad JSON, unknown field, value out of range)", "body is not JSON"),
		}},
		"/v1/vocode": map[string]any{"post": map[string]any{
			"operationId": "vocode",
			"summary":     "mel spectrogram (or a recording's) to audio with a vocoder",
			"description": "Vocodes mel frames with a model that has local conditioning, on the same batched generator as /v1/synthesize, with the same output formats, rates and streaming. The body is JSON (VocodeRequest), a .npy array (Content-Type " + npyType + ", float32 or float64, 2-D, C order; query layout), frames streamed in as JSON lines (" + ndjsonType + ": audio comes out while later frames still arrive), or a WAV/FLAC recording (raw body or multipart field \"file\") whose mels the server computes with the model's mel parameters (copy synthesis). The JSON fields other than mels are also query parameters: with a JSON body, for the fields it leaves out (a query parameter that contradicts the body is a 400).",
			"parameters": []any{
				map[string]any{"name": "model", "in": "query", "schema": str, "description": "default: the served vocoder (the only one, or the one named vocoder)"},
				map[string]any{"name": "method", "in": "query", "schema": map[string]any{"type": "string", "enum": []any{synth.MethodWaveNet, synth.MethodGriffinLim}}},
				map[string]any{"name": "layout", "in": "query", "schema": map[string]any{"type": "string", "enum": []any{synth.LayoutFramesByMels, synth.LayoutMelsByFrames}}, "description": ".npy only: the array's layout (default frames-by-mels)"},
				map[string]any{"name": "speaker", "in": "query", "schema": str, "description": "value of the condition named speaker, if the vocoder has one"},
				map[string]any{"name": "temperature", "in": "query", "schema": map[string]any{"type": "number", "minimum": 0}, "description": "default 1; 0 is greedy"},
				map[string]any{"name": "seed", "in": "query", "schema": intg},
				map[string]any{"name": "format", "in": "query", "schema": map[string]any{"type": "string", "enum": encodingNames()}},
				map[string]any{"name": "sample_rate", "in": "query", "schema": intg},
				map[string]any{"name": "stream", "in": "query", "schema": map[string]any{"type": "boolean"}},
				map[string]any{"name": "conditions", "in": "query", "style": "form", "explode": true,
					"schema":      map[string]any{"type": "object", "additionalProperties": str},
					"description": "the vocoder's global conditions, each as its own query parameter name=value (GET /v1/models lists them); any other name is a 400"},
			},
			"requestBody": map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": ref("VocodeRequest")},
				npyType:            binary,
				ndjsonType:         map[string]any{"schema": map[string]any{"type": "string", "description": "frames streamed in: each line a frame [n_mels numbers] or an array of frames, vocoded while later lines arrive; a bad line is a 400 naming it, or, once streamed audio has begun, cuts the stream"}},
				"audio/wav":        binary,
				"audio/flac":       binary,
				"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object",
					"properties": map[string]any{"file": map[string]any{"type": "string", "format": "binary"}}}},
			}},
			"responses": audioResponses(busy, "bad request: no mels, wrong n_mels, non-finite values, too long, not a vocoder, unreadable .npy or recording", "unsupported Content-Type"),
		}},
		"/v1/score": map[string]any{"post": map[string]any{
			"operationId": "scoreRecording",
			"summary":     "bits per sample of a WAV under a model",
			"description": "Teacher-forced cross-entropy of the mu-law codes of the upload (mono mix, resampled to the model's rate). Conditions are query parameters by name (or speaker, label).",
			"parameters": []any{
				map[string]any{"name": "model", "in": "query", "schema": str},
				map[string]any{"name": "speaker", "in": "query", "schema": str},
				map[string]any{"name": "label", "in": "query", "schema": str},
				map[string]any{"name": "from", "in": "query", "schema": str, "description": "first scored position: 0 (default), an index, or receptive_field"},
				map[string]any{"name": "raw", "in": "query", "schema": map[string]any{"type": "boolean"}, "description": "true: score the recording as it is (only resampled); default: processed (trimmed, normalised) as the model's training audio was"},
			},
			"requestBody": map[string]any{"required": true, "content": map[string]any{
				"audio/wav": binary,
				"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object",
					"properties": map[string]any{"file": map[string]any{"type": "string", "format": "binary"}}}},
			}},
			"responses": map[string]any{
				"200": map[string]any{"description": "score", "content": jsonContent(ref("ScoreResponse"))},
				"400": errResp("not a readable WAV, or bad parameters"),
				"401": errResp("missing or invalid API key"),
				"404": errResp("unknown model"),
				"413": errResp("upload too large or too long"),
				"415": errResp("unsupported Content-Type"),
				"429": busy,
			},
		}},
		"/v1/models": map[string]any{"get": map[string]any{
			"operationId": "listModels",
			"summary":     "served models, and (failed) the models that did not load when the server started, with their errors",
			"responses": map[string]any{
				"200": map[string]any{"description": "models", "content": jsonContent(map[string]any{"type": "object",
					"properties": map[string]any{"models": map[string]any{"type": "array", "items": ref("ModelInfo")},
						"failed": map[string]any{"type": "array", "items": map[string]any{"type": "object",
							"properties": map[string]any{"id": str, "error": str}}}}})},
				"401": errResp("missing or invalid API key"),
			},
		}},
		"/v1/models/{id}": map[string]any{"get": map[string]any{
			"operationId": "getModel",
			"summary":     "one model: config, receptive field, sample rate, labels",
			"parameters":  []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": str}},
			"responses": map[string]any{
				"200": map[string]any{"description": "model", "content": jsonContent(ref("ModelInfo"))},
				"401": errResp("missing or invalid API key"),
				"404": errResp("unknown model"),
				"503": errResp("the model did not load when the server started"),
			},
		}, "delete": map[string]any{
			"operationId": "deleteModel",
			"summary":     "delete a model made by a job: one in the shared job store (listed by job id) is deleted there with its job, for every replica; one a /v1/compress job added stops being served; running requests finish. Models the server started with cannot be deleted (409)",
			"parameters":  []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": str}},
			"responses": map[string]any{
				"204": map[string]any{"description": "deleted"},
				"401": errResp("missing or invalid API key"),
				"404": errResp("unknown model"),
				"409": errResp("a model the server was started with (--models or embedded)"),
			},
		}},
	}
}

// CheckOpenAPI reports routes that /openapi.json does not document (the
// web page's, Options.Page, aside),
// documented operations that are not routed (features included), and
// operations that client generators cannot name or that declare no client
// error: each needs a camelCase operationId used by no other operation and
// a 4xx response. It returns nil when there is nothing to report.
func (s *Server) CheckOpenAPI() error {
	documented := map[string]bool{}
	var problems []string
	opIDs := map[string]string{} // operationId -> "METHOD path"
	for p, item := range s.OpenAPI()["paths"].(map[string]any) {
		ops, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("api: openapi: path item %s is a %T, want an object", p, item)
		}
		for method, op := range ops {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				key := strings.ToUpper(method) + " " + p
				documented[key] = true
				problems = append(problems, checkOperation(key, op, opIDs)...)
			}
		}
	}
	routed := map[string]bool{}
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound || s.opts.Page != nil && slices.Contains(pageRoutes, r.Path) {
			continue // the web page's files are not operations (Options.Page)
		}
		routed[r.Method+" "+openAPIPath(r.Path)] = true
	}
	for k := range routed {
		if !documented[k] {
			problems = append(problems, "route "+k+" is not documented")
		}
	}
	for k := range documented {
		if !routed[k] {
			problems = append(problems, "documented "+k+" is not routed")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("api: openapi: %s", strings.Join(problems, "; "))
	}
	return nil
}

var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// checkOperation reports what op (the operation of key, "METHOD path")
// lacks: a camelCase operationId not in opIDs (which it joins) and a 4xx
// response.
func checkOperation(key string, op any, opIDs map[string]string) []string {
	o, ok := op.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("operation %s is a %T, want an object", key, op)}
	}
	var problems []string
	id, _ := o["operationId"].(string)
	switch {
	case id == "":
		problems = append(problems, "operation "+key+" has no operationId")
	case !camelCase.MatchString(id):
		problems = append(problems, fmt.Sprintf("operation %s: operationId %q is not camelCase", key, id))
	case opIDs[id] != "":
		problems = append(problems, fmt.Sprintf("operation %s: operationId %q is also %s's", key, id, opIDs[id]))
	default:
		opIDs[id] = key
	}
	responses, _ := o["responses"].(map[string]any)
	has4xx := false
	for code := range responses {
		has4xx = has4xx || strings.HasPrefix(code, "4")
	}
	if !has4xx {
		problems = append(problems, "operation "+key+" declares no 4xx response")
	}
	return problems
}

// openAPIPath turns echo's /v1/models/:id into /v1/models/{id} and an
// escaped colon (/v1/text\\:synthesize) into a literal one.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.ReplaceAll(strings.Join(parts, "/"), "\\:", ":")
}

// encodingNames lists the output formats of /v1/synthesize (audio's
// encodings) for the OpenAPI document.
func encodingNames() []any {
	var names []any
	for _, e := range audio.Encodings() {
		names = append(names, string(e))
	}
	return names
}

// The drop-in routes' documents: OpenAI's create speech and Google Cloud
// Text-to-Speech's text:synthesize and voices, each with its API's error
// shape.

var openAIErrorSchema = map[string]any{
	"type": "object", "required": []any{"error"},
	"description": "OpenAI's error object",
	"properties": map[string]any{"error": map[string]any{
		"type": "object", "required": []any{"message", "type", "param", "code"},
		"properties": map[string]any{
			"message": str,
			"type":    map[string]any{"type": "string", "enum": []any{"invalid_request_error", "rate_limit_error", "server_error"}},
			"param":   map[string]any{"type": "string", "nullable": true, "description": "the request field at fault"},
			"code":    map[string]any{"type": "string", "description": "bad_request, invalid_api_key, model_not_found, busy, ..."},
		},
	}},
}

var googleErrorSchema = map[string]any{
	"type": "object", "required": []any{"error"},
	"description": "Google's error shape (google.rpc.Status)",
	"properties": map[string]any{"error": map[string]any{
		"type": "object", "required": []any{"code", "message", "status"},
		"properties": map[string]any{
			"code":    map[string]any{"type": "integer", "description": "the HTTP status"},
			"message": str,
			"status":  map[string]any{"type": "string", "description": "canonical code: INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND, RESOURCE_EXHAUSTED, UNAVAILABLE, ..."},
		},
	}},
}

func openAIFormatNames() []any {
	var names []any
	for _, f := range openAIFormats {
		names = append(names, f.name)
	}
	return names
}

var speechSchema = map[string]any{
	"type":     "object",
	"required": []any{"model", "input", "voice"},
	"properties": map[string]any{
		"model": map[string]any{"type": "string", "description": "a model id from GET /v1/models; OpenAI's " + strings.Join(OpenAIModels, ", ") + " are served by the default model"},
		"input": map[string]any{"type": "string", "maxLength": MaxSpeechInput, "description": "the text: numbers are read digit by digit, number words as digits, punctuation dropped; a word the model cannot say is a 400 naming it"},
		"voice": map[string]any{"description": "a speaker of the model (GET /v1/models: the speaker condition's values), as a string or {\"id\": ...}", "oneOf": []any{
			str, map[string]any{"type": "object", "required": []any{"id"}, "properties": map[string]any{"id": str}},
		}},
		"instructions":    map[string]any{"type": "string", "description": "accepted and ignored: the model cannot change its manner of speaking"},
		"response_format": map[string]any{"type": "string", "enum": openAIFormatNames(), "default": "wav", "description": "pcm is raw 16-bit little-endian mono at 24000 Hz (OpenAI's); wav and flac at the model's rate; mulaw, alaw and float32 (this server's) raw at the model's rate. mp3, opus and aac are a 400."},
		"speed":           map[string]any{"type": "number", "minimum": audio.MinSpeed, "maximum": audio.MaxSpeed, "default": 1, "description": "played faster or slower without changing the pitch (WSOLA)"},
		"stream_format":   map[string]any{"type": "string", "enum": []any{"audio", "sse"}, "description": "audio: the bytes streamed while generated (chunked); sse: server-sent events {\"type\": \"speech.audio.delta\", \"audio\": base64} then {\"type\": \"speech.audio.done\", \"usage\": {input_tokens (labels said), output_tokens (samples), total_tokens}}; left out: the whole audio at once"},
	},
	"additionalProperties": false,
}

var googleSynthesizeSchema = map[string]any{
	"type":     "object",
	"required": []any{"input", "voice", "audioConfig"},
	"properties": map[string]any{
		"input": map[string]any{"type": "object", "description": "exactly one of text and ssml", "properties": map[string]any{
			"text": map[string]any{"type": "string", "description": "free text, read as /v1/audio/speech's input"},
			"ssml": map[string]any{"type": "string", "description": "SSML: <speak>, <say-as interpret-as=\"characters|cardinal|telephone\">, <break time|strength>, <s>, <p>; anything else is a 400 naming it"},
		}},
		"voice": map[string]any{"type": "object", "required": []any{"languageCode"}, "properties": map[string]any{
			"languageCode": map[string]any{"type": "string", "enum": []any{GoogleLanguage}},
			"name":         map[string]any{"type": "string", "description": "a name from GET /v1/voices, en-US-MODEL-SPEAKER (default: the default model's first speaker)"},
			"ssmlGender":   map[string]any{"type": "string", "description": "accepted and ignored"},
		}},
		"audioConfig": map[string]any{"type": "object", "required": []any{"audioEncoding"}, "properties": map[string]any{
			"audioEncoding":    map[string]any{"type": "string", "enum": []any{"LINEAR16", "PCM", "MULAW", "ALAW", "FLAC"}, "description": "LINEAR16 is a WAV file (as Google returns it); PCM raw 16-bit little-endian; MULAW and ALAW raw G.711 bytes (without Google's WAV header); FLAC is this server's. MP3, OGG_OPUS and M4A are a 400."},
			"sampleRateHertz":  map[string]any{"type": "integer", "description": "output rate (default: the voice's naturalSampleRateHertz)"},
			"speakingRate":     map[string]any{"type": "number", "minimum": 0, "maximum": audio.MaxSpeed, "description": "0.25 to 4 (0 or left out: 1), without changing the pitch"},
			"volumeGainDb":     map[string]any{"type": "number", "minimum": synth.MinGainDB, "maximum": synth.MaxGainDB, "description": "gain in dB, the samples clipped to full scale"},
			"pitch":            map[string]any{"type": "number", "description": "only 0: the model cannot change its pitch"},
			"effectsProfileId": map[string]any{"type": "array", "items": str, "description": "accepted and ignored"},
		}},
	},
	"additionalProperties": false,
}

var googleVoiceSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"languageCodes":          map[string]any{"type": "array", "items": str},
		"name":                   map[string]any{"type": "string", "description": "en-US-MODEL-SPEAKER (en-US-MODEL for a model without speakers)"},
		"ssmlGender":             map[string]any{"type": "string", "enum": []any{"SSML_VOICE_GENDER_UNSPECIFIED"}},
		"naturalSampleRateHertz": intg,
	},
}

func dropInPaths() map[string]any {
	openAIErr := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": jsonContent(ref("OpenAIError"))}
	}
	googleErr := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": jsonContent(ref("GoogleError"))}
	}
	binary := map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
	seed := map[string]any{"name": "X-Seed", "in": "header", "schema": map[string]any{"type": "integer", "minimum": 0},
		"description": "seed of the generation (default random); the response's X-Seed returns the one used, and /v1/synthesize with the same seed, text and speaker gives the same samples"}
	speechBusy := openAIErr("all generation slots and the wait queue are full; see Retry-After")
	speechBusy["headers"] = map[string]any{"Retry-After": map[string]any{"schema": intg}}
	googleBusy := googleErr("all generation slots and the wait queue are full (RESOURCE_EXHAUSTED); see Retry-After")
	googleBusy["headers"] = map[string]any{"Retry-After": map[string]any{"schema": intg}}
	return map[string]any{
		"/v1/audio/speech": map[string]any{"post": map[string]any{
			"operationId": "createSpeech",
			"summary":     "OpenAI-compatible text to speech",
			"description": "OpenAI's create speech (the official clients work with their base URL set to this server's /v1 and its API key as the Bearer token): the input is read as the model's labels and said by the voice's speaker, as /v1/synthesize's text. Errors are OpenAI's error objects.",
			"parameters":  []any{seed},
			"requestBody": map[string]any{"required": true, "content": jsonContent(ref("SpeechRequest"))},
			"responses": map[string]any{
				"200": map[string]any{"description": "audio (or, with stream_format sse, server-sent events)", "headers": audioHeaders(), "content": map[string]any{
					"audio/wav": binary, "audio/flac": binary, "audio/basic": binary, "audio/PCMU": binary, "audio/PCMA": binary,
					"application/octet-stream": binary, "text/event-stream": map[string]any{"schema": str},
				}},
				"400": openAIErr("bad request: unknown voice or format (the message lists them), text the model cannot say, speed out of range"),
				"401": openAIErr("missing or invalid API key (invalid_api_key)"),
				"404": openAIErr("unknown model (model_not_found)"),
				"413": openAIErr("body too large"),
				"415": openAIErr("body is not JSON"),
				"429": speechBusy,
				"503": openAIErr("shutting down, no model, or past the server's deadline"),
			},
		}},
		"/v1/text:synthesize": map[string]any{"post": map[string]any{
			"operationId": "synthesizeText",
			"summary":     "Google Cloud Text-to-Speech-compatible synthesis",
			"description": "Google Cloud TTS's text:synthesize: text or SSML said by a voice of GET /v1/voices, the audio base64 in audioContent. Errors are Google's {\"error\": {\"code\", \"message\", \"status\"}}.",
			"parameters":  []any{seed},
			"requestBody": map[string]any{"required": true, "content": jsonContent(ref("GoogleSynthesizeRequest"))},
			"responses": map[string]any{
				"200": map[string]any{"description": "the encoded audio", "headers": map[string]any{"X-Seed": map[string]any{"description": "seed used", "schema": intg}},
					"content": jsonContent(map[string]any{"type": "object", "properties": map[string]any{"audioContent": map[string]any{"type": "string", "format": "byte"}}})},
				"400": googleErr("INVALID_ARGUMENT: unknown voice or encoding (the message lists them), bad SSML, text the model cannot say, values out of range"),
				"401": googleErr("UNAUTHENTICATED: missing or invalid API key"),
				"404": googleErr("NOT_FOUND: the voice's model is gone"),
				"413": googleErr("INVALID_ARGUMENT: body too large"),
				"415": googleErr("INVALID_ARGUMENT: body is not JSON"),
				"429": googleBusy,
				"503": googleErr("UNAVAILABLE: shutting down, no model, or past the server's deadline"),
			},
		}},
		"/v1/voices": map[string]any{"get": map[string]any{
			"operationId": "listVoices",
			"summary":     "Google Cloud Text-to-Speech-compatible voice list",
			"description": "Every (model, speaker) of the models that say text, as Google's voices.list.",
			"parameters": []any{map[string]any{"name": "languageCode", "in": "query", "schema": str,
				"description": "en-US or en lists the voices; any other language none"}},
			"responses": map[string]any{
				"200": map[string]any{"description": "voices", "content": jsonContent(map[string]any{"type": "object",
					"properties": map[string]any{"voices": map[string]any{"type": "array", "items": ref("GoogleVoice")}}})},
				"401": googleErr("UNAUTHENTICATED: missing or invalid API key"),
			},
		}},
	}
}
