package listeningapi

func jsonBody(schema map[string]any) map[string]any {
	return map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
}

func jsonResponse(desc string) map[string]any {
	return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
}

var errResponse = map[string]any{"description": "error: {\"error\": {\"code\", \"message\", \"request_id\"}}"}

func pathParams(names ...string) []any {
	var out []any
	for _, n := range names {
		out = append(out, map[string]any{"name": n, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	return out
}

func queryParam(name, desc string, enum ...string) map[string]any {
	return map[string]any{"name": name, "in": "query", "required": false, "description": desc,
		"schema": map[string]any{"type": "string", "enum": enum}}
}

var listenerHeader = map[string]any{"name": ListenerHeader, "in": "header", "required": false,
	"description": "the listener token the server issued (or the cookie " + ListenerCookie + ")",
	"schema":      map[string]any{"type": "string"}}

var openAPI = map[string]any{
	"/v1/listening-tests": map[string]any{
		"post": map[string]any{
			"operationId": "createListeningTest",
			"summary":     "Make a listening test: each (model, text) said once with the seed, or the WAVs of a folder on the server (dir: one subfolder per system); the stimuli's audio is stored with the test",
			"requestBody": jsonBody(map[string]any{"type": "object", "required": []string{"kind"},
				"properties": map[string]any{
					"name":   map[string]any{"type": "string"},
					"kind":   map[string]any{"type": "string", "enum": []string{"mos", "ab"}, "description": "mos: a 1-5 score per stimulus; ab: a preference between two models per text"},
					"models": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "served model ids (ab: exactly two); with dir, subfolders (default all)"},
					"texts":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "texts said by every model; with dir, file names without .wav (default those all systems have)"},
					"seed":   map[string]any{"type": "integer", "minimum": 0, "description": "synthesis seed of every stimulus (default 0)"},
					"dir":    map[string]any{"type": "string", "description": "a folder under the server's WAV root, instead of synthesizing"},
				}}),
			"responses": map[string]any{"201": jsonResponse("the test, with its stimuli and their models (the owner's view)"),
				"400": errResponse, "404": errResponse, "415": errResponse, "429": errResponse, "503": errResponse},
		},
		"get": map[string]any{
			"operationId": "listListeningTests",
			"summary":     "The listening tests, newest first",
			"responses":   map[string]any{"200": jsonResponse("{\"tests\": [summary]}"), "401": errResponse},
		},
	},
	"/v1/listening-tests/{id}": map[string]any{
		"parameters": pathParams("id"),
		"get": map[string]any{
			"operationId": "getListeningTest",
			"summary":     "The test as a listener sees it: stimulus ids, texts and audio paths in the listener's own order, no model names, the listener's ratings so far; issues a listener token (header X-Listener, cookie " + ListenerCookie + ") when the request has none",
			"parameters":  []any{listenerHeader},
			"responses":   map[string]any{"200": jsonResponse("the listener's view"), "404": errResponse},
		},
		"delete": map[string]any{
			"operationId": "deleteListeningTest",
			"summary":     "Delete a test with its audio and ratings",
			"responses":   map[string]any{"204": map[string]any{"description": "deleted"}, "404": errResponse},
		},
	},
	"/v1/listening-tests/{id}/stimuli/{sid}/audio": map[string]any{
		"parameters": pathParams("id", "sid"),
		"get": map[string]any{
			"operationId": "getListeningTestAudio",
			"summary":     "A stimulus's audio as stored when the test was made",
			"parameters":  []any{queryParam("side", "ab: which of the two (default a)", "a", "b")},
			"responses": map[string]any{
				"200": map[string]any{"description": "the WAV", "content": map[string]any{
					"audio/wav": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}},
				"400": errResponse, "404": errResponse},
		},
	},
	"/v1/listening-tests/{id}/ratings/{sid}": map[string]any{
		"parameters": pathParams("id", "sid"),
		"put": map[string]any{
			"operationId": "rateListeningTestStimulus",
			"summary":     "Set the listener's rating of a stimulus (replacing their earlier one; never another listener's)",
			"parameters":  []any{listenerHeader},
			"requestBody": jsonBody(map[string]any{"type": "object",
				"properties": map[string]any{
					"score":  map[string]any{"type": "integer", "minimum": 1, "maximum": 5, "description": "mos: 1 (bad) to 5 (excellent)"},
					"choice": map[string]any{"type": "string", "enum": []string{"a", "b", "none"}, "description": "ab: the preferred side, or none"},
				}}),
			"responses": map[string]any{"200": jsonResponse("the rating"), "400": errResponse, "403": errResponse, "404": errResponse, "415": errResponse},
		},
	},
	"/v1/listening-tests/{id}/results": map[string]any{
		"parameters": pathParams("id"),
		"get": map[string]any{
			"operationId": "getListeningTestResults",
			"summary":     "MOS per model with 95% t-intervals, or A/B preference counts with a two-sided exact binomial test (ties excluded), and every rating with listeners anonymised",
			"parameters": []any{queryParam("format", "json (default) or csv", "json", "csv"),
				queryParam("table", "csv: summary (default; MOS or preference per model) or ratings (one line per rating)", "summary", "ratings")},
			"responses": map[string]any{
				"200": map[string]any{"description": "the results", "content": map[string]any{
					"application/json": map[string]any{"schema": map[string]any{"type": "object"}},
					"text/csv":         map[string]any{"schema": map[string]any{"type": "string"}}}},
				"400": errResponse, "404": errResponse},
		},
	},
}
