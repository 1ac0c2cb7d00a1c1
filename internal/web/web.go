// Package web is cutover's dashboard: a small page (HTML, CSS and vanilla JavaScript,
// embedded in the binary, nothing fetched from elsewhere) that shows the apps, their
// deployments, traffic split and signals live, and sends the deployment commands. It talks
// to the server only through the public HTTP API and its event streams, like any client.
//
// It owns the browser's way in: a login that takes an API token (the admin or the read-only
// one) and answers with a session cookie (random ID, HttpOnly, SameSite=Strict, Secure over
// TLS, bounded lifetime), the sessions themselves (in memory, each with its role and a CSRF
// token), and logout. The API accepts the cookie in place of a bearer token through
// apiserver.Sessions, which Dashboard implements; the API, not this package, enforces roles.
//
// It must not know the engine, the router or the store: everything it shows comes from the
// API.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// Defaults for Options.
const (
	DefaultSessionTTL  = 12 * time.Hour
	DefaultMaxSessions = 1000
)

// Options configure a Dashboard.
type Options struct {
	// AdminToken and ViewerToken are the API's tokens; logging in with one gives a session
	// of its role. An empty token logs nobody in.
	AdminToken, ViewerToken string
	// SessionTTL bounds a session's life from its login; default DefaultSessionTTL.
	SessionTTL time.Duration
	// MaxSessions bounds how many sessions are kept; past it the oldest go. Default
	// DefaultMaxSessions.
	MaxSessions int
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Failures, if set, delays and counts wrong tokens at the login (see package authfail).
	Failures Failures
}

// Failures is what the login needs of a failed-authentication limiter; *authfail.Limiter
// satisfies it.
type Failures interface {
	Failed(ctx context.Context, remote, what string) (limited bool, retryAfter time.Duration)
}

// Dashboard serves the dashboard and holds its sessions.
type Dashboard struct {
	admin, viewer []byte
	ses           *sessions
	log           *slog.Logger
	failures      Failures
}

// New returns a Dashboard with no sessions.
func New(opts Options) *Dashboard {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dashboard{admin: []byte(opts.AdminToken), viewer: []byte(opts.ViewerToken),
		ses: newSessions(opts.SessionTTL, opts.MaxSessions, opts.Now), log: opts.Logger, failures: opts.Failures}
}

// SessionRole implements apiserver.Sessions: the role of r's live session, and whether r
// carries the session's CSRF token.
func (d *Dashboard) SessionRole(r *http.Request) (role string, csrf bool) {
	_, ses, ok := d.ses.fromRequest(r)
	if !ok {
		return "", false
	}
	return ses.role, csrfOK(r, ses)
}

// Handler serves the dashboard at / and its own routes under /ui/, and passes every other
// request to apiHandler.
func (d *Dashboard) Handler(apiHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serveAsset("index.html"))
	mux.HandleFunc("GET /ui/assets/{name}", func(w http.ResponseWriter, r *http.Request) {
		serveAsset(r.PathValue("name"))(w, r)
	})
	mux.HandleFunc("POST /ui/login", d.login)
	mux.HandleFunc("POST /ui/logout", d.logout)
	mux.HandleFunc("GET /ui/session", d.session)
	mux.Handle("/", apiHandler)
	return mux
}

// roleOf is the role token gives (see api.TokenRole: constant time, both tokens always).
func (d *Dashboard) roleOf(token string) string {
	return api.TokenRole([]byte(token), d.admin, d.viewer)
}
