package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider/kube"
)

// TestE2EKubeBlueGreenSwapsTheSelector: v2's Deployment comes up beside v1's, the preview
// Service selects it first, then the production Service's selector flips to it, verified by
// its EndpointSlices; v1's Deployment is deleted after keep-warm.
func TestE2EKubeBlueGreenSwapsTheSelector(t *testing.T) {
	w := newKubeWorld(t)
	if err := w.r.eng.Apply(w.spec(kubeSelector, "strategy: {bluegreen: {}}\n")); err != nil {
		t.Fatal(err)
	}
	w.first()
	if got := w.selects("web"); got != "v1" {
		t.Fatalf("after v1 the Service selects %q", got)
	}
	s := w.r.deploy("v2", nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s", s.Phase, s.Reason)
	}
	ev := w.events(s.ID)
	if want := "green at 100% verified: service " + w.ns + "/web selects release v2 (blue): 2 ready endpoint(s) of it, 0 of others"; !strings.Contains(ev, want) {
		t.Errorf("events lack %q:\n%s", want, ev)
	}
	if w.selects("web") != "v2" || w.selects("web-preview") != "v2" {
		t.Errorf("after v2: web selects %q, web-preview %q", w.selects("web"), w.selects("web-preview"))
	}
	eventually(t, 20*time.Second, "v1's Deployment to be deleted after keep-warm", func() bool {
		d := w.deployments()
		return len(d) == 1 && d["web-v2"] == 2
	})
}

// TestE2EKubeCanaryWalksTheHTTPRoute: v2 walks 10% → 50% → 100% on the route's weights,
// each step counted once the gateway accepted the route at its generation.
func TestE2EKubeCanaryWalksTheHTTPRoute(t *testing.T) {
	w := newKubeWorld(t)
	if err := w.r.eng.Apply(w.spec(kubeGateway, canarySteps)); err != nil {
		t.Fatal(err)
	}
	w.first()
	s := w.r.deploy("v2", nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s", s.Phase, s.Reason)
	}
	ev := w.events(s.ID)
	for _, want := range []string{ // v1 is in the green slot, so v2 goes to blue
		"green at 10% verified: httproute " + w.ns + "/web weights blue=1000 green=9000 at generation",
		"green at 50% verified: httproute " + w.ns + "/web weights blue=5000 green=5000",
		"green at 100% verified: httproute " + w.ns + "/web weights blue=10000 green=0",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}
	if got := w.weights(); got["web-blue"] != 10000 || got["web-green"] != 0 || w.selects("web-blue") != "v2" {
		t.Errorf("route after success: %v, web-blue selects %q", got, w.selects("web-blue"))
	}
	eventually(t, 20*time.Second, "v1's Deployment to be deleted after keep-warm", func() bool {
		d := w.deployments()
		return len(d) == 1 && d["web-v2"] == 2
	})
}

// TestE2EKubeRouteNotAcceptedFailsAtTheDeadline: on a Gateway that rejects the route the
// step waits, then fails at its verify deadline with the gateway's reason.
func TestE2EKubeRouteNotAcceptedFailsAtTheDeadline(t *testing.T) {
	w := newKubeWorld(t)
	if err := w.r.eng.Apply(w.spec("gateway_api: {gateway: closed, settle: 100ms, verify_timeout: 2s}", "")); err != nil {
		t.Fatal(err)
	}
	s, err := w.r.eng.Deploy(context.Background(), "web", "v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Not r.wait: the runner goes on reading the route back for a while after the end.
	s = w.terminal(s.ID)
	if s.Phase == deploy.PhaseSucceeded || !strings.Contains(s.Reason, "green at 100% not verified within 2s: provider has not converged on the written weight: gateway "+w.ns+"/closed: Accepted False: NotAllowedByListeners") {
		t.Fatalf("v1 on a rejecting gateway: %s: %s", s.Phase, s.Reason)
	}
}

// TestE2EKubeNeverReadyFailsBlueUntouched: green's pods never pass readiness; the
// deployment fails at the start-up grace with the pods' state, the route never moved, and
// green's Deployment is deleted.
func TestE2EKubeNeverReadyFailsBlueUntouched(t *testing.T) {
	w := newKubeWorld(t)
	if err := w.r.eng.Apply(w.spec(kubeGateway, canarySteps)); err != nil {
		t.Fatal(err)
	}
	w.first()
	s := w.r.deploy("never-ready", nil) // its image's tag makes kwok keep the pods unready
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "2 pods running but not ready") {
		t.Fatalf("never-ready: %s: %s", s.Phase, s.Reason)
	}
	if got := w.weights(); got["web-green"] != 10000 || got["web-blue"] != 0 {
		t.Errorf("the route moved: %v", got)
	}
	eventually(t, 20*time.Second, "the unready Deployment to be deleted, v1's untouched", func() bool {
		d := w.deployments()
		return len(d) == 1 && d["web-v1"] == 2
	})
}

// TestE2EKubeCrashAfterTrafficRollsBack: green serves 10%, then its pods crash-loop; the
// deployment rolls back with the pods' reason and the route goes back to blue.
func TestE2EKubeCrashAfterTrafficRollsBack(t *testing.T) {
	w := newKubeWorld(t)
	s := w.heldAtTenPercent("v2")
	if err := w.c.CrashPods(context.Background(), w.ns, kube.LabelRelease+"=v2"); err != nil {
		t.Fatal(err)
	}
	s = w.terminal(s.ID)
	if s.Phase != deploy.PhaseRolledBack || !strings.Contains(s.Reason, "exited: 2 pods CrashLoopBackOff (") {
		t.Fatalf("after the crash: %s: %s", s.Phase, s.Reason)
	}
	// The rolled-back state is saved as the route is written: poll for the write.
	eventually(t, 10*time.Second, "the route to be all on v1's web-green", func() bool {
		got := w.weights()
		return got["web-green"] == 10000 && got["web-blue"] == 0
	})
}

// TestE2EKubeDriftIsReportedNotOverwritten: weights changed on the route behind cutover's
// back pause the deployment with the drift; the route is left as found until resume.
func TestE2EKubeDriftIsReportedNotOverwritten(t *testing.T) {
	w := newKubeWorld(t)
	s := w.heldAtTenPercent("v2")
	routes := w.c.GatewayAPI.GatewayV1().HTTPRoutes(w.ns)
	r, err := routes.Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	half := int32(5000)
	r.Spec.Rules[0].BackendRefs[0].Weight, r.Spec.Rules[0].BackendRefs[1].Weight = &half, &half
	if _, err := routes.Update(context.Background(), r, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w.r, s.ID, func(s deploy.State) bool { return s.Paused && s.Drift != "" })
	s, _ = w.r.eng.Deployment(s.ID)
	if !strings.Contains(s.Drift, "routes blue=5000 green=5000, cutover wrote blue=1000 green=9000") {
		t.Fatalf("drift: %s", s.Drift)
	}
	if got := w.weights(); got["web-blue"] != 5000 {
		t.Fatalf("the drifted route was overwritten: %v", got)
	}
	if err := w.r.eng.Command("web", deploy.CmdResume); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "resume to write 10% again", func() bool { return w.weights()["web-blue"] == 1000 })
}

// TestE2EKubeBadSpecsAreRefusedAtApply: a namespace that does not exist, a Service cutover
// did not make and a kubeconfig that is not there are refused at apply, naming the fix.
func TestE2EKubeBadSpecsAreRefusedAtApply(t *testing.T) {
	w := newKubeWorld(t)
	foreign := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: w.ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := w.c.Kube.CoreV1().Services(w.ns).Create(context.Background(), foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, spec, want string
	}{
		{"no namespace", strings.Replace(w.specText(kubeGateway), "namespace: "+w.ns, "namespace: nowhere", 1), "namespace nowhere does not exist: create it (kubectl create namespace nowhere)"},
		{"foreign service", w.specText("service_selector: {service: shop}") + "strategy: {bluegreen: {}}\n",
			"service " + w.ns + "/shop exists without the label app.kubernetes.io/managed-by=cutover"},
		{"no kubeconfig", strings.Replace(w.specText(kubeGateway), w.c.Kubeconfig, "/nonexistent/kubeconfig", 1), "load the client config from /nonexistent/kubeconfig"},
	} {
		err := w.r.eng.Apply(w.r.parse(c.spec))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: apply = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := w.r.eng.App("web"); err == nil {
		t.Error("a refused spec was kept")
	}
}

// TestE2EKubePrometheusCheckJudgesGreen: behind the Gateway API the router sees no traffic,
// so analysis asks Prometheus (an external check; a real HTTP server answering as
// Prometheus's query API does): an empty result is no data, inconclusive, and holds the
// step; an error ratio over the limit rolls back.
func TestE2EKubePrometheusCheckJudgesGreen(t *testing.T) {
	var ratio atomic.Value
	ratio.Store("")
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		result := "[]"
		if v := ratio.Load().(string); v != "" {
			result = fmt.Sprintf(`[{"metric":{"version":"v2"},"value":[%d,%q]}]`, time.Now().Unix(), v)
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":%s}}`, result)
	}))
	defer prom.Close()
	w := newKubeWorld(t)
	check := fmt.Sprintf(`analysis:
  interval: 200ms
  checks: [{name: errors, external: {url: "%s/api/v1/query?query=sum(rate(http_errors{version=\"v2\"}[1m]))", json_path: data.result.0.value.1, condition: "< 0.05"}}]
`, prom.URL)
	if err := w.r.eng.Apply(w.spec(kubeGateway, "strategy:\n  canary:\n    steps: [{weight: 10, pause: 1h}]\ndeadlines: {deployment: 2h}\n"+check)); err != nil {
		t.Fatal(err)
	}
	w.first()
	s, err := w.r.eng.Deploy(context.Background(), "web", "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "no data to be inconclusive at 10%", func() bool {
		why, _ := w.r.eng.Why("web")
		return strings.Contains(why, "no index \"0\" in the array of 0")
	})
	if s, _ = w.r.eng.Deployment(s.ID); s.Phase != deploy.PhaseShifting || s.Weight != 1000 {
		t.Fatalf("no data moved the deployment on: %s at %d: %s", s.Phase, s.Weight, s.Reason)
	}
	ratio.Store("0.2")
	s = w.terminal(s.ID)
	if s.Phase != deploy.PhaseRolledBack || !strings.Contains(s.Reason, "errors is 0.2, not < 0.05") {
		t.Fatalf("an error ratio of 0.2: %s: %s", s.Phase, s.Reason)
	}
	// The rolled-back state is saved before the route is written (write-ahead): poll.
	eventually(t, 10*time.Second, "the route to be all on v1's web-green", func() bool {
		return w.weights()["web-green"] == 10000
	})
}
