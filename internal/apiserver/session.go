package apiserver

import (
	"net/http"

	"github.com/cutover/cutover/internal/api"
)

// Sessions authenticate a browser by its dashboard session cookie, the alternative to a
// bearer token. Package web implements it; the session itself (cookie, expiry, CSRF token)
// is web's business, the rules below are the API's.
type Sessions interface {
	// SessionRole returns the role of the live session r's cookie names ("" when there is
	// none, or it expired) and whether r carries that session's CSRF token in its
	// X-CSRF-Token header, compared in constant time.
	SessionRole(r *http.Request) (role string, csrf bool)
}

// sessionRole is the role a request without an Authorization header gets from its session
// cookie. A request that may change something (any method but GET and HEAD) must also carry
// the session's CSRF token: a cookie is sent by the browser whoever made the page, the
// header only by the dashboard's own script. Bearer tokens and the unix socket never reach
// here, so scripts and the CLI need no CSRF token.
func (s *server) sessionRole(r *http.Request) (string, *api.Error) {
	if s.sessions == nil || r.Header.Get("Authorization") != "" {
		return "", nil
	}
	role, csrf := s.sessions.SessionRole(r)
	if role == "" {
		return "", nil
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !csrf {
		return "", &api.Error{Status: http.StatusForbidden, Code: api.CodeForbidden,
			Message: "this request carries a dashboard session cookie but not the session's CSRF token: send the token GET /ui/session gives as the X-CSRF-Token header, or use a bearer token"}
	}
	return role, nil
}
