package cli

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

var openAPIOut = flag.String("openapi-out", "", "write the OpenAPI document of serve (every feature mounted) to this file, for .ci/run's lint")

// TestServeOpenAPIWrite writes the document as serve assembles it (the
// features of newServeFeatures and the job routes mounted) to the file given by -openapi-out,
// for .ci/run's lint:
//
//	go test ./cmd/internal/cli -run ServeOpenAPIWrite -openapi-out FILE
//
// TestServeOpenAPIDocumentsEveryRoute checks the same document.
func TestServeOpenAPIWrite(t *testing.T) {
	if *openAPIOut == "" {
		t.Skip("no -openapi-out file")
	}
	features := testFeatures(t, false, featureLimits{})
	defer features.close()
	srv, err := api.New(api.Options{Models: map[string]*synth.Bundle{"default": {Model: wavenettest.Tiny(t, 1, nil)}}, Features: append(features.list, jobsFeatureDoc())})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	b, err := json.MarshalIndent(srv.OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*openAPIOut, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
