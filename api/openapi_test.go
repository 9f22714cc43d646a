package api

import (
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestCheckOpenAPIOperations checks that CheckOpenAPI refuses a feature
// operation a client generator could not name (no, a duplicate or a
// non-camelCase operationId) or that declares no 4xx response.
func TestCheckOpenAPIOperations(t *testing.T) {
	m := tinyModel(t)
	with4xx := map[string]any{"200": map[string]any{"description": "ok"}, "400": map[string]any{"description": "bad"}}
	for _, c := range []struct {
		name string
		op   map[string]any
		want string
	}{
		{"no operationId", map[string]any{"responses": with4xx}, "operation GET /v1/extra has no operationId"},
		{"duplicate", map[string]any{"operationId": "synthesize", "responses": with4xx}, `operationId "synthesize" is also`},
		{"not camelCase", map[string]any{"operationId": "get_extra", "responses": with4xx}, `operationId "get_extra" is not camelCase`},
		{"no 4xx", map[string]any{"operationId": "getExtra", "responses": map[string]any{"200": map[string]any{"description": "ok"}}},
			"operation GET /v1/extra declares no 4xx response"},
		{"fine", map[string]any{"operationId": "getExtra", "responses": with4xx}, ""},
	} {
		extra := Feature{Name: "extra", Routes: func(g *echo.Group) {
			g.GET("/extra", func(c echo.Context) error { return c.NoContent(200) })
		}, OpenAPI: map[string]any{"/v1/extra": map[string]any{"get": c.op}}}
		s, _ := newTestServer(t, m, Options{Features: []Feature{extra}})
		err := s.CheckOpenAPI()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: CheckOpenAPI() = %v, want an error mentioning %q (none if empty)", c.name, err, c.want)
		}
	}
}
