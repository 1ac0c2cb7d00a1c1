package apiserver

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/web"
)

// sessionRig is the API behind the dashboard, as the daemon composes them, over the rig's
// engine, with a settable clock for session expiry.
type sessionRig struct {
	*rig
	url string
	mu  sync.Mutex
	now time.Time
}

func newSessionRig(t *testing.T) *sessionRig {
	r := &sessionRig{rig: newRig(t), now: time.Now()}
	dash := web.New(web.Options{AdminToken: testToken, ViewerToken: testViewerToken, SessionTTL: time.Hour,
		Now: func() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now }})
	apiSrv := newServer(Options{Engine: r.eng, Token: testToken, ReadOnlyToken: testViewerToken,
		Logger: testLogger(), Sessions: dash})
	apiSrv.ping, apiSrv.recheck = 50*time.Millisecond, 20*time.Millisecond
	srv := httptest.NewServer(dash.Handler(apiSrv))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	r.url = srv.URL
	return r
}

// login returns the session cookie ("name=value") and the CSRF token for token.
func (r *sessionRig) login(token string) (string, string) {
	r.t.Helper()
	resp, err := http.PostForm(r.url+"/ui/login", url.Values{"token": {token}})
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var info web.SessionInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || resp.StatusCode != http.StatusOK {
		r.t.Fatalf("login: %s %v", resp.Status, err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == web.CookieName {
			return c.Name + "=" + c.Value, info.CSRFToken
		}
	}
	r.t.Fatal("login set no session cookie")
	return "", ""
}

// call makes a request with the given headers and returns the status and the error code.
func (r *sessionRig) call(method, path, body string, hdr map[string]string) (int, string) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb api.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	code := ""
	if eb.Error != nil {
		code = eb.Error.Code
	}
	return resp.StatusCode, code
}

func TestSessionCookieAuth(t *testing.T) {
	r := newSessionRig(t)
	spec := string(r.specText(""))
	admin, adminCSRF := r.login(testToken)
	viewer, viewerCSRF := r.login(testViewerToken)

	for _, tc := range []struct {
		desc         string
		method, path string
		body         string
		hdr          map[string]string
		status       int
		code         string
	}{
		{"admin session reads", "GET", "/api/v1/apps", "", map[string]string{"Cookie": admin}, 200, ""},
		{"viewer session reads", "GET", "/api/v1/whoami", "", map[string]string{"Cookie": viewer}, 200, ""},
		{"a write without the CSRF header", "PUT", "/api/v1/apps/web", spec, map[string]string{"Cookie": admin}, 403, api.CodeForbidden},
		{"a write with another session's CSRF token", "PUT", "/api/v1/apps/web", spec,
			map[string]string{"Cookie": admin, web.CSRFHeader: viewerCSRF}, 403, api.CodeForbidden},
		{"a write with a cut CSRF token", "PUT", "/api/v1/apps/web", spec,
			map[string]string{"Cookie": admin, web.CSRFHeader: adminCSRF[:len(adminCSRF)-1]}, 403, api.CodeForbidden},
		{"a validate (viewer route) without the CSRF header", "POST", "/api/v1/validate", spec, map[string]string{"Cookie": viewer}, 403, api.CodeForbidden},
		{"a write with the admin session and its CSRF token", "PUT", "/api/v1/apps/web", spec,
			map[string]string{"Cookie": admin, web.CSRFHeader: adminCSRF}, 200, ""},
		{"a viewer session's action with its CSRF token", "POST", "/api/v1/apps/web/abort", "",
			map[string]string{"Cookie": viewer, web.CSRFHeader: viewerCSRF}, 403, api.CodeForbidden},
		{"a viewer session's deploy with its CSRF token", "POST", "/api/v1/apps/web/deployments", `{"version":"v1"}`,
			map[string]string{"Cookie": viewer, web.CSRFHeader: viewerCSRF}, 403, api.CodeForbidden},
		{"a viewer session's validate with its CSRF token", "POST", "/api/v1/validate", spec,
			map[string]string{"Cookie": viewer, web.CSRFHeader: viewerCSRF}, 200, ""},
		{"a made-up cookie", "GET", "/api/v1/apps", "", map[string]string{"Cookie": web.CookieName + "=forged"}, 401, api.CodeUnauthorized},
		// Bearer clients are unaffected: no CSRF header needed, and a cookie beside a wrong
		// token does not rescue it.
		{"bearer write, no CSRF header", "POST", "/api/v1/validate", spec, map[string]string{"Authorization": "Bearer " + testToken}, 200, ""},
		{"wrong bearer token with a live cookie", "GET", "/api/v1/apps", "",
			map[string]string{"Authorization": "Bearer nope", "Cookie": admin}, 401, api.CodeUnauthorized},
		{"viewer bearer token with an admin cookie and CSRF", "POST", "/api/v1/apps/web/abort", "",
			map[string]string{"Authorization": "Bearer " + testViewerToken, "Cookie": admin, web.CSRFHeader: adminCSRF}, 403, api.CodeForbidden},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			status, code := r.call(tc.method, tc.path, tc.body, tc.hdr)
			if status != tc.status || code != tc.code {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, status, code, tc.status, tc.code)
			}
		})
	}

	// The event stream takes the cookie (EventSource cannot send headers).
	req, _ := http.NewRequest("GET", r.url+"/api/v1/events", nil)
	req.Header.Set("Cookie", viewer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("event stream with a session cookie: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}

	// An expired session is no session.
	r.mu.Lock()
	r.now = r.now.Add(time.Hour)
	r.mu.Unlock()
	if status, code := r.call("GET", "/api/v1/apps", "", map[string]string{"Cookie": admin}); status != 401 || code != api.CodeUnauthorized {
		t.Errorf("an expired session: %d %s, want 401 unauthorized", status, code)
	}
	if status, _ := r.call("PUT", "/api/v1/apps/web", spec, map[string]string{"Cookie": admin, web.CSRFHeader: adminCSRF}); status != 401 {
		t.Errorf("a write with an expired session and its CSRF token: %d, want 401", status)
	}
}

// TestEventStreamEndsWithItsSession: an event stream opened with a dashboard session ends
// when the session does (here: logout), while a stream opened with a token goes on.
func TestEventStreamEndsWithItsSession(t *testing.T) {
	r := newSessionRig(t)
	cookie, csrf := r.login(testToken)
	open := func(hdr, val string) *http.Response {
		req, _ := http.NewRequest("GET", r.url+"/api/v1/events", nil)
		req.Header.Set(hdr, val)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != 200 {
			t.Fatalf("event stream with %s: %s", hdr, resp.Status)
		}
		return resp
	}
	bySession := open("Cookie", cookie)
	byToken := open("Authorization", "Bearer "+testToken)

	if status, _ := r.call("POST", "/ui/logout", "", map[string]string{"Cookie": cookie, web.CSRFHeader: csrf}); status/100 != 2 {
		t.Fatalf("logout: %d", status)
	}
	start := time.Now()
	if _, err := io.ReadAll(bySession.Body); err != nil {
		t.Fatalf("the session's stream did not end cleanly after logout: %v (after %v)", err, time.Since(start))
	}
	t.Logf("the session's stream ended %v after logout", time.Since(start))
	// The token's stream is still open: it keeps getting its keep-alive pings.
	sc := bufio.NewScanner(byToken.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), ": ping") {
			return
		}
	}
	t.Fatalf("the token's stream ended with the session: %v", sc.Err())
}
