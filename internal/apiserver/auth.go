package apiserver

import (
	"context"
	"net/http"
	"strings"

	"github.com/cutover/cutover/internal/api"
)

// roleOf is the role r's credentials give: api.RoleAdmin for the unix socket or the admin
// token, api.RoleViewer for the read-only token, "" for anything else (see api.TokenRole).
func (s *server) roleOf(r *http.Request) string {
	if isLocal(r.Context()) {
		return api.RoleAdmin
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return api.TokenRole([]byte(strings.TrimSpace(got)), s.token, s.readOnly)
}

type roleKey struct{}

func withRole(ctx context.Context, role string) context.Context {
	return context.WithValue(ctx, roleKey{}, role)
}

func roleFrom(ctx context.Context) string {
	v, _ := ctx.Value(roleKey{}).(string)
	return v
}

// guard lets only the admin through to a route not marked viewer. A request without a role
// (which ServeHTTP never lets through) is refused too.
func (s *server) guard(rt route, h http.Handler) http.Handler {
	if rt.viewer {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if roleFrom(r.Context()) != api.RoleAdmin {
			s.writeError(w, r, &api.Error{Status: http.StatusForbidden, Code: api.CodeForbidden,
				Message: "this token is read-only: it may read and follow events, not " + r.Method + " " + r.URL.Path +
					"; use the admin token from the server's " + api.TokenFile + " file (the read-only one is in " + api.ReadOnlyTokenFile + ")"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *server) whoami(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, api.WhoAmI{Role: roleFrom(r.Context())})
	return nil
}
