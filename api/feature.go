package api

import (
	"sort"
	"time"

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

// Retention bounds the finished jobs a feature keeps (compression jobs,
// rl runs): at most Keep of them, none older than MaxAge (finished
// longer ago). Running jobs are never dropped and do not count. Zero
// fields take DefaultKeep and DefaultKeepFor.
type Retention struct {
	Keep   int
	MaxAge time.Duration
}

// The defaults of Retention.
const (
	DefaultKeep    = 32
	DefaultKeepFor = 24 * time.Hour
)

// WithDefaults returns r with its zero fields set to the defaults.
func (r Retention) WithDefaults() Retention {
	if r.Keep <= 0 {
		r.Keep = DefaultKeep
	}
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultKeepFor
	}
	return r
}

// Expired returns the indices of the finished jobs to drop at now, given
// their finish times: those past MaxAge, and the oldest beyond Keep.
func (r Retention) Expired(finished []time.Time, now time.Time) []int {
	r = r.WithDefaults()
	idx := make([]int, len(finished))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return finished[idx[a]].After(finished[idx[b]]) }) // newest first
	var drop []int
	for rank, i := range idx {
		if rank >= r.Keep || now.Sub(finished[i]) > r.MaxAge {
			drop = append(drop, i)
		}
	}
	sort.Ints(drop)
	return drop
}
