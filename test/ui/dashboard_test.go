package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// canary is the spec's tail: a smoke hook on the test listener, then 10% for long enough
// to be seen, then 50% for longer than the test, judged by error rate all along.
const canary = `test_listener: %s
strategy:
  canary:
    steps:
      - {weight: 10, pause: 15s}
      - {weight: 50, pause: 5m}
analysis:
  interval: 1s
  window: 3s
  min_requests: 20
  checks:
    - name: errors
      error_rate: {max: 5}
hooks:
  - name: smoke
    at: after_test_traffic
    http: {path: /healthz}
  - name: hostile
    at: after_test_traffic
    command: {argv: [sh, -c, "printf '<img src=x onerror=window.pwned=1>\\033[2J done'"]}
`

const (
	card     = `.card[data-app="web"]`
	greenPct = `(document.querySelector('#green-pct') || {}).textContent`
)

// barAt is true when the split bar under scope draws green at about share (0 to 1): the bar
// animates, and a screenshot should show where it ends.
func barAt(scope string, share float64) string {
	return fmt.Sprintf(`(() => { const bar = document.querySelector('%s .split-bar'); if (!bar) return false;
		const g = bar.querySelector('.seg-green').getBoundingClientRect().width / bar.getBoundingClientRect().width;
		return Math.abs(g - %g) < 0.005; })()`, scope, share)
}

func TestDashboard(t *testing.T) {
	br := startBrowser(t) // first: without Chromium there is nothing to test
	s := startServer(t)
	ctx := context.Background()
	spec := sampletest.Spec(t, s.route, sampletest.Options{Instances: 2, Deadline: "10m", KeepWarm: "1m"},
		strings.Replace(canary, "%s", sampletest.FreeAddr(t), 1))
	if _, err := s.client.Apply(ctx, "web", []byte(spec)); err != nil {
		t.Fatalf("apply: %v", err)
	}
	v1, err := s.client.Deploy(ctx, "web", api.DeployRequest{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.waitDeployment(v1.ID, "ended", time.Minute, func(d api.Deployment) bool { return d.Terminal }); d.Phase != "succeeded" {
		t.Fatalf("v1: %s: %s", d.Phase, d.Reason)
	}
	load := sampletest.StartLoad(t, "http://"+s.route+"/", 2)
	load.WaitSent(t, 50, 20*time.Second)
	start := time.Now()

	// The login page; a wrong token is refused on the page, the admin token lets in.
	admin := br.tab(1280, 900)
	do(t, admin, "open the dashboard", 20*time.Second, chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	screenshot(t, admin, "login")
	do(t, admin, "log in with a wrong token", 20*time.Second, chromedp.SendKeys(chromedp.CSS("#token"), "not-a-token"),
		chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if msg := eval[string](t, admin, "read the login error", `document.querySelector('#login-error').textContent`); !strings.Contains(msg, "wrong token") {
		t.Errorf("a wrong token shows %q, want it to say the token is wrong", msg)
	}
	login(t, admin, s.admin)
	do(t, admin, "see the overview", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(card)))
	if role := eval[string](t, admin, "read the role", `document.querySelector('#role').textContent`); role != "Admin" {
		t.Errorf("the header says %q, want Admin", role)
	}
	if eval[bool](t, admin, "read document.cookie", `document.cookie.includes('cutover_session')`) {
		t.Error("the session cookie is readable from the page's script; it must be HttpOnly")
	}

	// A canary starts; the overview follows it without a reload.
	d, err := s.client.Deploy(ctx, "web", api.DeployRequest{Version: "v2", Set: map[string]string{"SAMPLE_LATENCY": "3ms", "SAMPLE_ERROR_RATE": "0.01"}})
	if err != nil {
		t.Fatal(err)
	}
	waitJS(t, admin, "the overview shows green at 10%",
		`document.querySelector('`+card+` .green-pct').textContent === '10%'`, `document.querySelector('`+card+`').innerText`, time.Minute)

	// The deployment page: the split moves from 10% to 50% on screen. (Step 1 holds for 15s.)
	do(t, admin, "follow the deployment", 20*time.Second, chromedp.Click(chromedp.CSS(card+" .card-foot a")),
		chromedp.WaitVisible(chromedp.CSS("#timeline li")))
	waitJS(t, admin, "the deployment page shows green at 10%", greenPct+` === '10%'`, greenPct, 10*time.Second)
	waitJS(t, admin, "the deployment page shows green at 50%", greenPct+` === '50%' && `+barAt(".panel-traffic", 0.5), greenPct, 40*time.Second)
	waitJS(t, admin, "the timeline shows the smoke hook's result", `document.querySelector('#timeline').textContent.includes('smoke')`,
		`document.querySelector('#timeline').innerText`, 10*time.Second)
	// A hook's output is text on the page: markup is not parsed, escapes are not acted on.
	waitJS(t, admin, "the timeline shows the hostile hook's output as text",
		`document.querySelector('#timeline').textContent.includes('<img src=x onerror=window.pwned=1>')`,
		`document.querySelector('#timeline').innerText`, 10*time.Second)
	if eval[bool](t, admin, "look for markup from the hook", `!!document.querySelector('#timeline img') || window.pwned === 1`) {
		t.Error("a hook's output was parsed as HTML in the timeline")
	}
	waitJS(t, admin, "the charts have a few seconds of both versions",
		`+document.querySelector('#chart-rate svg').dataset.points >= 8 && document.querySelector('#chart-rate .line-green').getAttribute('d').length > 20`,
		`document.querySelector('#chart-rate').innerHTML.length`, 30*time.Second)
	waitJS(t, admin, "the why panel says what the step waits for", `document.querySelector('#why').textContent.length > 10`,
		`document.querySelector('#why').textContent`, 10*time.Second)
	waitJS(t, admin, "the logs panel shows the instances' output", `document.querySelector('#logs').textContent.includes('listening on')`,
		`document.querySelector('#logs').textContent`, 10*time.Second)
	waitJS(t, admin, "the traffic panel says what the clients saw", `document.querySelector('#observed').textContent.startsWith('Observed: green answered')`,
		`document.querySelector('#observed').textContent`, 5*time.Second)
	if n := eval[int](t, admin, "count the actions", `document.querySelectorAll('[data-action]').length`); n != 4 {
		t.Errorf("the admin sees %d action buttons on a running canary, want 4 (promote, approve, pause, abort)", n)
	}
	screenshot(t, admin, "deployment-canary")

	// A router following another server process reports in: the overview lists it beside
	// the server's own router, with its table's lag.
	if err := s.client.ReportRouter(ctx, api.RouterReport{Name: "edge-9", Started: time.Now(), Epoch: 1, Listen: []string{"10.0.0.9:80"},
		Apps: map[string]api.RouterAppReport{}}); err != nil {
		t.Fatalf("report a following router: %v", err)
	}
	eval[string](t, admin, "open the overview", `location.hash = '#/'`)
	waitJS(t, admin, "the overview lists this server's router and edge-9 with its lag",
		`(() => { const l = document.querySelector('.routers tr[data-router="local"]'), r = document.querySelector('.routers tr[data-router="edge-9"]');
		  return !!l && !!r && l.innerText.includes('this server') && r.querySelector('.lag').textContent === 'other server’s table' &&
		    r.innerText.includes('10.0.0.9:80') && r.querySelector('.seen').textContent.startsWith('reported'); })()`,
		`document.querySelector('.routers') && document.querySelector('.routers').innerText`, 10*time.Second)
	waitJS(t, admin, "the overview shows both versions healthy, their traffic, and green at 50%",
		`document.querySelectorAll('`+card+` .hchip-ok').length === 2 && document.querySelectorAll('`+card+` .mini tbody tr').length === 2 && `+barAt(card, 0.5),
		`document.querySelector('`+card+`').innerText`, 20*time.Second)
	screenshot(t, admin, "overview")
	eval[string](t, admin, "back to the deployment", `location.hash = '#/deployments/`+d.ID+`'`)
	waitJS(t, admin, "the deployment page is back with its actions", `!!document.querySelector('[data-action="abort"]') && `+barAt(".panel-traffic", 0.5),
		greenPct, 10*time.Second)

	viewerSees(t, br, s, d.ID)

	// Abort, confirmed in the page's dialog; the rollback reaches the timeline.
	do(t, admin, "click Abort", 10*time.Second, chromedp.Click(chromedp.CSS(`[data-action="abort"]`)), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	if title := eval[string](t, admin, "read the dialog", `document.querySelector('#confirm-title').textContent`); title != "Abort web?" {
		t.Errorf("the confirmation says %q, want \"Abort web?\"", title)
	}
	if s.mustDeployment(d.ID).Terminal {
		t.Fatal("the deployment ended before the abort was confirmed")
	}
	screenshot(t, admin, "abort-confirm")
	do(t, admin, "confirm the abort", 10*time.Second, chromedp.Click(chromedp.CSS("#confirm-ok")), chromedp.WaitNotVisible(chromedp.CSS("#confirm")))
	waitJS(t, admin, "the timeline shows the abort", `!!document.querySelector('#timeline li[data-phase="aborted"]') && document.querySelector('#phase').textContent.includes('aborted')`,
		`document.querySelector('#timeline').innerText`, 30*time.Second)
	waitJS(t, admin, "the split shows all traffic back on blue", greenPct+` === '0%' && `+barAt(".panel-traffic", 0),
		greenPct, 10*time.Second)
	if got := s.mustDeployment(d.ID); got.Phase != "aborted" {
		t.Errorf("the server says the deployment is %s (%s), want aborted", got.Phase, got.Reason)
	}
	if msg := eval[string](t, admin, "read the reason", `document.querySelector('#reason').textContent`); !strings.Contains(msg, "aborted by user") {
		t.Errorf("the reason on screen is %q, want it to say the user aborted", msg)
	}
	screenshot(t, admin, "deployment-aborted")

	// History, with outcomes and durations.
	eval[string](t, admin, "open the history", `location.hash = '#/apps/web'`)
	waitJS(t, admin, "the history lists both deployments", `document.querySelectorAll('.table tbody tr').length === 2 && document.querySelector('.table').textContent.includes('aborted')`,
		`document.querySelector('#view').innerText`, 10*time.Second)
	screenshot(t, admin, "history")

	// A phone: the overview fits the width.
	do(t, admin, "become a phone", 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	eval[string](t, admin, "open the overview", `location.hash = '#/'`)
	do(t, admin, "see the overview on a phone", 10*time.Second, chromedp.WaitVisible(chromedp.CSS(card)))
	waitJS(t, admin, "the phone overview shows blue at 100%", `document.querySelector('`+card+` .blue-pct').textContent === '100%'`,
		`document.querySelector('`+card+`').innerText`, 10*time.Second)
	if w := eval[int](t, admin, "measure the page", `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("on a 390px phone the overview is %dpx wider than the screen", w)
	}
	screenshot(t, admin, "overview-phone")
	eval[string](t, admin, "open the deployment on a phone", `location.hash = '#/deployments/`+d.ID+`'`)
	waitJS(t, admin, "the phone shows the ended deployment", `!!document.querySelector('#timeline li[data-phase="aborted"]') && +document.querySelector('#chart-rate svg').dataset.points > 0`,
		`document.querySelector('#view').innerText`, 10*time.Second)
	if w := eval[int](t, admin, "measure the page", `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("on a 390px phone the deployment page is %dpx wider than the screen", w)
	}
	screenshot(t, admin, "deployment-phone")
	t.Logf("browser part took %s; load: %d requests, %d failed (v2 answers 1%% with 500 on purpose)", time.Since(start).Round(time.Second), load.Sent(), load.Failed())
}

// viewerSees logs in with the read-only token in a browser context of its own and checks
// that the running deployment shows no action, and that the API refuses one forced from the
// page with the session cookie and its CSRF token.
func viewerSees(t *testing.T, br *browser, s *server, id string) {
	t.Helper()
	viewer := br.tab(1280, 900)
	do(t, viewer, "open the deployment as a viewer", 20*time.Second, chromedp.Navigate(s.url+"/#/deployments/"+id), chromedp.WaitVisible(chromedp.CSS("#token")))
	login(t, viewer, s.viewer)
	waitJS(t, viewer, "the viewer sees the canary at 50%", greenPct+` === '50%' && document.querySelectorAll('#timeline li').length > 3`, greenPct, 20*time.Second)
	if role := eval[string](t, viewer, "read the role", `document.querySelector('#role').textContent`); role != "Viewer (read-only)" {
		t.Errorf("the viewer's header says %q", role)
	}
	if n := eval[int](t, viewer, "count the actions", `document.querySelectorAll('[data-action], #actions, dialog[open]').length`); n != 0 {
		t.Errorf("a read-only session shows %d action elements, want none", n)
	}
	status := eval[string](t, viewer, "force an abort from the page", `(async () => {
		const s = await (await fetch('/ui/session')).json();
		if (!s.csrf_token) return 'no csrf token';
		const r = await fetch('/api/v1/apps/web/abort', {method: 'POST', headers: {'X-CSRF-Token': s.csrf_token}});
		return r.status + ' ' + (await r.json()).error.code;
	})()`)
	if status != "403 forbidden" {
		t.Errorf("a viewer's forced abort answered %q, want 403 forbidden", status)
	}
	if d := s.mustDeployment(id); d.Terminal || d.Phase != "shifting" {
		t.Errorf("after the viewer's forced abort the deployment is %s: %s", d.Phase, d.Reason)
	}
	screenshot(t, viewer, "deployment-viewer")
}

func login(t *testing.T, tab context.Context, token string) {
	t.Helper()
	do(t, tab, "wait for the login form", 20*time.Second, chromedp.WaitVisible(chromedp.CSS("#token")))
	eval[string](t, tab, "clear the token field", `document.querySelector('#token').value = ''`)
	do(t, tab, "log in", 20*time.Second, chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitNotVisible(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#view h1")))
}

func (s *server) mustDeployment(id string) api.Deployment {
	s.t.Helper()
	d, err := s.client.Deployment(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return d
}

// TestDashboardShowsTheLoadBalancersEvidence: an app that runs as an ECS service behind an
// ALB (in moto_server) is held at 10%; its deployment page shows the split at 10% and, in
// the traffic panel, what the load balancer itself was read back holding.
func TestDashboardShowsTheLoadBalancersEvidence(t *testing.T) {
	br := startBrowser(t) // first: without Chromium there is nothing to test
	w := newECSWorld(t)   // before the server: it sets the AWS environment the server reads
	s := startServer(t)
	ctx := context.Background()
	if _, err := s.client.Apply(ctx, "web", []byte(w.spec())); err != nil {
		t.Fatalf("apply: %v", err)
	}
	v1, err := s.client.Deploy(ctx, "web", api.DeployRequest{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.waitDeployment(v1.ID, "ended", time.Minute, func(d api.Deployment) bool { return d.Terminal }); d.Phase != "succeeded" {
		t.Fatalf("v1: %s: %s", d.Phase, d.Reason)
	}
	v2, err := s.client.Deploy(ctx, "web", api.DeployRequest{Version: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	const held = "ALB listener :80 weights web-blue=10 web-green=90 read back at "
	d := s.waitDeployment(v2.ID, "verified at 10% on the listener", time.Minute, func(d api.Deployment) bool {
		return d.Terminal || strings.HasPrefix(d.Traffic, held)
	})
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 {
		t.Fatalf("v2: %s at %g%%: %s", d.Phase, d.Weight, d.Reason)
	}
	if l := w.listener(); l["web-blue"] != 10 || l["web-green"] != 90 {
		t.Fatalf("the listener holds %v, want web-blue=10 web-green=90", l)
	}

	tab := br.tab(1280, 900)
	do(t, tab, "open the deployment", 20*time.Second, chromedp.Navigate(s.url+"/#/deployments/"+v2.ID), chromedp.WaitVisible(chromedp.CSS("#token")))
	login(t, tab, s.admin)
	const observed = `(document.querySelector('#observed') || {}).textContent`
	waitJS(t, tab, "the traffic panel shows the load balancer's read-back", observed+` === 'Provider: ' + `+jsString(d.Traffic),
		observed, 20*time.Second)
	waitJS(t, tab, "the deployment page shows green at 10%", greenPct+` === '10%' && `+barAt(".panel-traffic", 0.1), greenPct, 10*time.Second)
	if got := eval[string](t, tab, "read the traffic panel", observed); !strings.HasPrefix(got, "Provider: "+held) {
		t.Errorf("the traffic panel says %q, want it to start with %q", got, "Provider: "+held)
	}
	screenshot(t, tab, "deployment-ecs")
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
