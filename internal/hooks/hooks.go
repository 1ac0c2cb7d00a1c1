// Package hooks runs deployment lifecycle hooks, in the manner of CodeDeploy's
// BeforeInstall/AfterAllowTestTraffic/... hooks, and reports whether each passed and why.
//
// A hook is one of three things:
//
//   - an HTTP check: a request whose status (and optionally body) must match, retried a
//     bounded number of times;
//   - a command: a program run directly from its argv (never through a shell), told about the
//     deployment through CUTOVER_* environment variables, passing when it exits 0;
//   - a webhook: a JSON POST describing the deployment, passing on any 2xx answer.
//
// The package owns only running a hook and describing the outcome in a Result: a one-line
// Reason for people and logs and a bounded Output (command output or response body). It has its
// own config types: the engine maps the user's spec onto them, resolves relative URLs against
// the test listener or green, and decides what a failed hook means for the deployment. It must
// not know specs, the deployment state machine, runtimes or the router.
//
// Every hook has a Timeout (DefaultTimeout when zero). For an HTTP check it bounds each
// attempt; for a command and a webhook it bounds the whole run. A command that outlives its
// timeout is killed together with every process it started.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// DefaultTimeout bounds a hook whose Timeout is zero.
const DefaultTimeout = 30 * time.Second

// MaxOutput bounds Result.Output. When more was produced, the tail is kept: the end of a
// command's output is where it says why it failed.
const MaxOutput = 64 << 10

// Hook is one check or action at a lifecycle point. Exactly one of HTTP, Command and Webhook
// is set.
type Hook struct {
	// Name identifies the hook in results and logs, e.g. "smoke" or "migrate".
	Name string
	// Timeout bounds each HTTP attempt, or the whole command or webhook. Zero means
	// DefaultTimeout.
	Timeout time.Duration

	HTTP    *HTTPCheck
	Command *Command
	Webhook *Webhook
}

// HTTPCheck passes when a request answers ExpectStatus with a body containing ExpectBody.
type HTTPCheck struct {
	// Method is the request method; empty means GET.
	Method string
	// URL is absolute: the engine resolves a path against the test listener or green.
	URL string
	// ExpectStatus is the status that passes; zero means 200.
	ExpectStatus int
	// ExpectBody, when set, must occur in the first MiB of the body.
	ExpectBody string
	// Retries is how many more attempts follow a failed one.
	Retries int
	// RetryDelay is the pause between attempts; zero means one second.
	RetryDelay time.Duration
}

// Command is a program run directly from its argv, with no shell in between: shell
// metacharacters in arguments reach the program literally.
type Command struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH when it has no slash.
	Argv []string
	// Dir is the working directory; empty means the caller's.
	Dir string
	// Env is added to the Runner's base environment. The CUTOVER_* variables describing the
	// deployment are added last and win over a variable of the same name here.
	Env map[string]string
}

// Webhook is an endpoint that receives the deployment context as a JSON POST and passes the
// hook by answering 2xx.
type Webhook struct {
	URL string
}

// Info is the deployment context handed to every hook: as CUTOVER_* variables to a command
// and as the JSON body of a webhook.
type Info struct {
	App          string `json:"app"`
	Deployment   string `json:"deployment"`
	Point        string `json:"point"` // the lifecycle point, e.g. "after_allow_test_traffic"
	BlueVersion  string `json:"blue_version"`
	GreenVersion string `json:"green_version"`
	TestURL      string `json:"test_url"`
	GreenURL     string `json:"green_url"`
	// Weight is green's share of production traffic in percent (0-100).
	Weight float64 `json:"weight"`
}

// Result is the outcome of one hook run.
type Result struct {
	Hook   string
	Passed bool
	// Reason says in one line what decided the outcome, e.g.
	// "GET http://127.0.0.1:8081/smoke: status 500, want 200" or
	// "command ./migrate exited with code 2".
	Reason string
	// Output is the command's combined stdout and stderr, or the last response body, at most
	// MaxOutput bytes with the tail kept.
	Output   string
	Duration time.Duration
	// Attempts counts HTTP attempts; a command or webhook that was started counts as one.
	Attempts int
}

// Runner runs hooks. Its zero value is ready to use.
type Runner struct {
	// Client makes HTTP checks and webhook calls. Nil means a client that follows redirects
	// only within the same host, so a check never wanders off to, say, a login provider: a
	// redirect elsewhere is judged as the 3xx it is.
	Client *http.Client
	// Dial, if set and Client is nil, makes the connections of HTTP checks and webhook calls
	// (redirects included), e.g. to allow only some hosts; then no proxy is used and no
	// connection kept idle.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Env is the base environment of commands. Nil means os.Environ().
	Env []string
}

// Run runs h with the context info and reports the outcome. It never panics on a malformed
// hook: that is a failed Result saying what is wrong. Cancelling ctx stops the hook early; the
// result then fails with a reason naming the cancellation.
func (r Runner) Run(ctx context.Context, h Hook, info Info) Result {
	start := time.Now()
	var res Result
	if err := h.check(); err != nil {
		res = Result{Reason: err.Error()}
	} else {
		switch {
		case h.HTTP != nil:
			res = r.runHTTP(ctx, *h.HTTP, h.timeout())
		case h.Command != nil:
			res = r.runCommand(ctx, *h.Command, h.timeout(), info)
		case h.Webhook != nil:
			res = r.runWebhook(ctx, *h.Webhook, h.timeout(), info)
		}
	}
	res.Hook = h.Name
	res.Duration = time.Since(start)
	return res
}

// check reports a hook that cannot be run.
func (h Hook) check() error {
	n := 0
	for _, set := range []bool{h.HTTP != nil, h.Command != nil, h.Webhook != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("hook %q: must have exactly one of http, command and webhook, has %d", h.Name, n)
	}
	return nil
}

func (h Hook) timeout() time.Duration {
	if h.Timeout <= 0 {
		return DefaultTimeout
	}
	return h.Timeout
}

func (r Runner) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	if r.Dial != nil {
		return &http.Client{CheckRedirect: sameHostRedirects, Transport: &http.Transport{
			DialContext: r.Dial, DisableKeepAlives: true, TLSHandshakeTimeout: 10 * time.Second, ForceAttemptHTTP2: true}}
	}
	return &http.Client{CheckRedirect: sameHostRedirects}
}

func (r Runner) baseEnv() []string {
	if r.Env != nil {
		return r.Env
	}
	return os.Environ()
}

// sameHostRedirects follows at most 10 redirects, and only those to the host of the original
// request; any other redirect is returned to the caller as the response.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

// errHookTimeout is the cancellation cause when a hook's own timeout expires, which tells it
// apart from the caller cancelling or the caller's deadline.
var errHookTimeout = errors.New("hook timeout")

// withTimeout derives the context for one attempt or run. timedOut reports whether it ended
// because of d rather than because of the parent.
func withTimeout(parent context.Context, d time.Duration) (ctx context.Context, cancel context.CancelFunc, timedOut func() bool) {
	ctx, cancel = context.WithTimeoutCause(parent, d, errHookTimeout)
	return ctx, cancel, func() bool { return errors.Is(context.Cause(ctx), errHookTimeout) }
}
