package kubee2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
	"github.com/cutover/cutover/internal/provider/kubetest"
	"github.com/cutover/cutover/internal/provider/providertest"
)

// TestDeploymentsPassTheGroupContract: EnsureRelease, Scale, Retire and List of Deployments
// against the real API server, the pods run by kwok.
func TestDeploymentsPassTheGroupContract(t *testing.T) {
	ns := cluster.Namespace(t, "groups")
	providertest.RunGroups(t, providertest.GroupHarness{
		New:     func(t *testing.T) provider.GroupDriver { return driver(t, ns) },
		Release: func(t *testing.T, v string, s provider.Slot) provider.Release { return release(v, s, v) },
		Reopen:  func(t *testing.T, _ provider.GroupDriver) provider.GroupDriver { return driver(t, ns) },
		Counts:  true,
		Healthy: true,
	})
}

// TestReleaseObjects: a release's Deployment has the name, labels, annotations, image,
// environment and readiness probe the spec says, and its pods carry the release label.
func TestReleaseObjects(t *testing.T) {
	ns := cluster.Namespace(t, "objects")
	d := driver(t, ns)
	g := ready(t, d, release("v1.2.3", provider.Green, "v1.2.3"), 2)
	if g.Ref != "web-v1-2-3" || g.Backend.Ref != "v1.2.3" || g.Slot != provider.Green {
		t.Fatalf("group: %+v", g)
	}
	dep, err := cluster.Kube.AppsV1().Deployments(ns).Get(ctx(t), g.Ref, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if dep.Labels[kube.LabelManagedBy] != "cutover" || dep.Annotations[kube.AnnVersion] != "v1.2.3" || c.Image != "registry.example.com/web:v1.2.3" ||
		env["PORT"] != "8080" || env["CUTOVER_VERSION"] != "v1.2.3" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/healthz" {
		t.Fatalf("deployment: labels %v, annotations %v, container %+v", dep.Labels, dep.Annotations, c)
	}
	pods, err := cluster.Kube.CoreV1().Pods(ns).List(ctx(t), metav1.ListOptions{LabelSelector: kube.LabelRelease + "=v1.2.3"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("pods of v1.2.3: %v %d", err, len(pods.Items))
	}
}

// TestPodFailuresAreReported: pods that never get ready, crash, are OOM-killed or cannot
// pull their image are reported with the reasons the pods give, and never stable.
func TestPodFailuresAreReported(t *testing.T) {
	ns := cluster.Namespace(t, "failures")
	d := driver(t, ns)
	for tag, want := range map[string]string{
		kubetest.TagNeverReady: "running but not ready",
		kubetest.TagCrash:      "CrashLoopBackOff (",
		kubetest.TagOOM:        "CrashLoopBackOff after OOMKilled",
		kubetest.TagPullError:  "ImagePullBackOff",
	} {
		t.Run(tag, func(t *testing.T) {
			g, err := d.EnsureRelease(ctx(t), release("v-"+tag, provider.Blue, tag), 2)
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, 30*time.Second, tag+" to be reported", func() (bool, string) {
				st, err := d.Observe(ctx(t), g)
				if err != nil {
					return false, err.Error()
				}
				got := strings.Join(st.Failures, "; ")
				return !st.Stable && strings.Contains(got, "2 pods "+want), got
			})
		})
	}
}

// TestCrashAfterReadyIsReported: a release that was ready and then crash-loops is no
// longer stable and says why.
func TestCrashAfterReadyIsReported(t *testing.T) {
	ns := cluster.Namespace(t, "crashlater")
	d := driver(t, ns)
	g := ready(t, d, release("v1", provider.Green, "v1"), 2)
	if err := cluster.CrashPods(ctx(t), ns, kube.LabelRelease+"=v1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the crash loop to be reported", func() (bool, string) {
		st, err := d.Observe(ctx(t), g)
		if err != nil {
			return false, err.Error()
		}
		got := strings.Join(st.Failures, "; ")
		return !st.Stable && strings.Contains(got, "CrashLoopBackOff"), got
	})
}

// TestForeignDeploymentIsRefused: a Deployment with the release's name that cutover did
// not make is neither adopted nor changed.
func TestForeignDeploymentIsRefused(t *testing.T) {
	ns := cluster.Namespace(t, "foreign")
	d := driver(t, ns)
	g := ready(t, d, release("v1", provider.Green, "v1"), 1)
	dep, err := cluster.Kube.AppsV1().Deployments(ns).Get(ctx(t), g.Ref, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(dep.Labels, kube.LabelManagedBy)
	if _, err := cluster.Kube.AppsV1().Deployments(ns).Update(ctx(t), dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = d.EnsureRelease(ctx(t), release("v1", provider.Green, "v1"), 3)
	if !errors.Is(err, provider.ErrNotOwned) || !strings.Contains(err.Error(), "without the label app.kubernetes.io/managed-by=cutover") {
		t.Fatalf("EnsureRelease over a foreign Deployment: %v", err)
	}
	if err := d.Retire(ctx(t), g); !errors.Is(err, provider.ErrNotOwned) {
		t.Fatalf("Retire of a foreign Deployment: %v", err)
	}
	after, err := cluster.Kube.AppsV1().Deployments(ns).Get(ctx(t), g.Ref, metav1.GetOptions{})
	if err != nil || *after.Spec.Replicas != 1 {
		t.Fatalf("the foreign Deployment changed: %v %+v", err, after.Spec.Replicas)
	}
}
