package rlapi

func jsonBody(schema map[string]any) map[string]any {
	return map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
}

func jsonResponse(desc string) map[string]any {
	return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
}

var errResponse = map[string]any{"description": "error: {\"error\": {\"code\", \"message\", \"request_id\"}}"}

var idParam = []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}}

var openAPI = map[string]any{
	"/v1/rl/runs": map[string]any{
		"post": map[string]any{
			"operationId": "startRLRun",
			"summary":     "Submit a reinforcement-learning training run: an rl job of the job store (as POST /v1/jobs with kind rl does), run by a worker",
			"requestBody": jsonBody(map[string]any{"type": "object", "required": []string{"env", "agent", "episodes"},
				"properties": map[string]any{
					"env":           map[string]any{"type": "string", "example": "FrozenLake-v1"},
					"agent":         map[string]any{"type": "string", "example": "q-learning"},
					"episodes":      map[string]any{"type": "integer", "minimum": 1},
					"seed":          map[string]any{"type": "integer"},
					"eval_episodes": map[string]any{"type": "integer"},
				}}),
			"responses": map[string]any{"202": jsonResponse("the run, status running (state queued)"), "400": errResponse, "415": errResponse, "503": errResponse},
		},
	},
	"/v1/rl/runs/{id}": map[string]any{
		"parameters": idParam,
		"get": map[string]any{
			"operationId": "getRLRun",
			"summary":     "A run's status (running, done, failed, cancelled), the job's state, stage and progress, and when done its learning curve (returns per episode) and evaluation",
			"responses":   map[string]any{"200": jsonResponse("the run"), "404": errResponse},
		},
		"delete": map[string]any{
			"operationId": "deleteRLRun",
			"summary":     "Cancel a run not finished (202; DELETE it again once cancelled), or delete a finished one with its outputs (204). Finished runs are also deleted by the jobs' retention (serve --keep-jobs, --job-max-age)",
			"responses":   map[string]any{"202": jsonResponse("the run, cancellation requested"), "204": map[string]any{"description": "deleted"}, "404": errResponse, "503": errResponse},
		},
	},
	"/v1/rl/runs/{id}/act": map[string]any{
		"parameters": idParam,
		"post": map[string]any{
			"operationId": "rlPolicyAction",
			"summary":     "The trained policy's action for an observation (the run's policy output, loaded by any replica)",
			"requestBody": jsonBody(map[string]any{"type": "object", "required": []string{"observation"},
				"properties": map[string]any{"observation": map[string]any{"type": "array", "items": map[string]any{"type": "number"}}}}),
			"responses": map[string]any{"200": jsonResponse("{\"action\": n}"), "400": errResponse, "404": errResponse, "409": errResponse, "415": errResponse},
		},
	},
}
