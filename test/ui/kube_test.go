package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/provider/kubetest"
)

// One real Kubernetes control plane, started by the first test that asks for it (the
// other tests of the package do not pay for it) and stopped by TestMain after the tests.
var (
	kubeOnce     sync.Once
	kubeShared   *kubetest.Cluster
	kubeStopFn   func()
	kubeStartErr error
)

// kubeCluster starts the shared cluster (once) and returns it; its failing to start fails
// the test, with the reason.
func kubeCluster(t *testing.T) *kubetest.Cluster {
	t.Helper()
	kubeOnce.Do(func() { kubeShared, kubeStopFn, kubeStartErr = kubetest.StartShared() })
	if kubeStartErr != nil {
		t.Fatal(kubeStartErr)
	}
	return kubeShared
}

func stopKube() {
	if kubeStopFn != nil {
		kubeStopFn()
	}
}

// kubeWorld is a namespace of the real cluster with a Gateway "edge" that accepts routes,
// for an app web that runs there instead of on this machine.
type kubeWorld struct {
	t  *testing.T
	c  *kubetest.Cluster
	ns string
}

func newKubeWorld(t *testing.T) *kubeWorld {
	t.Helper()
	c := kubeCluster(t)
	w := &kubeWorld{t: t, c: c, ns: c.Namespace(t, "ui")}
	c.Gateway(t, w.ns, "edge", "")
	return w
}

// spec is app web as a Deployment of two pods per release, weighted on the Gateway API
// HTTPRoute web, held an hour at 10%.
func (w *kubeWorld) spec() string {
	return fmt.Sprintf(`app: web
run:
  instances: 2
  kubernetes: {namespace: %s, image: "registry.example.com/web:$CUTOVER_VERSION", kubeconfig: %q}
traffic:
  gateway_api: {gateway: edge, hostnames: [web.example.test], settle: 100ms, verify_timeout: 20s}
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
strategy:
  canary:
    steps: [{weight: 10, pause: 1h}]
deadlines: {deployment: 2h}
`, w.ns, w.c.Kubeconfig)
}

// weights is the HTTPRoute web's backendRefs: Service -> weight.
func (w *kubeWorld) weights() map[string]int32 {
	w.t.Helper()
	r, err := w.c.GatewayAPI.GatewayV1().HTTPRoutes(w.ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]int32{}
	for _, rule := range r.Spec.Rules {
		for _, b := range rule.BackendRefs {
			out[string(b.Name)] = *b.Weight
		}
	}
	return out
}

// TestDashboardShowsTheHTTPRoutesEvidence: an app that runs as Deployments in a real
// Kubernetes cluster, weighted on a Gateway API HTTPRoute, is held at 10%; the overview
// lists it at 10%, and its deployment page shows the step, the split at 10% and, in the
// traffic panel, what the route was read back holding and that the gateway accepted it.
func TestDashboardShowsTheHTTPRoutesEvidence(t *testing.T) {
	br := startBrowser(t) // first: without Chromium there is nothing to test
	w := newKubeWorld(t)
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
	// v1 took slot green, so v2 is in blue: 10% is blue=1000 (of 10000).
	held := "httproute " + w.ns + "/web weights blue=1000 green=9000 at generation "
	d := s.waitDeployment(v2.ID, "verified at 10% on the route", time.Minute, func(d api.Deployment) bool {
		return d.Terminal || (strings.HasPrefix(d.Traffic, held) && strings.Contains(d.Traffic, ", accepted, read back at "))
	})
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Step != 1 || d.Steps != 2 {
		t.Fatalf("v2: %s at %g%% step %d of %d: %s", d.Phase, d.Weight, d.Step, d.Steps, d.Reason)
	}
	if r := w.weights(); r["web-blue"] != 1000 || r["web-green"] != 9000 {
		t.Fatalf("the route holds %v, want web-blue=1000 web-green=9000", r)
	}

	tab := br.tab(1280, 900)
	do(t, tab, "open the dashboard", 20*time.Second, chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	login(t, tab, s.admin)
	do(t, tab, "see the overview", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(card)))
	waitJS(t, tab, "the overview lists web at 10%",
		`document.querySelector('`+card+` .green-pct').textContent === '10%'`, `document.querySelector('`+card+`').innerText`, 20*time.Second)
	if got := eval[string](t, tab, "read the overview's card", `document.querySelector('`+card+`').innerText`); !strings.Contains(got, "v2") || !strings.Contains(got, "v1") {
		t.Errorf("the overview's card for web says %q, want it to name v2 (green) and v1 (blue)", got)
	}

	do(t, tab, "follow the deployment", 20*time.Second, chromedp.Click(chromedp.CSS(card+" .card-foot a")),
		chromedp.WaitVisible(chromedp.CSS("#timeline li")))
	const observed = `(document.querySelector('#observed') || {}).textContent`
	waitJS(t, tab, "the traffic panel shows the route's read-back", observed+` === 'Provider: ' + `+jsString(d.Traffic),
		observed, 20*time.Second)
	waitJS(t, tab, "the deployment page shows green at 10%", greenPct+` === '10%' && `+barAt(".panel-traffic", 0.1), greenPct, 10*time.Second)
	if got := eval[string](t, tab, "read the traffic panel", observed); !strings.HasPrefix(got, "Provider: "+held) || !strings.Contains(got, ", accepted, read back at ") {
		t.Errorf("the traffic panel says %q, want it to start with %q and say the route was accepted", got, "Provider: "+held)
	}
	const stepLine = `(document.querySelector('#step') || {}).textContent`
	if got := eval[string](t, tab, "read the step", stepLine); !strings.HasPrefix(got, "Step 1 of 2 · green at 10% · next step in ") {
		t.Errorf("the step line says %q, want step 1 of 2 at 10%% with its pause's end", got)
	}
	// The releases' pods, two of each, by slot: v1 in green, v2 in blue, all healthy.
	const instances = `[...document.querySelectorAll('.panel-instances tbody tr')].map((tr) => tr.innerText.replace(/\s+/g, ' ').trim()).join('\n')`
	waitJS(t, tab, "the instances panel shows both releases' pods", instances+`.split('\n').filter((l) => / healthy$/.test(l)).length === 4`,
		instances, 10*time.Second)
	if got := eval[string](t, tab, "read the instances", instances); !strings.Contains(got, "web-v1@green blue v1") || !strings.Contains(got, "web-v2@blue green v2") {
		t.Errorf("the instances panel shows\n%s\nwant web-v1@green (blue v1) and web-v2@blue (green v2)", got)
	} else {
		t.Logf("the instances panel:\n%s", got)
	}
	waitJS(t, tab, "the timeline shows the step verified on the route",
		`document.querySelector('#timeline').textContent.includes(`+jsString("green at 10% verified: "+held)+`)`,
		`document.querySelector('#timeline').innerText`, 10*time.Second)
	waitJS(t, tab, "the why panel says the step is baking", `document.querySelector('#why').textContent.includes('step 1 (10%)')`,
		`document.querySelector('#why').textContent`, 10*time.Second)
	screenshot(t, tab, "kubernetes")
}
