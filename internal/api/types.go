// Package api is cutover's HTTP API as data: the wire types, the error codes and a client.
// The CLI links only this package; the server implements it (internal/apiserver).
//
// Routes (JSON unless noted; every error is an Error with a stable code):
//
//	GET    /api/v1/apps                         []App
//	PUT    /api/v1/apps/{app}                   body: spec YAML -> App  (400 invalid_spec with problems)
//	POST   /api/v1/validate                     body: spec YAML -> Validation
//	GET    /api/v1/apps/{app}                   App
//	DELETE /api/v1/apps/{app}                   204
//	GET    /api/v1/apps/{app}/releases          []Release
//	POST   /api/v1/apps/{app}/deployments       DeployRequest -> 201 Deployment (409 deployment_in_progress)
//	GET    /api/v1/apps/{app}/deployments       []Deployment, newest first (history)
//	GET    /api/v1/deployments/{id}             Deployment with Events
//	POST   /api/v1/apps/{app}/{command}         command: promote approve pause resume abort -> 202 Deployment
//	POST   /api/v1/apps/{app}/rollback          201 Deployment (a rollback after success)
//	GET    /api/v1/apps/{app}/why               Why
//	GET    /api/v1/apps/{app}/instances         []Instance
//	GET    /api/v1/apps/{app}/logs?version=&lines=   []LogLine
//	GET    /api/v1/apps/{app}/signals?window=30s     Signals
//	GET    /api/v1/events?app=                  text/event-stream of Notice (all apps, or one)
//	GET    /api/v1/deployments/{id}/events      text/event-stream of Notice for one deployment
//	GET    /api/v1/whoami                       WhoAmI: the caller's role
//	GET    /api/v1/router/table?epoch=&version=&wait=   RouterTable, when it differs (long poll)
//	POST   /api/v1/router/report                RouterReport -> 204 (a following router's counters)
//	GET    /api/v1/routers                      []RouterInfo: the routers serving the server's table
//	GET    /api/openapi.json                    the OpenAPI 3 document of all of the above
//	GET    /metrics                             Prometheus
//
// Over TCP every request needs "Authorization: Bearer <token>": the admin token (TokenFile)
// may call every route, the read-only token (ReadOnlyTokenFile) only those that change
// nothing (GETs, the event streams and POST /validate); the others answer it 403 forbidden.
// The unix socket needs no token and has the admin role. The web dashboard's session cookie
// (internal/web) is accepted in place of the token, with the role of the token it logged in
// with; a request with the cookie that is not a GET or HEAD must also carry the session's
// CSRF token as X-CSRF-Token.
package api

import "time"

// Error codes: stable strings a script may match.
const (
	CodeBadRequest           = "bad_request"
	CodeInvalidSpec          = "invalid_spec"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeDeploymentInProgress = "deployment_in_progress"
	CodeConflict             = "conflict"
	CodeTooManyRequests      = "too_many_requests"
	CodeInternal             = "internal"
)

// Error is the body of every non-2xx answer.
type Error struct {
	Code     string    `json:"code"`
	Message  string    `json:"message"` // says what to fix
	Problems []Problem `json:"problems,omitempty"`
	Status   int       `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// ErrorBody wraps Error on the wire: {"error": {...}}.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Problem is one thing wrong with a spec.
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// Validation answers POST /validate.
type Validation struct {
	Valid    bool      `json:"valid"`
	App      string    `json:"app,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
}

// App is one app.
type App struct {
	Name   string `json:"name"`
	Spec   string `json:"spec"` // YAML, defaults filled, secret env values shown as ******
	Blue   string `json:"blue,omitempty"`
	Active string `json:"active_deployment,omitempty"`
}

// Release is one version of an app.
type Release struct {
	Number    int       `json:"number"`
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
}

// DeployRequest starts a deployment.
type DeployRequest struct {
	Version string            `json:"version"`
	Set     map[string]string `json:"set,omitempty"` // env overrides for the new release
}

// Deployment is a deployment's state.
type Deployment struct {
	ID         string     `json:"id"`
	App        string     `json:"app"`
	Kind       string     `json:"kind,omitempty"` // "rollback" for a rollback after success
	Phase      string     `json:"phase"`
	Terminal   bool       `json:"terminal"`
	Green      string     `json:"green"`
	Blue       string     `json:"blue,omitempty"`
	Weight     float64    `json:"weight"` // green's share, percent
	Step       int        `json:"step"`   // 1-based
	Steps      int        `json:"steps"`
	Paused     bool       `json:"paused,omitempty"`
	Reason     string     `json:"reason"`
	Evidence   []string   `json:"evidence,omitempty"`
	Traffic    string     `json:"traffic,omitempty"` // a load balancer's own evidence of the weights it holds
	CreatedAt  time.Time  `json:"created_at"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	StepEndsAt *time.Time `json:"step_ends_at,omitempty"` // when the current pause ends
	Events     []Event    `json:"events,omitempty"`
}

// Event is one recorded transition.
type Event struct {
	At      time.Time `json:"at"`
	Phase   string    `json:"phase"`
	Weight  float64   `json:"weight"`
	Message string    `json:"message"`
}

// Notice is one event as the event stream sends it.
type Notice struct {
	App        string `json:"app"`
	Deployment string `json:"deployment"`
	Event      Event  `json:"event"`
}

// Why answers "what is this deployment waiting for".
type Why struct {
	Deployment string `json:"deployment"`
	Text       string `json:"text"`
}

// Instance is one running copy of a release.
type Instance struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Addr    string `json:"addr"`
	Running bool   `json:"running"`
	Healthy bool   `json:"healthy"`
	Reason  string `json:"reason,omitempty"`
}

// LogLine is one line of an instance's output.
type LogLine struct {
	Instance string `json:"instance"`
	Line     string `json:"line"`
}

// Signals is what the router saw of an app over a window, per version.
type Signals struct {
	App    string         `json:"app"`
	Window string         `json:"window"`
	Weight float64        `json:"weight"`
	Blue   VersionSignals `json:"blue"`
	Green  VersionSignals `json:"green"`
}

// VersionSignals is one version's traffic over the window.
type VersionSignals struct {
	Version   string  `json:"version,omitempty"`
	Requests  uint64  `json:"requests"`
	Errors    uint64  `json:"errors"` // 5xx
	Rate      float64 `json:"rate"`   // requests per second
	ErrorRate float64 `json:"error_rate"`
	P50Ms     float64 `json:"p50_ms"`
	P90Ms     float64 `json:"p90_ms"`
	P99Ms     float64 `json:"p99_ms"`
}

// Roles a caller may have.
const (
	RoleAdmin  = "admin"  // the admin token or the unix socket: every route
	RoleViewer = "viewer" // the read-only token: routes that change nothing
)

// WhoAmI answers GET /api/v1/whoami: the role the request's credentials give, so a UI can
// hide what the caller may not do.
type WhoAmI struct {
	Role string `json:"role"` // RoleAdmin or RoleViewer
}
