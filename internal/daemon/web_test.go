package daemon

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/sampleapp/sampletest"
	"github.com/cutover/cutover/internal/web"
)

// TestDashboardServed: the dashboard is at / on the TCP API (no token needed for the page
// itself) and on the socket; over TLS its session cookie is Secure, and the API takes it.
func TestDashboardServed(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	listen := sampletest.FreeAddr(t)
	start(t, Config{DataDir: dir, Listen: listen, TLSCert: certFile, TLSKey: keyFile})
	tok, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + listen

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

	resp, err = hc.PostForm(base+"/ui/login", url.Values{"token": {strings.TrimSpace(string(tok))}})
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
