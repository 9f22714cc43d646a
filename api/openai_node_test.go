package api

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// OpenAINodeVersion is the openai npm package version .ci/run installs
// for TestOpenAINodeClient (the newest 6.x: 7.x needs Node 22).
const openAINodeVersion = "6.30.1"

// TestOpenAINodeClient runs the official openai npm package (a client no
// one here wrote) against the server on loopback with its baseURL set to
// /v1 and a Bearer key: every response format, whole and streamed (audio
// and sse), must decode to /v1/synthesize's samples for the same seed
// (X-Seed, an extra header of the client), and an unknown voice must be
// the client's APIError with OpenAI's fields. It needs node and a folder
// where the package is installed, named by WAVENET_OPENAI_NODE_DIR.
func TestOpenAINodeClient(t *testing.T) {
	dir := os.Getenv("WAVENET_OPENAI_NODE_DIR")
	node, err := exec.LookPath("node")
	if dir == "" || err != nil {
		t.Skipf("needs node and WAVENET_OPENAI_NODE_DIR, a folder where `npm install openai@%s` ran (.ci/run sets it up)", openAINodeVersion)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		t.Fatalf("WAVENET_OPENAI_NODE_DIR=%s has no node_modules/openai: run `npm install openai@%s` there", dir, openAINodeVersion)
	}
	_, ts := newTestServer(t, tinyModel(t), Options{APIKeys: []string{"sk-test"}})
	ref := referenceSpeechKey(t, ts.URL, 0, "sk-test")
	ref24 := referenceSpeechKey(t, ts.URL, OpenAIPCMRate, "sk-test")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "openai_client.mjs"), dir, ts.URL+"/v1", "sk-test", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node openai_client.mjs: %v\n%s", err, b)
	}
	var results struct {
		Version string
		Files   map[string]struct {
			Chunks      int
			Seed        string
			ContentType string
		}
		Error struct {
			Status               int
			Message, Param, Type string
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &results); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if results.Version != openAINodeVersion {
		t.Errorf("openai package %s, want %s", results.Version, openAINodeVersion)
	}
	for _, f := range openAIFormats {
		for _, sf := range []string{"", "audio", "sse"} {
			name := f.name + "-" + map[string]string{"": "whole"}[sf]
			if sf != "" {
				name = f.name + "-" + sf
			}
			r, ok := results.Files[name]
			if !ok {
				t.Errorf("%s: no result", name)
				continue
			}
			if r.Seed != "9" {
				t.Errorf("%s: X-Seed %q, want 9", name, r.Seed)
			}
			body, err := os.ReadFile(filepath.Join(out, name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			checkSpeech(t, f, sf, r.ContentType, body, ref, ref24)
		}
	}
	if e := results.Error; e.Status != 400 || e.Param != "voice" || e.Type != "invalid_request_error" {
		t.Errorf("unknown voice: the client raised %+v, want status 400, param voice, type invalid_request_error", e)
	}
}
