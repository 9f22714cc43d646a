package compressapi

func jsonBody(schema map[string]any) map[string]any {
	return map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
}

func jsonResponse(desc string) map[string]any {
	return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
}

var errResponse = map[string]any{"description": "error: {\"error\": {\"code\", \"message\", \"request_id\"}}"}

func pathParam(name string) []any {
	return []any{map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}}}
}

var openAPI = map[string]any{
	"/v1/models/{id}/compress": map[string]any{
		"parameters": pathParam("id"),
		"post": map[string]any{
			"operationId": "compressModel",
			"summary":     "Submit a compress job (as POST /v1/jobs does) that quantizes or prunes an embedded model or a model a job made (id: the job's id); the new model is served under the compress job's id (new_model) when it is done",
			"requestBody": jsonBody(map[string]any{"type": "object", "required": []string{"method"},
				"properties": map[string]any{
					"method":      map[string]any{"type": "string", "enum": []string{"quantize", "prune"}},
					"dtype":       map[string]any{"type": "string", "enum": []string{"int8", "fp16", "bf16"}, "description": "quantize: default int8"},
					"per_channel": map[string]any{"type": "boolean", "description": "quantize int8: one scale per output channel"},
					"affine":      map[string]any{"type": "boolean", "description": "quantize int8: affine range with zero points instead of symmetric"},
					"unsigned":    map[string]any{"type": "boolean", "description": "quantize int8: quint8 (U8) rather than qint8 (I8)"},
					"amount":      map[string]any{"type": "number", "minimum": 0, "maximum": 1, "description": "prune: fraction of weights (default 0.5)"},
					"global":      map[string]any{"type": "boolean", "description": "prune: rank all weights together"},
					"structured":  map[string]any{"type": "boolean", "description": "prune: whole output channels (L2 norm)"},
				}}),
			"responses": map[string]any{"202": jsonResponse("the job, status running (state queued)"), "400": errResponse, "404": errResponse,
				"409": errResponse, "415": errResponse, "503": errResponse},
		},
	},
	"/v1/compress/jobs": map[string]any{
		"get": map[string]any{
			"operationId": "listCompressJobs",
			"summary":     "The compress jobs of the job store (GET /v1/jobs?kind=compress in this view's shape)",
			"responses":   map[string]any{"200": jsonResponse("{\"jobs\": [job]}"), "401": errResponse},
		},
	},
	"/v1/compress/jobs/{id}": map[string]any{
		"parameters": pathParam("id"),
		"get": map[string]any{
			"operationId": "getCompressJob",
			"summary":     "A compress job's status (running, done, failed, cancelled), state (the job's), stage, progress (0 to 1) and, when done, the new model's size and sparsity",
			"responses":   map[string]any{"200": jsonResponse("the job"), "404": errResponse},
		},
		"delete": map[string]any{
			"operationId": "deleteCompressJob",
			"summary":     "Cancel a compress job not finished (202; DELETE it again once cancelled), or delete a finished one with the model it made, which every replica stops serving (204). Finished jobs are also deleted by the jobs' retention (serve --keep-jobs, --job-max-age)",
			"responses":   map[string]any{"202": jsonResponse("the job, cancellation requested"), "204": map[string]any{"description": "deleted"}, "404": errResponse, "503": errResponse},
		},
	},
}
