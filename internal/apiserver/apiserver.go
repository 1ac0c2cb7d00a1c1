// Package apiserver serves cutover's HTTP API (the routes listed in package api) over the
// control plane: it turns requests into engine operations and engine state into wire types.
//
// It owns authentication and roles (the admin token, or a request marked local because it
// came over the unix socket, may call every route; the read-only token only the routes the
// table marks viewer; a dashboard session cookie, through the Sessions port, has its
// session's role and needs its CSRF token on every write), error mapping (every error is an
// api.Error with a stable code; internal detail goes to the log, never to the client), the
// event stream and the OpenAPI document.
// Every route is declared once, in the table in routes.go, which both registers the handlers
// and generates the document, so the two cannot drift.
//
// It must not know how deployments are decided or how instances run: it sees the engine
// through the Engine port and the router through the Signals port.
package apiserver

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/spec"
)

// Engine is what the API needs of the control plane. *engine.Engine satisfies it.
type Engine interface {
	Apply(a *spec.App) error
	Apps() ([]engine.AppInfo, error)
	App(name string) (engine.AppInfo, error)
	Delete(ctx context.Context, name string) error
	Deploy(ctx context.Context, app, version string, set map[string]string) (deploy.State, error)
	Command(app string, kind deploy.CommandKind) error
	Rollback(ctx context.Context, app string) (deploy.State, error)
	Deployment(id string) (deploy.State, error)
	History(app string) ([]deploy.State, error)
	Releases(app string) ([]engine.ReleaseInfo, error)
	Events(id string) ([]deploy.Event, error)
	Why(app string) (string, error)
	Instances(ctx context.Context, app string) ([]engine.InstanceInfo, error)
	Logs(ctx context.Context, app, version string, lines int) ([]engine.LogLine, error)
	// Subscribe returns live notices until the returned function is called.
	Subscribe() (<-chan engine.Notice, func())
}

var _ Engine = (*engine.Engine)(nil)

// Signals is what the API needs of the router.
type Signals interface {
	Signals(app string, window time.Duration) (router.AppSignals, bool)
}

var _ Signals = (*router.Router)(nil)

// Options configure the handler New returns.
type Options struct {
	Engine Engine
	Router Signals
	// Routers, if set, lets routers follow the server (GET /api/v1/router/table, POST
	// /api/v1/router/report) and lists them (GET /api/v1/routers).
	Routers Routers
	// Token is required as "Authorization: Bearer <token>" on every request not marked
	// local. An empty Token lets only local requests in.
	Token string
	// ReadOnlyToken, if set, is accepted like Token but only for the routes that change
	// nothing; the others answer it 403 forbidden.
	ReadOnlyToken string
	// Logger receives the detail of internal errors; nil discards.
	Logger *slog.Logger
	// Metrics is served at /metrics; nil answers 404.
	Metrics http.Handler
	// Sessions, if set, lets a request without an Authorization header in by its dashboard
	// session cookie (package web), with the session's role; see sessionRole for the CSRF rule.
	Sessions Sessions
	// Failures, if set, delays and counts wrong bearer tokens (see package authfail); past
	// its limit an address is answered 429.
	Failures Failures
	// MaxStreams bounds the event streams open at once per token or dashboard session
	// (beyond: 429); default DefaultMaxStreams. The unix socket is not bounded.
	MaxStreams int
	// Authenticated, if set, is told of every request let in by a token or session, before
	// its handler runs (the daemon stops counting its connection as unauthenticated).
	Authenticated func(context.Context)
	// Pipelines, if set, runs the apps' pipelines (the pipeline routes answer 404 without).
	Pipelines Pipelines
}

// Failures is what the API needs of a failed-authentication limiter; *authfail.Limiter
// satisfies it.
type Failures interface {
	Failed(ctx context.Context, remote, what string) (limited bool, retryAfter time.Duration)
}

// server holds the dependencies every handler reads; it is immutable after New.
type server struct {
	eng     Engine
	signals Signals
	routers Routers
	token   []byte
	// readOnly is the viewer's token; empty when there is none.
	readOnly []byte
	log      *slog.Logger
	metrics  http.Handler
	sessions Sessions
	failures Failures
	streams  streams
	authed   func(context.Context)
	mux      *http.ServeMux
	public   *http.ServeMux // the routes that take no token
	pipes    Pipelines
	routes   []route
	ping     time.Duration // between keep-alive comments on event streams
	recheck  time.Duration // between checks that an event stream's session still lives
}

// New returns the API handler. Every request is authenticated before anything else runs.
func New(opts Options) http.Handler {
	return newServer(opts)
}

func newServer(opts Options) *server {
	s := &server{eng: opts.Engine, signals: opts.Router, routers: opts.Routers, token: []byte(opts.Token), readOnly: []byte(opts.ReadOnlyToken), log: opts.Logger,
		metrics: opts.Metrics, sessions: opts.Sessions, failures: opts.Failures, authed: opts.Authenticated, mux: http.NewServeMux(), public: http.NewServeMux(), pipes: opts.Pipelines, ping: 15 * time.Second,
		recheck: time.Second}
	s.streams = streams{max: opts.MaxStreams, open: map[string]int{}}
	if s.streams.max <= 0 {
		s.streams.max = DefaultMaxStreams
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.routes = routeTable()
	for _, rt := range s.routes {
		if rt.public {
			s.public.Handle(rt.pattern(), http.HandlerFunc(s.hook))
			continue
		}
		s.mux.Handle(rt.pattern(), s.guard(rt, s.wrap(rt.handle)))
	}
	return s
}

type localKey struct{}

// WithLocal marks a request context as coming over the unix socket: no token needed. The
// daemon sets it with http.Server.ConnContext on its unix listener.
func WithLocal(ctx context.Context) context.Context {
	return context.WithValue(ctx, localKey{}, true)
}

func isLocal(ctx context.Context) bool {
	v, _ := ctx.Value(localKey{}).(bool)
	return v
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.public.Handler(r); pattern != "" {
		s.public.ServeHTTP(w, r)
		return
	}
	role := s.roleOf(r)
	ctx := r.Context()
	if role == "" {
		var refused *api.Error
		if role, refused = s.sessionRole(r); refused != nil {
			s.writeError(w, r, refused)
			return
		}
		if role != "" {
			ctx = context.WithValue(ctx, sessionKey{}, true)
		}
	}
	if role == "" {
		// Refused on the head alone: the body is never read, and the connection is closed
		// after the answer, so a client without credentials cannot hold it by trickling a
		// body net/http would otherwise drain (up to 256 KiB, at the client's pace) when the
		// handler returns: the read deadline set to now ends that drain at once.
		w.Header().Set("Connection", "close")
		w.Header().Set("WWW-Authenticate", `Bearer realm="cutover"`)
		// After the failure's delay: a pending read deadline ends the request's context.
		defer func() { _ = http.NewResponseController(w).SetReadDeadline(time.Now()) }()
		if s.failures != nil && r.Header.Get("Authorization") != "" {
			if limited, retry := s.failures.Failed(r.Context(), r.RemoteAddr, "bearer token"); limited {
				w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())))
				s.writeError(w, r, &api.Error{Status: http.StatusTooManyRequests, Code: api.CodeTooManyRequests,
					Message: "too many wrong tokens from this address: wait " + retry.String() + " and pass the token from the server's token file"})
				return
			}
		}
		s.writeError(w, r, &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
			Message: "missing or wrong token: pass the token from the server's token file as Authorization: Bearer <token>"})
		return
	}
	if s.authed != nil {
		s.authed(ctx)
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.writeError(w, r, s.noRoute(r))
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(withRole(ctx, role)))
}

type sessionKey struct{}

// bySession reports a request let in by its dashboard session cookie rather than a token.
func bySession(ctx context.Context) bool {
	v, _ := ctx.Value(sessionKey{}).(bool)
	return v
}

// noRoute answers a request the mux has no pattern for: 405 when the path exists under
// another method, else 404, both as api.Errors rather than the mux's plain text.
func (s *server) noRoute(r *http.Request) *api.Error {
	var allowed []string
	seen := map[string]bool{}
	for _, rt := range s.routes {
		if seen[rt.method] {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = rt.method
		if _, p := s.mux.Handler(probe); p != "" {
			seen[rt.method] = true
			allowed = append(allowed, rt.method)
		}
	}
	if len(allowed) > 0 {
		return &api.Error{Status: http.StatusMethodNotAllowed, Code: api.CodeBadRequest,
			Message: r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allowed, " or ")}
	}
	return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound,
		Message: "no route " + r.Method + " " + r.URL.Path + "; the routes are listed in GET /api/openapi.json"}
}
