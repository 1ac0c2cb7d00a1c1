package apiserver

import (
	"net/http"

	"github.com/cutover/cutover/internal/api"
)

// route is one API operation: the handler and what the OpenAPI document says of it. The one
// table below registers the handlers and generates the document.
type route struct {
	method  string
	path    string // Go ServeMux wildcards, which are also OpenAPI path templates
	summary string
	query   []param
	reqJSON any  // a value of the JSON request body's type, or nil
	reqYAML bool // the body is a spec in YAML
	status  int  // the success status
	resp    any  // a value of the JSON response body's type, or nil for none
	media   string
	// viewer lets the read-only token call the route: it changes nothing. Left false, the
	// route is the admin's alone, so a route added without a thought fails closed.
	viewer bool
	// public routes take no token: the request authenticates itself (a webhook's signature).
	// Their handler is (*server).hook, which writes every answer itself.
	public bool
	handle handlerFunc
}

// param is a query parameter (in: query) or a path wildcard's enumeration (in: path).
type param struct {
	name, desc string
	in         string // "query" (default) or "path"
	enum       []string
}

func (r route) pattern() string { return r.method + " " + r.path }

// commands are the names POST /api/v1/apps/{app}/{command} accepts.
var commands = []string{"promote", "approve", "pause", "resume", "abort"}

const (
	mediaJSON   = "application/json"
	mediaEvents = "text/event-stream"
	mediaText   = "text/plain"
)

func routeTable() []route {
	appPath := "/api/v1/apps/{app}"
	return []route{
		{method: "GET", path: "/api/v1/apps", summary: "List the apps", status: 200, resp: []api.App{}, viewer: true, handle: (*server).listApps},
		{method: "PUT", path: appPath, summary: "Apply an app's spec (YAML); 400 invalid_spec lists every problem", reqYAML: true, status: 200, resp: api.App{}, handle: (*server).putApp},
		{method: "POST", path: "/api/v1/validate", summary: "Check a spec (YAML) without storing it", reqYAML: true, status: 200, resp: api.Validation{}, viewer: true, handle: (*server).validate},
		{method: "GET", path: appPath, summary: "Describe one app", status: 200, resp: api.App{}, viewer: true, handle: (*server).getApp},
		{method: "DELETE", path: appPath, summary: "Stop an app's instances and forget it", status: 204, handle: (*server).deleteApp},
		{method: "GET", path: appPath + "/releases", summary: "List an app's releases", status: 200, resp: []api.Release{}, viewer: true, handle: (*server).releases},
		{method: "POST", path: appPath + "/deployments", summary: "Deploy a version (409 deployment_in_progress while one runs)", reqJSON: api.DeployRequest{}, status: 201, resp: api.Deployment{}, handle: (*server).deploy},
		{method: "GET", path: appPath + "/deployments", summary: "An app's deployments, newest first", status: 200, resp: []api.Deployment{}, viewer: true, handle: (*server).history},
		{method: "GET", path: "/api/v1/deployments/{id}", summary: "One deployment with its events", status: 200, resp: api.Deployment{}, viewer: true, handle: (*server).getDeployment},
		{method: "POST", path: appPath + "/{command}", summary: "Send a command to the app's deployment in progress", status: 202, resp: api.Deployment{},
			query: []param{{name: "command", in: "path", desc: "what to do", enum: commands}}, handle: (*server).command},
		{method: "POST", path: appPath + "/rollback", summary: "Return traffic to the previous version after a successful deployment", status: 201, resp: api.Deployment{}, handle: (*server).rollback},
		{method: "GET", path: appPath + "/pipeline/runs", summary: "An app's pipeline runs, newest first", status: 200, resp: []api.PipelineRun{},
			query: []param{{name: "limit", desc: "at most this many (default 50)"}}, viewer: true, handle: (*server).pipelineRuns},
		{method: "POST", path: appPath + "/pipeline/runs", summary: "Queue a pipeline run of a commit (or of the branch head); it supersedes the queued ones", reqJSON: api.PipelineRunRequest{}, status: 202, resp: api.PipelineRun{}, handle: (*server).runPipeline},
		{method: "POST", path: appPath + "/pipeline/approve", summary: "Pass the approval gate of the app's pipeline run waiting at one", status: 202, resp: api.PipelineRun{}, handle: (*server).approvePipeline},
		{method: "POST", path: appPath + "/pipeline/hooks", summary: "A push webhook from GitHub, GitLab or Gitea; no token: verified by pipeline.webhook.secret (401 on a wrong signature)", status: 202, resp: api.HookAnswer{}, public: true},
		{method: "GET", path: "/api/v1/pipeline-runs/{id}", summary: "One pipeline run with its stages", status: 200, resp: api.PipelineRun{}, viewer: true, handle: (*server).getPipelineRun},
		{method: "GET", path: "/api/v1/pipeline-runs/{id}/logs/{stage}", summary: "A stage's whole log, secrets masked ({\"log\": \"...\"}, its last MiB)", status: 200, viewer: true, handle: (*server).pipelineLog},
		{method: "GET", path: appPath + "/why", summary: "What the app's latest deployment waits for", status: 200, resp: api.Why{}, viewer: true, handle: (*server).why},
		{method: "GET", path: appPath + "/instances", summary: "The app's instances", status: 200, resp: []api.Instance{}, viewer: true, handle: (*server).instances},
		{method: "GET", path: appPath + "/logs", summary: "The last lines of the app's instances", status: 200, resp: []api.LogLine{},
			query: []param{{name: "version", desc: "only this version's instances"}, {name: "lines", desc: "lines per instance (default 100)"}}, viewer: true, handle: (*server).logs},
		{method: "GET", path: appPath + "/signals", summary: "What the router saw of the app per version (error_rate is a fraction from 0 to 1)", status: 200, resp: api.Signals{},
			query: []param{{name: "window", desc: "a Go duration such as 30s (default 30s)"}}, viewer: true, handle: (*server).signalsOf},
		{method: "GET", path: "/api/v1/events", summary: "Stream of notices (server-sent events, data: Notice)", status: 200, resp: api.Notice{}, media: mediaEvents,
			query: []param{{name: "app", desc: "only this app's notices"}}, viewer: true, handle: (*server).events},
		{method: "GET", path: "/api/v1/deployments/{id}/events", summary: "One deployment's notices: its recorded events, then live ones until it ends", status: 200, resp: api.Notice{}, media: mediaEvents, viewer: true, handle: (*server).deploymentEvents},
		{method: "GET", path: "/api/v1/whoami", summary: "The caller's role: admin (every route) or viewer (the read-only token: only the routes that change nothing)", status: 200, resp: api.WhoAmI{}, viewer: true, handle: (*server).whoami},
		{method: "GET", path: "/api/v1/router/table", summary: "The routing table for routers following this server (cutover router --follow): answered when it differs from epoch/version, or after wait (long poll)", status: 200, resp: api.RouterTable{},
			query: []param{{name: "epoch", desc: "the epoch of the table the router serves"}, {name: "version", desc: "its version"}, {name: "wait", desc: "how long to wait for another table, up to 60s (default 0)"}}, handle: (*server).routerTable},
		{method: "POST", path: "/api/v1/router/report", summary: "A following router's table version and counters per instance (sent every second)", reqJSON: api.RouterReport{}, status: 204, handle: (*server).routerReport},
		{method: "GET", path: "/api/v1/routers", summary: "The routers serving this server's table: its own and those following it, with their table version, lag and last report", status: 200, resp: []api.RouterInfo{}, viewer: true, handle: (*server).listRouters},
		{method: "GET", path: "/api/openapi.json", summary: "This document", status: 200, viewer: true, handle: (*server).openAPI},
		{method: "GET", path: "/metrics", summary: "Prometheus metrics", status: 200, media: mediaText, viewer: true, handle: (*server).serveMetrics},
	}
}

func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.metrics == nil {
		return notFound("this server exports no metrics")
	}
	s.metrics.ServeHTTP(w, r)
	return nil
}
