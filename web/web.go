package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed files
var files embed.FS

// contentTypes are the Content-Types of the page's files, by extension:
// a table of its own rather than mime.TypeByExtension, whose answers
// depend on the host's /etc/mime.types.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// ContentType returns the Content-Type the page's file name is served
// with ("" for an extension the page does not use).
func ContentType(name string) string { return contentTypes[path.Ext(name)] }

// Caching: index.html is revalidated on every load (no-cache) so that a
// new binary's page is seen at once; the assets may be reused for five
// minutes without asking. Both carry a strong ETag (a hash of the
// content), so a revalidation of an unchanged file is a 304.
const (
	cachePage   = "no-cache"
	cacheStatic = "public, max-age=300"
)

// csp allows the page only its own origin: scripts, styles, fetches and
// media from the server, blob: URLs for the audio it builds, data: for
// canvases saved as images. No request leaves the server.
const csp = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

type file struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the page: GET / (and HEAD) answers index.html, GET
// /static/NAME the assets; anything else is 404. Mount it on / and
// /static/ of a server.
func Handler() http.Handler {
	h := handler{}
	err := fs.WalkDir(files, "files", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h[strings.TrimPrefix(p, "files")] = &file{body: b, contentType: ContentType(p),
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: embedded files: " + err.Error()) // the binary's own files: a build mistake
	}
	return h
}

// handler maps a URL path ("/index.html", "/static/app.js") to its file.
type handler map[string]*file

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "web: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p, cache := r.URL.Path, cacheStatic
	switch {
	case p == "/":
		p, cache = "/index.html", cachePage
	case !strings.HasPrefix(p, "/static/"):
		p = "" // index.html only as /, nothing else outside /static/
	}
	f, ok := h[p]
	if !ok || f.contentType == "" {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("Cache-Control", cache)
	hd.Set("ETag", f.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	if p == "/index.html" {
		hd.Set("Content-Security-Policy", csp)
		hd.Set("Referrer-Policy", "no-referrer")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
