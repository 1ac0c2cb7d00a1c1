package kube_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/provider/kube"
	"github.com/cutover/cutover/internal/provider/kubetest"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// cluster is the one control plane every test of the package shares (each in namespaces
// of its own).
var cluster *kubetest.Cluster

// binDir holds the cutover binary, built once by the first test that needs it.
var (
	binDir  string
	binOnce sync.Once
	binPath string
)

// TestMain is sampletest.BinaryMain (a temporary dir for the cutover binary) and
// kubetest.Main (one shared cluster) in one: both run m.Run and exit, so neither can wrap
// the other; the cluster must be stopped after the tests, not leaked by os.Exit.
func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "cutover-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = d
	c, stop, err := kubetest.StartShared()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(d)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	stop()
	_ = os.RemoveAll(d)
	os.Exit(code)
}

// cutoverBinary is the cutover binary built from this repository, once per test run.
func cutoverBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() { binPath = sampletest.BuildCutover(t, binDir) })
	if binPath == "" {
		t.Fatal("the cutover binary did not build (see the first test's failure)")
	}
	return binPath
}

const wait = 60 * time.Second

// eventually polls cond every 50ms until it says nothing is wrong (""), failing the test
// after timeout with what it said last.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		bad := cond()
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s; last: %s", timeout, what, bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// holds polls cond every 100ms for the whole of d and fails the test at the first time it
// says what is wrong (a non-empty string): for what must not happen.
func holds(t *testing.T, d time.Duration, what string, cond func() string) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if bad := cond(); bad != "" {
			t.Fatalf("%s: %s", what, bad)
		}
	}
}

// run runs the cutover binary as a user would, on the server's socket in dir, and returns
// its combined output and exit code (-1 when it did not run to an exit).
func run(t *testing.T, exe, dir string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append(args, "--socket", filepath.Join(dir, api.SocketFile))...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	default:
		t.Fatalf("cutover %s: %v\n%s", strings.Join(args, " "), err, out)
		return "", -1
	}
}

// running is a `cutover server` process on its own data dir, as a user sets it up.
type running struct {
	exe, dir string
	srv      *sampletest.Server
}

// startServer builds (once) and starts `cutover server`; its logs are printed when the test
// fails.
func startServer(t *testing.T) *running {
	t.Helper()
	r := &running{exe: cutoverBinary(t), dir: t.TempDir()}
	r.srv = sampletest.StartServer(t, r.exe, r.dir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", r.srv.Logs())
		}
		r.srv.Close()
	})
	return r
}

// cli runs the CLI and fails the test on a non-zero exit.
func (r *running) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, code := run(t, r.exe, r.dir, args...)
	if code != 0 {
		t.Fatalf("cutover %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// writeSpec writes specText to a file of its own and returns its path.
func writeSpec(t *testing.T, specText string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(f, []byte(specText), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// read is the deployment as the API shows it now.
func (r *running) read(t *testing.T, id string) api.Deployment {
	t.Helper()
	return r.srv.WaitFor(id, "read", wait, func(api.Deployment) bool { return true })
}

// eventsOf is the deployment's event messages, one a line.
func eventsOf(d api.Deployment) string {
	var b strings.Builder
	for _, e := range d.Events {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}

// kubeSpec is app web as a user writes it for the cluster: two pods per release in ns,
// reached through cutover's kubeconfig file, with traffic (a traffic: entry) and extra.
func kubeSpec(ns, traffic, extra string) string {
	return fmt.Sprintf(`app: web
run:
  instances: 2
  kubernetes: {namespace: %s, image: "registry.example.com/web:$CUTOVER_VERSION", kubeconfig: %q}
traffic:
  %s
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
%s`, ns, cluster.Kubeconfig, traffic, extra)
}

const (
	gatewayTraffic = "gateway_api: {gateway: edge, hostnames: [web.example.test], settle: 100ms, verify_timeout: 20s}"
	canaryAtTen    = "strategy:\n  canary:\n    steps: [{weight: 10, pause: 1h}]\ndeadlines: {deployment: 2h}\n"
)

// object is one Kubernetes object as the test tells them apart: which it is and which write.
type object struct {
	UID, ResourceVersion string
	Generation           int64
}

func (o object) String() string {
	return fmt.Sprintf("uid=%s rv=%s gen=%d", o.UID, o.ResourceVersion, o.Generation)
}

func objectOf(m metav1.Object) object {
	return object{UID: string(m.GetUID()), ResourceVersion: m.GetResourceVersion(), Generation: m.GetGeneration()}
}

// owned is every object of app web in ns the way cutover's providers find them, and
// everything the owner label marks: "Deployment/web-v1", "Service/web-blue",
// "HTTPRoute/web" -> the object. Objects being deleted are left out.
func owned(t *testing.T, ns string) map[string]object {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[string]object{}
	deps, err := cluster.Kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range deps.Items {
		if d := &deps.Items[i]; d.DeletionTimestamp == nil {
			out["Deployment/"+d.Name] = objectOf(d)
		}
	}
	svcs, err := cluster.Kube.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range svcs.Items {
		if s := &svcs.Items[i]; s.DeletionTimestamp == nil && kube.Owned(s.Labels) {
			out["Service/"+s.Name] = objectOf(s)
		}
	}
	routes, err := cluster.GatewayAPI.GatewayV1().HTTPRoutes(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range routes.Items {
		if r := &routes.Items[i]; r.DeletionTimestamp == nil {
			out["HTTPRoute/"+r.Name] = objectOf(r)
		}
	}
	return out
}

// names is the keys of objs, sorted, for messages.
func names(objs map[string]object) string {
	var out []string
	for k := range objs {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// routeWeights is the HTTPRoute web's backendRefs, "web-blue=1000 web-green=9000", and its
// generation.
func routeWeights(t *testing.T, ns string) (string, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := cluster.GatewayAPI.GatewayV1().HTTPRoutes(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, rule := range r.Spec.Rules {
		for _, b := range rule.BackendRefs {
			w := int32(1)
			if b.Weight != nil {
				w = *b.Weight
			}
			parts = append(parts, fmt.Sprintf("%s=%d", b.Name, w))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " "), r.Generation
}

// selects is the release (the cutover.dev/release label) Service name in ns selects.
func selects(t *testing.T, ns, name string) string {
	t.Helper()
	s, err := cluster.Kube.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.Selector[kube.LabelRelease]
}

// history is app web's deployments, newest first.
func (r *running) history(t *testing.T) []api.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hist, err := r.srv.API.History(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	return hist
}

// historyLen is how many deployments of web the server has recorded.
func (r *running) historyLen(t *testing.T) int {
	t.Helper()
	return len(r.history(t))
}

// callCtx bounds one call to the API or the cluster to 10 seconds.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
