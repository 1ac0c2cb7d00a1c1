package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

//go:embed assets
var assetFS embed.FS

// asset is one embedded file, read once.
type asset struct {
	data  []byte
	etag  string
	ctype string
}

// assets are the dashboard's files by name. They are few and small, so all are read at
// start; a missing or unreadable one is a build mistake and panics at init.
var assets = func() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic("web: read embedded assets: " + err.Error())
	}
	for _, e := range entries {
		data, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic("web: read embedded asset " + e.Name() + ": " + err.Error())
		}
		sum := sha256.Sum256(data)
		ctype, ok := contentTypes[path.Ext(e.Name())]
		if !ok {
			panic("web: embedded asset " + e.Name() + " has no known content type")
		}
		out[e.Name()] = asset{data: data, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
	}
	return out
}()

// contentTypes are fixed here rather than read from the system's MIME table, which may
// differ between machines.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// contentSecurityPolicy lets the page load only its own files and talk only to its own
// server: no inline script, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// serveAsset answers with the named asset, revalidated by ETag on every load (so a new
// binary's files are picked up at once), or 404.
func serveAsset(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[name]
		h := w.Header()
		securityHeaders(h)
		if !ok {
			http.Error(w, "no such dashboard file", http.StatusNotFound)
			return
		}
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.data))
	}
}

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}
