package engine

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider/kube"
	"github.com/cutover/cutover/internal/provider/kubeapp"
	"github.com/cutover/cutover/internal/provider/kubetest"
	"github.com/cutover/cutover/internal/spec"
)

// One real control plane serves every Kubernetes test of the package; it starts with the
// first of them and stops after the last (TestMain calls stopKube).
var (
	kubeOnce    sync.Once
	kubeCluster *kubetest.Cluster
	kubeStopFn  func()
	kubeErr     error
)

func cluster(t testing.TB) *kubetest.Cluster {
	t.Helper()
	kubeOnce.Do(func() { kubeCluster, kubeStopFn, kubeErr = kubetest.StartShared() })
	if kubeErr != nil {
		t.Fatal(kubeErr)
	}
	return kubeCluster
}

func stopKube() {
	if kubeStopFn != nil {
		kubeStopFn()
	}
}

// kubeWorld is a namespace of the real cluster with two Gateways (edge accepts routes,
// closed rejects them) and a control plane whose web app runs there.
type kubeWorld struct {
	t  testing.TB
	c  *kubetest.Cluster
	ns string
	r  *rig
	// kube and gw look at the cluster without client-side rate limiting (client-go's
	// default, 5 requests a second, would time the test's polling, not cutover).
	kube kubernetes.Interface
	gw   gwclient.Interface
}

func newKubeWorld(t testing.TB) *kubeWorld {
	c := cluster(t)
	w := &kubeWorld{t: t, c: c, ns: c.Namespace(t, "e2e")}
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	w.kube, w.gw = kubernetes.NewForConfigOrDie(cfg), gwclient.NewForConfigOrDie(cfg)
	c.Gateway(t, w.ns, "edge", "")
	c.Gateway(t, w.ns, "closed", "NotAllowedByListeners")
	w.r = newRig(t)
	w.r.close()
	w.r.cloud = func(ctx context.Context, a *spec.App, hc *http.Client) (CloudApp, error) {
		k, err := kubeapp.Open(a, hc)
		return CloudApp{Traffic: k.Traffic, Groups: k.Groups}, err
	}
	w.r.open()
	return w
}

// spec is the app with traffic (a traffic: entry) and extra: two pods per release.
func (w *kubeWorld) spec(traffic, extra string) *spec.App {
	return w.r.parse(w.specText(traffic) + extra)
}

func (w *kubeWorld) specText(traffic string) string {
	return fmt.Sprintf(`app: web
run:
  instances: 2
  kubernetes: {namespace: %s, image: "registry.example.com/web:$CUTOVER_VERSION", kubeconfig: %q}
traffic:
  %s
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
`, w.ns, w.c.Kubeconfig, traffic)
}

const (
	kubeSelector = "service_selector: {settle: 100ms, verify_timeout: 20s}"
	kubeGateway  = "gateway_api: {gateway: edge, hostnames: [web.example.test], settle: 100ms, verify_timeout: 20s}"
)

func (w *kubeWorld) events(id string) string {
	w.t.Helper()
	return w.r.eventText(id)
}

// deployments lists the app's Deployments: name -> replicas.
func (w *kubeWorld) deployments() map[string]int32 {
	w.t.Helper()
	l, err := w.kube.AppsV1().Deployments(w.ns).List(context.Background(), metav1.ListOptions{LabelSelector: kube.LabelApp + "=web"})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]int32{}
	for _, d := range l.Items {
		if d.DeletionTimestamp == nil {
			out[d.Name] = *d.Spec.Replicas
		}
	}
	return out
}

// selects is the release label the Service name selects.
func (w *kubeWorld) selects(name string) string {
	w.t.Helper()
	s, err := w.kube.CoreV1().Services(w.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return s.Spec.Selector[kube.LabelRelease]
}

// weights is the HTTPRoute web's backendRefs: Service -> weight.
func (w *kubeWorld) weights() map[string]int32 {
	w.t.Helper()
	r, err := w.gw.GatewayV1().HTTPRoutes(w.ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]int32{}
	for _, b := range r.Spec.Rules[0].BackendRefs {
		out[string(b.Name)] = *b.Weight
	}
	return out
}

// terminal waits for deployment id to end and returns it, printing its events if it does
// not within a minute.
func (w *kubeWorld) terminal(id string) deploy.State {
	w.t.Helper()
	end := time.Now().Add(time.Minute)
	for time.Now().Before(end) {
		if s, err := w.r.eng.Deployment(id); err == nil && s.Phase.Terminal() {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, _ := w.r.eng.Deployment(id)
	w.t.Fatalf("%s did not end within a minute: %s: %s\n%s", id, s.Phase, s.Reason, w.events(id))
	return s
}

func (w *kubeWorld) first() {
	w.t.Helper()
	if s := w.r.deploy("v1", nil); s.Phase != deploy.PhaseSucceeded {
		w.t.Fatalf("v1: %s: %s\n%s", s.Phase, s.Reason, w.events(s.ID))
	}
}

// heldAtTenPercent applies a canary on the HTTPRoute with 10% held for an hour, deploys v1
// and then v2, and returns v2's deployment once 10% is verified.
func (w *kubeWorld) heldAtTenPercent(v2 string) deploy.State {
	w.t.Helper()
	if err := w.r.eng.Apply(w.spec(kubeGateway, "strategy:\n  canary:\n    steps: [{weight: 10, pause: 1h}]\ndeadlines: {deployment: 2h}\n")); err != nil {
		w.t.Fatal(err)
	}
	w.first()
	s, err := w.r.eng.Deploy(context.Background(), "web", v2, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	waitFor(w.t, w.r, s.ID, func(s deploy.State) bool { return !s.VerifiedAt.IsZero() && s.VerifiedWeight == 1000 })
	s, _ = w.r.eng.Deployment(s.ID)
	return s
}
