package kube_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestBadSpecsAreRefusedAtApply: `cutover apply` refuses, with a non-zero exit and a
// message naming the problem, a spec whose namespace does not exist, a canary on
// traffic.service_selector, run.kubernetes without traffic, and specs whose Services
// exist without cutover's owner label; a refused spec makes nothing in the cluster and is
// not stored: first on a server without the app, then over a good spec of it, which stays
// as it was, with its objects.
func TestBadSpecsAreRefusedAtApply(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, "bad")
	cluster.Gateway(t, ns, "edge", "")
	r := startServer(t)
	// Services the user made: web-green, the green slot's name on the route, and
	// web-preview, service_selector's preview Service. cutover must not take them over, nor
	// create their partners (web-blue, web) before it finds them.
	for _, name := range []string{"web-green", "web-preview"} {
		foreign := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/name": "web"}},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
		if _, err := cluster.Kube.CoreV1().Services(ns).Create(context.Background(), foreign, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	notOwned := func(name string) string {
		return "service " + ns + "/" + name + " exists without the label app.kubernetes.io/managed-by=cutover"
	}
	noNamespace := kubeSpec("nowhere", gatewayTraffic, canaryAtTen)
	canaryOnSelector := kubeSpec(ns, "service_selector: {settle: 100ms, verify_timeout: 20s}", canaryAtTen)
	noTraffic := strings.Replace(kubeSpec(ns, gatewayTraffic, canaryAtTen), "traffic:\n  "+gatewayTraffic+"\n", "", 1)
	if strings.Contains(noTraffic, "traffic:") {
		t.Fatalf("the spec without traffic has traffic:\n%s", noTraffic)
	}
	cases := []struct {
		name, spec string
		want       []string
	}{
		{"a namespace that does not exist", noNamespace, []string{"traffic.gateway_api: prepare:", "namespace nowhere does not exist: create it (kubectl create namespace nowhere)"}},
		{"a canary on service_selector", canaryOnSelector, []string{"strategy: a Service selects one release at a time", "use strategy.bluegreen", "is invalid: 1 problem(s)"}},
		{"run.kubernetes without traffic", noTraffic, []string{"run.kubernetes: run.kubernetes needs traffic.service_selector (blue/green) or traffic.gateway_api (weighted steps)"}},
		{"the route's Service web-green is someone else's", kubeSpec(ns, gatewayTraffic, canaryAtTen), []string{notOwned("web-green")}},
		{"the preview Service web-preview is someone else's", kubeSpec(ns, "service_selector: {settle: 100ms, verify_timeout: 20s}", "strategy: {bluegreen: {}}\n"), []string{notOwned("web-preview")}},
	}
	refuseAll := func(stage string) {
		t.Helper()
		for _, c := range cases {
			out, code := run(t, r.exe, r.dir, "apply", "-f", writeSpec(t, c.spec))
			t.Logf("%s, %s: cutover apply: exit %d\n%s", stage, c.name, code, out)
			if code != 1 {
				t.Errorf("%s: %s: `cutover apply` exited %d, want 1:\n%s", stage, c.name, code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s: %s: `cutover apply` does not say %q:\n%s", stage, c.name, w, out)
				}
			}
		}
	}

	// On a server without the app: nothing stored, nothing made.
	refuseAll("no app yet")
	status := r.cli(t, "status")
	if strings.Contains(status, "web") {
		t.Errorf("`cutover status` after the refused specs shows app web:\n%s", status)
	}
	if apps, err := r.srv.API.Apps(callCtx(t)); err != nil || len(apps) != 0 {
		t.Errorf("apps after the refused specs: %+v (%v), want none", apps, err)
	}
	if got := owned(t, ns); len(got) != 0 {
		t.Errorf("refused specs left %s in %s", names(got), ns)
	}
	if got := foreignServices(t, ns); got != "web-green web-preview" {
		t.Errorf("the user's Services after the refused specs: %q, want web-green web-preview untouched", got)
	}

	// Over a good spec (on the route, in a namespace of its own): it stays as applied and
	// its objects as made.
	good := cluster.Namespace(t, "good")
	cluster.Gateway(t, good, "edge", "")
	r.cli(t, "apply", "-f", writeSpec(t, kubeSpec(good, gatewayTraffic, canaryAtTen)))
	app, err := r.srv.API.App(callCtx(t), "web")
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in gateway writes the new route's status once; after that nothing writes
	// in the namespace unless cutover does.
	eventually(t, 20*time.Second, "the gateway to accept the good spec's route", func() string {
		rt, err := cluster.GatewayAPI.GatewayV1().HTTPRoutes(good).Get(callCtx(t), "web", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		for _, p := range rt.Status.Parents {
			for _, c := range p.Conditions {
				if c.Type == "Accepted" && c.Status == metav1.ConditionTrue && c.ObservedGeneration == rt.Generation {
					return ""
				}
			}
		}
		return fmt.Sprintf("status %+v", rt.Status)
	})
	made := owned(t, good)
	if names(made) != "HTTPRoute/web Service/web-blue Service/web-green" {
		t.Fatalf("the good spec made %s in %s, want the route and its two Services", names(made), good)
	}
	refuseAll("over a good spec")
	after, err := r.srv.API.App(callCtx(t), "web")
	if err != nil {
		t.Fatal(err)
	}
	if after.Spec != app.Spec {
		t.Errorf("a refused spec replaced the good one:\n%s\nwas:\n%s", after.Spec, app.Spec)
	}
	if !strings.Contains(after.Spec, "namespace: "+good) {
		t.Errorf("the stored spec does not name namespace %s:\n%s", good, after.Spec)
	}
	if got := owned(t, good); fmt.Sprint(got) != fmt.Sprint(made) {
		t.Errorf("the good spec's objects after the refused specs: %v, before %v", got, made)
	}
	if got := owned(t, ns); len(got) != 0 {
		t.Errorf("refused specs left %s in %s", names(got), ns)
	}
}

// foreignServices is the Services in ns without cutover's owner label, by name.
func foreignServices(t *testing.T, ns string) string {
	t.Helper()
	l, err := cluster.Kube.CoreV1().Services(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range l.Items {
		if s.Labels["app.kubernetes.io/managed-by"] == "" {
			out = append(out, s.Name)
		}
	}
	return strings.Join(out, " ")
}
