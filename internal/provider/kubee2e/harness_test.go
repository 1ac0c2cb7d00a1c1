package kubee2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
	"github.com/cutover/cutover/internal/provider/kubedeploy"
	"github.com/cutover/cutover/internal/provider/kubetest"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) { kubetest.Main(m, &cluster) }

func clients(t *testing.T) kube.Clients {
	t.Helper()
	c, err := kube.NewClients(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func driver(t *testing.T, ns string) *kubedeploy.Driver {
	t.Helper()
	d, err := kubedeploy.New(clients(t), kubedeploy.Config{Namespace: ns, App: "web", Port: 8080, HealthPath: "/healthz",
		HealthInterval: time.Second, HealthTimeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func release(version string, slot provider.Slot, tag string) provider.Release {
	return provider.Release{App: "web", Version: version, Slot: slot, Image: "registry.example.com/web:" + tag}
}

// eventually polls cond every 50ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(within)
	var last string
	for time.Now().Before(end) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not happen within %s; last: %s\n%s", what, within, last, tail(cluster.Logs()))
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// ready runs r at count and waits until its group is stable.
func ready(t *testing.T, d *kubedeploy.Driver, r provider.Release, count int) provider.Group {
	t.Helper()
	g, err := d.EnsureRelease(ctx(t), r, count)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, r.Version+" to be stable", func() (bool, string) {
		st, err := d.Observe(ctx(t), g)
		if err != nil {
			return false, err.Error()
		}
		return st.Stable && st.Healthy == count, strings.Join(st.Failures, "; ")
	})
	return g
}

// foreignService makes a Service named name in ns without cutover's owner label.
func foreignService(t *testing.T, ns, name string) {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "someone-else"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	if _, err := cluster.Kube.CoreV1().Services(ns).Create(ctx(t), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
