package jobsapi

// obj is a JSON object schema.
func obj(desc string) map[string]any {
	return map[string]any{"type": "object", "description": desc}
}

// answer is a response with a JSON body of the given schema.
func answer(desc string, schema map[string]any) map[string]any {
	return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
}

var problem = map[string]any{"description": "error: {\"error\": {\"code\", \"message\", \"request_id\"}}"}

var idParam = map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}

var jobSchema = map[string]any{"type": "object",
	"description": "a job's record: id, kind, request, state (queued, running, succeeded, failed, cancelled), stage, progress (0-1), error, cancel_requested, created, started, finished, attempts, outputs [{name, size, content_type}], result",
	"properties": map[string]any{
		"id":       map[string]any{"type": "string"},
		"kind":     map[string]any{"type": "string"},
		"state":    map[string]any{"type": "string", "enum": []string{"queued", "running", "succeeded", "failed", "cancelled"}},
		"stage":    map[string]any{"type": "string"},
		"progress": map[string]any{"type": "number"},
		"error":    map[string]any{"type": "string"},
		"attempts": map[string]any{"type": "integer"},
		"outputs":  map[string]any{"type": "array", "items": obj("{name, size, content_type}")},
		"request":  obj("the kind's fields as submitted"),
		"result":   obj("the kind's summary of a succeeded job"),
	}}

var openAPI = map[string]any{
	"/v1/jobs": map[string]any{
		"post": map[string]any{
			"operationId": "createJob",
			"summary":     "Queue a durable job (NATS JetStream): any replica's workers run it, a worker killed mid-job leaves it to another",
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
				"type": "object", "required": []string{"kind"},
				"description": "kind plus the kind's fields. synthesize: {requests: [POST /v1/synthesize bodies]} -> outputs 000.wav, 001.wav, ...; " +
					"compress: {model (embedded id) or job (a job that made a model), method: quantize|prune, dtype, per_channel, affine, unsigned, amount, global, structured} -> model/...; " +
					"train: {data (a corpus path on the worker), preset, cond, rate, steps, batch, segment, workers, lr, seed, checkpoint_every, keep, validate_every} -> run/... and model/...; " +
					"rl: {env, agent, episodes, seed, eval_episodes} -> run/summary.json, run/policy.json, run/curve.png",
				"properties": map[string]any{"kind": map[string]any{"type": "string", "enum": []string{"synthesize", "compress", "train", "rl"}}},
			}}}},
			"responses": map[string]any{"202": answer("{id, state}; Location: /v1/jobs/{id}", obj("{id, state}")), "400": problem, "415": problem, "503": problem},
		},
		"get": map[string]any{
			"operationId": "listJobs",
			"summary":     "Every job, oldest first, optionally of one kind or state",
			"parameters": []any{
				map[string]any{"name": "kind", "in": "query", "required": false, "schema": map[string]any{"type": "string"}},
				map[string]any{"name": "state", "in": "query", "required": false, "schema": map[string]any{"type": "string", "enum": []string{"queued", "running", "succeeded", "failed", "cancelled"}}},
			},
			"responses": map[string]any{"200": answer("{jobs: [job]}", obj("{jobs: [job]}")), "401": problem, "503": problem},
		},
	},
	"/v1/jobs/{id}": map[string]any{
		"parameters": []any{idParam},
		"get": map[string]any{
			"operationId": "getJob",
			"summary":     "A job's record: state, progress, attempts, outputs, result",
			"responses":   map[string]any{"200": answer("the job", jobSchema), "404": problem, "503": problem},
		},
		"delete": map[string]any{
			"operationId": "deleteJob",
			"summary":     "Cancel a job not finished (202: its worker stops it); delete a finished one with its outputs (204)",
			"responses": map[string]any{"202": answer("cancel requested: the job", jobSchema), "204": map[string]any{"description": "deleted"},
				"404": problem, "503": problem},
		},
	},
	"/v1/jobs/{id}/events": map[string]any{
		"parameters": []any{idParam},
		"get": map[string]any{
			"operationId": "getJobEvents",
			"summary":     "Server-sent events: \"job\" with the record each time it changes, until the job is finished or deleted",
			"responses": map[string]any{"200": map[string]any{"description": "text/event-stream of \"event: job\" with the record as data",
				"content": map[string]any{"text/event-stream": map[string]any{"schema": map[string]any{"type": "string"}}}},
				"404": problem, "503": problem},
		},
	},
	"/v1/jobs/{id}/outputs/{name}": map[string]any{
		"parameters": []any{idParam, map[string]any{"name": "name", "in": "path", "required": true,
			"description": "the output's name as listed in the job's outputs; '/' escaped as %2F (model%2Fconfig.json)", "schema": map[string]any{"type": "string"}}},
		"get": map[string]any{
			"operationId": "getJobOutput",
			"summary":     "Download a job's output (a WAV, a model file, a checkpoint, a PNG)",
			"responses": map[string]any{"200": map[string]any{"description": "the output's bytes",
				"content": map[string]any{"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}},
				"404": problem, "503": problem},
		},
	},
}
