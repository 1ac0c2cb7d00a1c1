package kubetest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/provider/kubetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// checkPod returns what is wrong with p for the given failure tag ("" if nothing).
func checkPod(p *corev1.Pod, tag string) string {
	wantPhase := corev1.PodRunning
	if tag == kubetest.TagPullError {
		wantPhase = corev1.PodPending
	}
	if p.Status.Phase != wantPhase {
		return fmt.Sprintf("pod %s phase %q, want %q", p.Name, p.Status.Phase, wantPhase)
	}
	if tag != kubetest.TagPullError && p.Status.PodIP == "" {
		return fmt.Sprintf("pod %s has no IP", p.Name)
	}
	for _, typ := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		if c := cond(p, typ); c == nil || c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotReady" ||
			c.Message != "containers with unready status: [app]" {
			return fmt.Sprintf("pod %s condition %s = %+v", p.Name, typ, c)
		}
	}
	if len(p.Status.ContainerStatuses) != 1 {
		return fmt.Sprintf("pod %s container statuses %+v", p.Name, p.Status.ContainerStatuses)
	}
	cs := p.Status.ContainerStatuses[0]
	if cs.Name != "app" || cs.Ready || cs.Image != p.Spec.Containers[0].Image {
		return fmt.Sprintf("pod %s container status %+v", p.Name, cs)
	}
	switch tag {
	case kubetest.TagNeverReady:
		if cs.State.Running == nil || cs.RestartCount != 0 || cs.Started == nil || !*cs.Started {
			return fmt.Sprintf("pod %s: want a running unready container, got %+v", p.Name, cs)
		}
	case kubetest.TagPullError:
		w := cs.State.Waiting
		if w == nil || w.Reason != "ImagePullBackOff" || w.Message != fmt.Sprintf("Back-off pulling image %q", cs.Image) {
			return fmt.Sprintf("pod %s: want ImagePullBackOff, got %+v", p.Name, cs.State)
		}
	case kubetest.TagCrash, kubetest.TagOOM:
		reason, code := "Error", int32(1)
		if tag == kubetest.TagOOM {
			reason, code = "OOMKilled", 137
		}
		w, last := cs.State.Waiting, cs.LastTerminationState.Terminated
		wantMsg := fmt.Sprintf("back-off 10s restarting failed container=app pod=%s_%s(%s)", p.Name, p.Namespace, p.UID)
		if w == nil || w.Reason != "CrashLoopBackOff" || w.Message != wantMsg {
			return fmt.Sprintf("pod %s: want CrashLoopBackOff %q, got state %+v", p.Name, wantMsg, cs.State)
		}
		if last == nil || last.Reason != reason || last.ExitCode != code || cs.RestartCount < 3 {
			return fmt.Sprintf("pod %s: want lastState %s/%d and restarts >= 3, got %+v restarts %d", p.Name, reason, code, cs.LastTerminationState, cs.RestartCount)
		}
	}
	return ""
}

func cond(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// checkPods checks that app has n pods, all as tag says.
func checkPods(ctx context.Context, ns, app, tag string, n int) string {
	ps, err := pods(ctx, ns, app)
	if err != nil {
		return err.Error()
	}
	if len(ps) != n {
		return fmt.Sprintf("%d pods, want %d", len(ps), n)
	}
	for i := range ps {
		if why := checkPod(&ps[i], tag); why != "" {
			return why
		}
	}
	return ""
}

func TestFailureTags(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, "tags")
	for _, tag := range []string{kubetest.TagNeverReady, kubetest.TagCrash, kubetest.TagOOM, kubetest.TagPullError} {
		t.Run(tag, func(t *testing.T) {
			t.Parallel()
			deploy(t, ns, tag, "registry.invalid/app:"+tag, 1)
			eventually(t, 30*time.Second, func(ctx context.Context) string { return checkPods(ctx, ns, tag, tag, 1) })
			ps, err := pods(context.Background(), ns, tag)
			if err != nil {
				t.Fatal(err)
			}
			rv := ps[0].ResourceVersion
			// Nothing rewrites the pod after it reached its state (no stage loop, no revert).
			holds(t, 3*time.Second, func(ctx context.Context) string {
				p, err := cluster.Kube.CoreV1().Pods(ns).Get(ctx, ps[0].Name, metav1.GetOptions{})
				if err != nil {
					return err.Error()
				}
				if p.ResourceVersion != rv {
					return fmt.Sprintf("pod %s rewritten (resourceVersion %s -> %s): %+v", p.Name, rv, p.ResourceVersion, p.Status)
				}
				return ""
			})
			// The Service lists no ready endpoint for it.
			ready, _, err := endpoints(context.Background(), ns, tag)
			if err != nil || len(ready) != 0 {
				t.Fatalf("ready endpoints %v (%v), want none", ready, err)
			}
		})
	}
}

func TestCrashPodsHolds(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, "crashlater")
	deploy(t, ns, "web", "registry.invalid/web:v2", 2)
	eventually(t, 60*time.Second, func(ctx context.Context) string {
		ready, _, err := endpoints(ctx, ns, "web")
		if err != nil || len(ready) != 2 {
			return fmt.Sprintf("ready endpoints %v (%v)", ready, err)
		}
		return ""
	})
	if err := cluster.CrashPods(context.Background(), ns, "app=web"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.CrashPods(context.Background(), ns, "app=nothing"); err == nil || !strings.Contains(err.Error(), "no pod") {
		t.Fatalf("CrashPods on no pods: %v", err)
	}
	eventually(t, 30*time.Second, func(ctx context.Context) string {
		d, err := cluster.Kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil || d.Status.AvailableReplicas != 0 {
			return fmt.Sprintf("deployment status %+v (%v)", d.Status, err)
		}
		if ready, notReady, err := endpoints(ctx, ns, "web"); err != nil || len(ready) != 0 || len(notReady) != 2 {
			return fmt.Sprintf("endpoints ready %v not ready %v (%v)", ready, notReady, err)
		}
		return ""
	})
	holds(t, 10*time.Second, func(ctx context.Context) string { return checkPods(ctx, ns, "web", kubetest.TagCrash, 2) })
}
