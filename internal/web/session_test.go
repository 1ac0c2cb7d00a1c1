package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
)

const (
	adminTok  = "admin-token-0123456789"
	viewerTok = "viewer-token-0123456789"
)

// clock is a settable time for session expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a dashboard in front of a stand-in API that answers with the role the
// dashboard's session gives (the real rules are tested in package apiserver).
type fixture struct {
	d   *Dashboard
	srv *httptest.Server
	clk *clock
}

func newFixture(t *testing.T, tls bool) *fixture {
	t.Helper()
	f := &fixture{clk: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	f.d = New(Options{AdminToken: adminTok, ViewerToken: viewerTok, SessionTTL: time.Hour, MaxSessions: 3, Now: f.clk.now})
	stand := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role, csrf := f.d.SessionRole(r)
		w.Header().Set("X-Role", role)
		w.Header().Set("X-CSRF-OK", map[bool]string{true: "yes", false: "no"}[csrf])
		w.WriteHeader(http.StatusTeapot)
	})
	if tls {
		f.srv = httptest.NewTLSServer(f.d.Handler(stand))
	} else {
		f.srv = httptest.NewServer(f.d.Handler(stand))
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path string, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// login logs in with token and returns the session cookie and the CSRF token.
func (f *fixture) login(t *testing.T, token string) (*http.Cookie, string) {
	t.Helper()
	resp := f.do(t, "POST", "/ui/login", url.Values{"token": {token}}.Encode(), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", resp.Status)
	}
	var info SessionInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			return c, info.CSRFToken
		}
	}
	t.Fatalf("login set no %s cookie", CookieName)
	return nil, ""
}

func TestLoginCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		tls    bool
		token  string
		role   string
		secure bool
	}{
		{"admin over plain HTTP", false, adminTok, api.RoleAdmin, false},
		{"viewer over plain HTTP", false, viewerTok, api.RoleViewer, false},
		{"admin over TLS", true, adminTok, api.RoleAdmin, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFixture(t, tc.tls)
			resp := f.do(t, "POST", "/ui/login", "token="+tc.token, map[string]string{"Origin": f.srv.URL})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("login: %s", resp.Status)
			}
			var info SessionInfo
			if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
				t.Fatal(err)
			}
			if info.Role != tc.role || len(info.CSRFToken) < 40 || !info.ExpiresAt.Equal(f.clk.now().Add(time.Hour)) {
				t.Errorf("session info %+v: want role %s, a long CSRF token, expiry in 1h", info, tc.role)
			}
			cookies := resp.Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies %v, want one", cookies)
			}
			c := cookies[0]
			if c.Name != CookieName || len(c.Value) < 40 || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode ||
				c.Path != "/" || c.MaxAge != 3600 || c.Secure != tc.secure {
				t.Errorf("cookie %+v: want %s, a long random value, HttpOnly, SameSite=Strict, Path=/, Max-Age=3600, Secure=%v",
					c, CookieName, tc.secure)
			}
			if c.Value == info.CSRFToken {
				t.Error("the CSRF token is the session ID")
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("login answer Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
			}
			// The session is what the API sees, with its CSRF token or without.
			with := f.do(t, "POST", "/api/v1/apps/web/abort", "", map[string]string{"Cookie": c.Name + "=" + c.Value, CSRFHeader: info.CSRFToken})
			without := f.do(t, "POST", "/api/v1/apps/web/abort", "", map[string]string{"Cookie": c.Name + "=" + c.Value, CSRFHeader: info.CSRFToken[1:]})
			if with.Header.Get("X-Role") != tc.role || with.Header.Get("X-CSRF-OK") != "yes" || without.Header.Get("X-CSRF-OK") != "no" {
				t.Errorf("the API saw role %q csrf %q, and %q without the right token",
					with.Header.Get("X-Role"), with.Header.Get("X-CSRF-OK"), without.Header.Get("X-CSRF-OK"))
			}
		})
	}
}

func TestLoginRefusals(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		desc   string
		body   string
		hdr    map[string]string
		status int
	}{
		{"wrong token", "token=nope", nil, http.StatusUnauthorized},
		{"empty token", "token=", nil, http.StatusUnauthorized},
		{"a prefix of the token", "token=" + adminTok[:10], nil, http.StatusUnauthorized},
		{"the token with more after it", "token=" + adminTok + "x", nil, http.StatusUnauthorized},
		{"another site's page", "token=" + adminTok, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"a cross-site fetch", "token=" + adminTok, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"a body too large", "token=" + strings.Repeat("a", 8<<10), nil, http.StatusBadRequest},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			resp := f.do(t, "POST", "/ui/login", tc.body, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Errorf("status %s, want %d", resp.Status, tc.status)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("a refused login set cookies %v", resp.Cookies())
			}
			var body api.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error == nil || body.Error.Message == "" {
				t.Errorf("want an api error body, got %v (%v)", body, err)
			}
		})
	}
	if n := len(f.d.ses.m); n != 0 {
		t.Errorf("%d sessions after refused logins, want 0", n)
	}
}

func TestSessionExpires(t *testing.T) {
	f := newFixture(t, false)
	c, csrf := f.login(t, adminTok)
	hdr := map[string]string{"Cookie": c.Name + "=" + c.Value, CSRFHeader: csrf}
	f.clk.add(59 * time.Minute)
	if resp := f.do(t, "GET", "/ui/session", "", hdr); resp.StatusCode != http.StatusOK {
		t.Fatalf("session after 59m of 1h: %s", resp.Status)
	}
	if resp := f.do(t, "GET", "/api/v1/apps", "", hdr); resp.Header.Get("X-Role") != api.RoleAdmin {
		t.Fatalf("role after 59m: %q", resp.Header.Get("X-Role"))
	}
	f.clk.add(time.Minute)
	if resp := f.do(t, "GET", "/ui/session", "", hdr); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("session after 1h: %s, want 401", resp.Status)
	}
	if resp := f.do(t, "GET", "/api/v1/apps", "", hdr); resp.Header.Get("X-Role") != "" {
		t.Errorf("an expired session still gives role %q", resp.Header.Get("X-Role"))
	}
	if n := len(f.d.ses.m); n != 0 {
		t.Errorf("the expired session is still held (%d sessions)", n)
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t, false)
	c, csrf := f.login(t, viewerTok)
	cookie := c.Name + "=" + c.Value
	if resp := f.do(t, "POST", "/ui/logout", "", map[string]string{"Cookie": cookie}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without the CSRF token: %s, want 403", resp.Status)
	}
	if resp := f.do(t, "GET", "/ui/session", "", map[string]string{"Cookie": cookie}); resp.StatusCode != http.StatusOK {
		t.Fatalf("the refused logout ended the session: %s", resp.Status)
	}
	resp := f.do(t, "POST", "/ui/logout", "", map[string]string{"Cookie": cookie, CSRFHeader: csrf})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %s", resp.Status)
	}
	if cs := resp.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 || cs[0].Value != "" {
		t.Errorf("logout cookies %v: want the session cookie cleared", cs)
	}
	if resp := f.do(t, "GET", "/ui/session", "", map[string]string{"Cookie": cookie}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("session after logout: %s, want 401", resp.Status)
	}
}

// TestLoginReplacesSession: a login ends the session the browser had, and the store keeps no
// more than MaxSessions, dropping the oldest.
func TestLoginReplacesSession(t *testing.T) {
	f := newFixture(t, false)
	old, _ := f.login(t, viewerTok)
	resp := f.do(t, "POST", "/ui/login", "token="+adminTok, map[string]string{"Cookie": old.Name + "=" + old.Value})
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.Status)
	}
	if _, ok := f.d.ses.get(old.Value); ok {
		t.Error("the session from before the login is still live")
	}
	var cs []*http.Cookie
	for range 4 {
		f.clk.add(time.Second)
		c, _ := f.login(t, viewerTok)
		cs = append(cs, c)
	}
	if n := len(f.d.ses.m); n != 3 {
		t.Errorf("%d sessions, want at most MaxSessions=3", n)
	}
	if _, ok := f.d.ses.get(cs[0].Value); ok {
		t.Error("the oldest session survived a full store")
	}
	if _, ok := f.d.ses.get(cs[3].Value); !ok {
		t.Error("the newest session was dropped")
	}
}
