package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// SessionInfo answers a login and GET /ui/session: the session's role, the CSRF token the
// page must send as X-CSRF-Token on every request that may change something, and when the
// session ends.
type SessionInfo struct {
	Role      string    `json:"role"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// maxLoginBody bounds a login form: a token is 64 characters.
const maxLoginBody = 4 << 10

// login takes the form field token (application/x-www-form-urlencoded) and, when it is one
// of the API's tokens, starts a session of its role: the cookie in the answer, the CSRF token
// in its body. A session the browser already had is ended first, so a login never keeps an
// ID that existed before it.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, api.CodeForbidden, "a login must come from the dashboard's own page")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "send the token as a form field: token=<token>")
		return
	}
	role := d.roleOf(r.PostForm.Get("token"))
	if role == "" {
		w.Header().Set("Connection", "close")
		if d.failures == nil {
			d.log.Warn("dashboard login refused: wrong token", "remote", r.RemoteAddr)
		} else if limited, retry := d.failures.Failed(r.Context(), r.RemoteAddr, "dashboard login"); limited {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())))
			writeError(w, http.StatusTooManyRequests, api.CodeTooManyRequests,
				"too many wrong tokens from this address: wait "+retry.String()+" and paste the output of `cutover token`")
			return
		}
		writeError(w, http.StatusUnauthorized, api.CodeUnauthorized,
			"wrong token: paste the output of `cutover token` (admin) or `cutover token --read-only` (viewer)")
		return
	}
	if old, _, ok := d.ses.fromRequest(r); ok {
		d.ses.delete(old)
	}
	id, ses, err := d.ses.create(role)
	if err != nil {
		d.log.Error("dashboard login failed", "err", err)
		writeError(w, http.StatusInternalServerError, api.CodeInternal, "the server could not start a session; its log has the detail")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", MaxAge: int(d.ses.ttl.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	d.log.Info("dashboard login", "role", role, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, SessionInfo{Role: ses.role, CSRFToken: ses.csrf, ExpiresAt: ses.expires})
}

// logout ends the session and clears the cookie. With a live session it needs the CSRF
// token like every other request that changes something.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	id, ses, ok := d.ses.fromRequest(r)
	if ok && !csrfOK(r, ses) {
		writeError(w, http.StatusForbidden, api.CodeForbidden, "send the session's CSRF token as the X-CSRF-Token header to log out")
		return
	}
	if ok {
		d.ses.delete(id)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// session tells the page whether its cookie names a live session, and gives the CSRF token
// again after a reload (the page keeps it in memory only).
func (d *Dashboard) session(w http.ResponseWriter, r *http.Request) {
	_, ses, ok := d.ses.fromRequest(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, "no session: log in with an API token")
		return
	}
	writeJSON(w, http.StatusOK, SessionInfo{Role: ses.role, CSRFToken: ses.csrf, ExpiresAt: ses.expires})
}

// sameOrigin refuses a request another site's page made: browsers send Origin on every
// POST, and Sec-Fetch-Site where they support it. A request with neither (curl, a script)
// is let through; it has no cookie it could ride on.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to tell it
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.ErrorBody{Error: &api.Error{Code: code, Message: msg}})
}
