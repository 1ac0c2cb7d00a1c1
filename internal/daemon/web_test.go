package daemon

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/web"
)

// TestDashboardServed: the dashboard is at / on the TCP API (no token needed for the page
// itself) and on the socket; over TLS its session cookie is Secure, and the API takes it.
func TestDashboardServed(t *testing.T) {
	ts := startTLS(t)
	dir, tok, hc := ts.dir, ts.token, ts.hc
	base := "https://" + ts.listen

	resp, err := hc.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "/ui/assets/app.js") {
		t.Fatalf("GET / over TLS: %s %.200q", resp.Status, page)
	}
	if sock := getOverSocket(t, DefaultSocket(dir), "/"); !strings.Contains(sock, "/ui/assets/app.js") {
		t.Errorf("GET / over the socket: %.200q", sock)
	}

	resp, err = hc.PostForm(base+"/ui/login", url.Values{"token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == web.CookieName {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusOK || cookie == nil || !cookie.Secure || !cookie.HttpOnly {
		t.Fatalf("login over TLS: %s, cookie %+v: want a Secure, HttpOnly session cookie", resp.Status, cookie)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/whoami", nil)
	req.AddCookie(cookie)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"admin"`) {
		t.Errorf("whoami with the session cookie: %s %s", resp.Status, body)
	}
}
