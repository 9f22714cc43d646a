package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestErrorShape(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nope", nil))
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET /nope body %q: %v", rec.Body, err)
	}
	if rec.Code != http.StatusNotFound || body.Error.Code != "not_found" || body.Error.RequestID == "" {
		t.Errorf("GET /nope = %d %+v, want 404 not_found with a request id", rec.Code, body)
	}
}
