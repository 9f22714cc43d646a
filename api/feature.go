package api

import (
	"github.com/labstack/echo/v4"
)

// Feature is a group of routes served besides the core synthesis routes
// (detection, rl and compress live in api/detectionapi, api/rlapi and
// api/compressapi). The binary lists the features it serves in
// Options.Features; api serves exactly those.
type Feature struct {
	Name string
	// Routes registers the feature's handlers. g is the /v1 group: API-key
	// auth, request IDs, body limits and the error handler already apply.
	Routes func(g *echo.Group)
	// OpenAPI holds OpenAPI 3 "paths" entries (path -> path item), merged
	// into /openapi.json. Paths are full paths, starting with /v1/.
	OpenAPI map[string]any
}

// DecodeJSON decodes a feature's JSON request body into v as the core
// routes decode theirs: unknown fields and trailing data are refused, an
// empty body is a 400 ({} gives the defaults), and every error is an *Error whose
// message names the field (never echo's internal error text).
func DecodeJSON(c echo.Context, v any) error { return decodeJSON(c, v) }
