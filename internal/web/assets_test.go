package web

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestPageAndAssets(t *testing.T) {
	f := newFixture(t, false)
	resp := f.do(t, "GET", "/", "", nil)
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("GET / lacks %s", h)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q: want only the page's own scripts", csp)
	}
	// Every file the page and its modules name is served, with its type; nothing comes from
	// another origin.
	refs := regexp.MustCompile(`(?:href|src)="([^"#]+)"|from '\./([^']+)'`)
	seen := map[string]bool{}
	queue := []string{string(page)}
	for len(queue) > 0 {
		text := queue[0]
		queue = queue[1:]
		for _, m := range refs.FindAllStringSubmatch(text, -1) {
			ref := m[1]
			if ref == "" {
				ref = "/ui/assets/" + m[2]
			}
			if strings.Contains(ref, "//") {
				t.Errorf("the dashboard loads %s from elsewhere; it must work offline", ref)
				continue
			}
			if seen[ref] {
				continue
			}
			seen[ref] = true
			r := f.do(t, "GET", ref, "", nil)
			body, _ := io.ReadAll(r.Body)
			if r.StatusCode != http.StatusOK || len(body) == 0 {
				t.Errorf("GET %s: %s", ref, r.Status)
			}
			if strings.HasSuffix(ref, ".js") {
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
					t.Errorf("GET %s: Content-Type %q", ref, ct)
				}
				queue = append(queue, string(body))
			}
		}
	}
	for _, want := range []string{"/ui/assets/app.js", "/ui/assets/style.css", "/ui/assets/charts.js", "/ui/assets/deployment.js"} {
		if !seen[want] {
			t.Errorf("the page never loads %s (loaded %v)", want, seen)
		}
	}
	// Revalidation by ETag.
	r := f.do(t, "GET", "/ui/assets/app.js", "", nil)
	etag := r.Header.Get("ETag")
	if etag == "" || r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("app.js: ETag %q, Cache-Control %q", etag, r.Header.Get("Cache-Control"))
	}
	if r := f.do(t, "GET", "/ui/assets/app.js", "", map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusNotModified {
		t.Errorf("app.js with its ETag: %s, want 304", r.Status)
	}
	if r := f.do(t, "GET", "/ui/assets/nope.js", "", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown asset: %s, want 404", r.Status)
	}
	// Everything else is the API's.
	for _, p := range []string{"/api/v1/apps", "/metrics", "/index.html", "/ui/nope"} {
		if r := f.do(t, "GET", p, "", nil); r.StatusCode != http.StatusTeapot {
			t.Errorf("GET %s: %s, want it passed to the API", p, r.Status)
		}
	}
}
