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
			"summary":     "Quantize or prune a served model into a new model id, in the background; the new model is served when the job is done",
			"requestBody": jsonBody(map[string]any{"type": "object", "required": []string{"method"},
				"properties": map[string]any{
					"method":      map[string]any{"type": "string", "enum": []string{"quantize", "prune"}},
					"new_id":      map[string]any{"type": "string", "description": "default {id}-{dtype} or {id}-pruned{percent}"},
					"dtype":       map[string]any{"type": "string", "enum": []string{"int8", "fp16", "bf16"}, "description": "quantize: default int8"},
					"per_channel": map[string]any{"type": "boolean", "description": "quantize int8: one scale per output channel"},
					"affine":      map[string]any{"type": "boolean", "description": "quantize int8: affine range with zero points instead of symmetric"},
					"unsigned":    map[string]any{"type": "boolean", "description": "quantize int8: quint8 (U8) rather than qint8 (I8)"},
					"amount":      map[string]any{"type": "number", "minimum": 0, "maximum": 1, "description": "prune: fraction of weights (default 0.5)"},
					"global":      map[string]any{"type": "boolean", "description": "prune: rank all weights together"},
					"structured":  map[string]any{"type": "boolean", "description": "prune: whole output channels (L2 norm)"},
				}}),
			"responses": map[string]any{"202": jsonResponse("the job, status running"), "400": errResponse, "404": errResponse,
				"409": errResponse, "415": errResponse, "429": errResponse, "503": errResponse},
		},
	},
	"/v1/compress/jobs": map[string]any{
		"get": map[string]any{
			"operationId": "listCompressJobs",
			"summary":     "The compression jobs",
			"responses":   map[string]any{"200": jsonResponse("{\"jobs\": [job]}"), "401": errResponse},
		},
	},
	"/v1/compress/jobs/{id}": map[string]any{
		"parameters": pathParam("id"),
		"get": map[string]any{
			"operationId": "getCompressJob",
			"summary":     "A compression job's status, stage, progress (0 to 1) and, when done, the new model's size and sparsity",
			"responses":   map[string]any{"200": jsonResponse("the job"), "404": errResponse},
		},
		"delete": map[string]any{
			"operationId": "deleteCompressJob",
			"summary":     "Cancel a running compression job, or forget a finished one; the model it made stops being served and its checkpoint (--data-dir) is deleted. Finished jobs are also dropped by the server's retention (serve --compress-keep, --compress-keep-for)",
			"responses":   map[string]any{"204": map[string]any{"description": "deleted"}, "404": errResponse},
		},
	},
}
