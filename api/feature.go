package api

import (
	"sync"

	"github.com/labstack/echo/v4"
)

// Feature is a group of routes contributed from outside the core synthesis
// routes.
type Feature struct {
	Name string
	// Routes registers the feature's handlers. g is the /v1 group: API-key
	// auth, request IDs, body limits and the error handler already apply.
	Routes func(g *echo.Group)
	// OpenAPI holds OpenAPI 3 "paths" entries (path -> path item), merged
	// into /openapi.json. Paths are full paths, starting with /v1/.
	OpenAPI map[string]any
}

var (
	featuresMu sync.Mutex
	features   []Feature
)

// registerFeature adds an in-package feature (api/detection.go, ...); call
// it from init. Features from packages that import gorgonia (rl, compress)
// must not be imported by package api: the binary passes them in
// Options.Features instead.
func registerFeature(f Feature) {
	featuresMu.Lock()
	defer featuresMu.Unlock()
	features = append(features, f)
}

// registeredFeatures returns a copy of the in-package features.
func registeredFeatures() []Feature {
	featuresMu.Lock()
	defer featuresMu.Unlock()
	return append([]Feature(nil), features...)
}
