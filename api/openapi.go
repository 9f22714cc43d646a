package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpenAPI returns the server's OpenAPI 3 document: the core paths plus every
// feature's paths.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]any{}
	for p, item := range corePaths() {
		paths[p] = item
	}
	for _, f := range s.features {
		for p, item := range f.OpenAPI {
			paths[p] = item
		}
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "wavenet synthesis service",
			"version": "1",
			"description": "WaveNet audio synthesis (POST /v1/synthesize), scoring (POST /v1/score), " +
				"model listing, health, metrics, and contributed feature routes.",
		},
		"paths": paths,
	}
}

func (s *Server) handleOpenAPI(c echo.Context) error {
	return c.JSON(http.StatusOK, s.OpenAPI())
}

func corePaths() map[string]any { return map[string]any{} }
