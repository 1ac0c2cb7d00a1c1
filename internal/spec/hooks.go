package spec

import (
	"strings"
	"time"
)

// Hook is a check or an action at one point of a deployment: an HTTP request, a command or a
// webhook. A hook fails when it does not succeed within its timeout; a failed hook fails the
// deployment before production traffic has moved to green, and rolls it back after.
type Hook struct {
	// The hook's name, unique in the app, shown in the deployment's record: letters, digits,
	// dots, dashes and underscores, 1-63 characters.
	//
	// Required.
	// Example: migrate
	Name string `yaml:"name"`

	// When the hook runs:
	//   - before_start: before green's instances start (e.g. an expanding migration);
	//   - green_healthy: once every green instance is healthy;
	//   - after_test_traffic: once the test listener sends its traffic to green;
	//   - after_step: after each traffic step, before the next;
	//   - after_full_traffic: once green serves all production traffic;
	//   - after_blue_retired: once blue has drained and stopped (e.g. a contracting migration).
	//
	// Required.
	// Example: after_test_traffic
	At string `yaml:"at"`

	// How long one run of the hook may take, retries included; at most deadlines.hook.
	//
	// Default: 1m, or deadlines.hook if that is shorter.
	// Example: 5m
	Timeout Duration `yaml:"timeout,omitempty" spec:"nonzero"`

	// Send an HTTP request and check the answer.
	//
	// Default: unset. Exactly one of http, command and webhook is set.
	// Example: {path: /smoke, expect_body: ok}
	HTTP *HTTPHook `yaml:"http,omitempty"`

	// Run a program; it passes if it exits with status 0.
	//
	// Default: unset. Exactly one of http, command and webhook is set.
	// Example: {argv: ["./migrate", "up"]}
	Command *CommandHook `yaml:"command,omitempty"`

	// POST the deployment's state as JSON to a URL; any 2xx answer passes.
	//
	// Default: unset. Exactly one of http, command and webhook is set.
	// Example: {url: "https://hooks.example.com/deploy"}
	Webhook *Webhook `yaml:"webhook,omitempty"`
}

// The points of a deployment where hooks run.
const (
	HookBeforeStart      = "before_start"
	HookGreenHealthy     = "green_healthy"
	HookAfterTestTraffic = "after_test_traffic"
	HookAfterStep        = "after_step"
	HookAfterFullTraffic = "after_full_traffic"
	HookAfterBlueRetired = "after_blue_retired"
)

// HookPoints lists the points in the order a deployment reaches them.
func HookPoints() []string {
	return []string{HookBeforeStart, HookGreenHealthy, HookAfterTestTraffic, HookAfterStep, HookAfterFullTraffic, HookAfterBlueRetired}
}

// Where an HTTP hook sends its request.
const (
	TargetTestListener = "test_listener"
	TargetGreen        = "green"
)

// HTTPHook sends one request and passes when the answer has expect_status and, if set,
// contains expect_body.
type HTTPHook struct {
	// The request method.
	//
	// Default: GET.
	// Example: POST
	Method string `yaml:"method,omitempty"`

	// The request path, sent to target. Not together with url.
	//
	// Default: / (when url is not set).
	// Example: /smoke
	Path string `yaml:"path,omitempty"`

	// An absolute http(s) URL to request instead of path on target, e.g. a service that
	// checks green from outside. Hooks at before_start need it, since green does not run yet.
	//
	// Default: none.
	// Example: "http://127.0.0.1:9000/check"
	URL string `yaml:"url,omitempty"`

	// The status code the answer must have.
	//
	// Default: 200.
	// Example: 204
	ExpectStatus int `yaml:"expect_status,omitempty" spec:"nonzero"`

	// Text the answer's body must contain.
	//
	// Default: none (the body is not checked).
	// Example: ok
	ExpectBody string `yaml:"expect_body,omitempty"`

	// How many times a failing request is tried again before the hook
	// fails, from 0 to 100; all tries share the hook's timeout.
	//
	// Default: 0.
	// Example: 3
	Retries int `yaml:"retries,omitempty"`

	// Where path is sent: test_listener (through the app's test listener, which must be set)
	// or green (straight to one green instance). Not together with url.
	//
	// Default: test_listener when the app has one, else green.
	// Example: green
	Target string `yaml:"target,omitempty"`
}

// CommandHook runs a program from an argument list, never through a shell.
type CommandHook struct {
	// The program and its arguments.
	//
	// Required.
	// Example: ["./migrate", "up"]
	Argv []string `yaml:"argv,flow"`

	// The working directory; relative to the same place as run.process.dir.
	//
	// Default: .
	// Example: ./db
	Dir string `yaml:"dir,omitempty"`

	// Extra environment variables, name -> value. The hook also gets CUTOVER_APP and
	// CUTOVER_VERSION (green's release).
	//
	// Default: none.
	// Example: {DATABASE_URL: "postgres://localhost/shop"}
	Env map[string]string `yaml:"env,omitempty"`

	// Names of variables in env whose values are secret, treated like run.process.secret_env:
	// the hook gets the real values, everything cutover shows has them replaced by `******`
	// (the hook's output included). Names listed in run.process.secret_env (or
	// run.docker.secret_env) are secret here too without being repeated.
	//
	// Default: none.
	// Example: [DATABASE_URL]
	SecretEnv []string `yaml:"secret_env,omitempty,flow"`
}

// Webhook tells another system about the deployment and lets it decide: cutover POSTs JSON
// describing the app, the deployment and the hook point, and passes on any 2xx answer.
type Webhook struct {
	// The absolute http(s) URL to POST to.
	//
	// Required.
	// Example: "https://hooks.example.com/deploy"
	URL string `yaml:"url"`
}

var hookKinds = []string{"http", "command", "webhook"}

const defaultHookTimeout = Duration(time.Minute)

func (h *Hook) defaults(a *App) {
	if a.Deadlines.Hook > 0 {
		fill(&h.Timeout, min(defaultHookTimeout, a.Deadlines.Hook))
	}
	fill(&h.Timeout, defaultHookTimeout)
	if x := h.HTTP; x != nil {
		fill(&x.Method, "GET")
		fill(&x.ExpectStatus, 200)
		if x.URL == "" {
			fill(&x.Path, "/")
			if a.hasTestListener() {
				fill(&x.Target, TargetTestListener)
			}
			fill(&x.Target, TargetGreen)
		}
	}
	if x := h.Command; x != nil {
		fill(&x.Dir, ".")
		if len(x.Argv) == 0 {
			x.Argv = nil
		}
		if len(x.Env) == 0 {
			x.Env = nil
		}
		if len(x.SecretEnv) == 0 {
			x.SecretEnv = nil
		}
	}
}

func (h *Hook) validate(c *checker, path string, a *App) {
	if !labelRE.MatchString(h.Name) {
		c.add(path+".name", "required: a name of letters, digits, dots, dashes and underscores, 1-63 characters")
	}
	known := false
	for _, p := range HookPoints() {
		known = known || h.At == p
	}
	if !known {
		c.add(path+".at", "%q is not a hook point; use one of %s", clip(h.At), strings.Join(HookPoints(), ", "))
	}
	c.positive(path+".timeout", h.Timeout)
	if h.Timeout > a.Deadlines.Hook {
		c.add(path+".timeout", "%s is longer than deadlines.hook (%s)", h.Timeout, a.Deadlines.Hook)
	}
	c.exactlyOne(path, hookKinds, []bool{h.HTTP != nil, h.Command != nil, h.Webhook != nil})
	if x := h.HTTP; x != nil {
		x.validate(c, path+".http", h.At, a.hasTestListener())
		if a.Traffic.ALB != nil && x.URL == "" && x.Target == TargetGreen {
			c.add(path+".http.target", "behind traffic.alb green's tasks are reached through the test listener: set traffic.alb.test_port and target test_listener, or set url")
		}
		if a.Run.Kubernetes != nil && x.URL == "" {
			c.add(path+".http.url", "required with run.kubernetes: cutover reaches no pod by itself; set url (from inside the cluster the preview Service of traffic.service_selector, like http://web-preview.NAMESPACE.svc), or use a command hook")
		}
	}
	if x := h.Command; x != nil {
		if len(x.Argv) == 0 || x.Argv[0] == "" {
			c.add(path+".command.argv", "required: the program and its arguments, like [\"./migrate\", \"up\"]")
		}
		c.env(path+".command.env", x.Env)
		c.secretEnv(path+".command.secret_env", x.SecretEnv, x.Env)
	}
	if x := h.Webhook; x != nil {
		c.httpURL(path+".webhook.url", x.URL)
	}
}

func (x *HTTPHook) validate(c *checker, path, at string, testListener bool) {
	if !methodRE.MatchString(x.Method) {
		c.add(path+".method", "%q is not an HTTP method, like GET or POST", clip(x.Method))
	}
	if !(x.ExpectStatus >= 100 && x.ExpectStatus <= 599) {
		c.add(path+".expect_status", "must be an HTTP status from 100 to 599, got %d", x.ExpectStatus)
	}
	if !(x.Retries >= 0 && x.Retries <= 100) {
		c.add(path+".retries", "must be between 0 and 100, got %d", x.Retries)
	}
	if x.URL != "" {
		c.httpURL(path+".url", x.URL)
		if x.Path != "" || x.Target != "" {
			c.add(path+".url", "url replaces path and target: set either url, or path and target")
		}
		return
	}
	if at == HookBeforeStart {
		c.add(path, "green does not run yet at before_start: set url to request something else")
	}
	if !strings.HasPrefix(x.Path, "/") {
		c.add(path+".path", "%q must start with /", clip(x.Path))
	}
	switch x.Target {
	case TargetGreen:
	case TargetTestListener:
		if !testListener {
			c.add(path+".target", "test_listener needs the app's test_listener to be set (or traffic.alb.test_port)")
		}
	default:
		c.add(path+".target", "%q is not a target; use %s or %s", clip(x.Target), TargetTestListener, TargetGreen)
	}
}

// hasTestListener reports whether the app has a test listener: the built-in router's
// test_listener, or the load balancer's test listener (traffic.alb.test_port).
func (a *App) hasTestListener() bool {
	return a.TestListener != "" || (a.Traffic.ALB != nil && a.Traffic.ALB.TestPort != 0)
}
