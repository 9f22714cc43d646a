// Package web holds the web page of the synthesis service, the page
// `wavenet serve` answers at / (issue 17): plain HTML, CSS and JavaScript
// modules embedded in the binary (go:embed), with no build step and no
// external requests (no CDN, no web font).
//
// The page is a client of the HTTP API and nothing else: the Studio
// (GET /v1/models, POST /v1/synthesize streamed as raw PCM and played
// through the Web Audio API while it arrives, POST /v1/vocode for a
// vocoder), a health view read from /metrics (Prometheus text exposition
// format), and the listening tests (/v1/listening-tests: the owner creates
// a test and reads its results, #listening and #results/ID; a listener
// rates blind from the shared link, #listen/ID). Handler serves it; the
// api package mounts it (api.Options.Page) without knowing what it holds.
package web
