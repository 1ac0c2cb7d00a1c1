package kubedeploy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/kube"
)

// Observe reads g's Deployment and pods: stable once the Deployment controller has seen
// its generation and every replica is updated and available; failures from its
// conditions and its pods' states. A read younger than Config.ObserveEvery is reused.
func (d *Driver) Observe(ctx context.Context, g provider.Group) (provider.GroupStatus, error) {
	now := d.cfg.Now()
	d.mu.Lock()
	o, ok := d.seen[g.Ref]
	d.mu.Unlock()
	if ok && now.Sub(o.at) < d.cfg.ObserveEvery {
		return o.st, nil
	}
	st, err := d.observe(ctx, g)
	if err == nil {
		d.mu.Lock()
		d.seen[g.Ref] = observed{at: now, st: st}
		d.mu.Unlock()
	}
	return st, err
}

// forget drops what Observe saw of a Deployment, after a write to it.
func (d *Driver) forget(name string) {
	d.mu.Lock()
	delete(d.seen, name)
	d.mu.Unlock()
}

func (d *Driver) observe(ctx context.Context, g provider.Group) (provider.GroupStatus, error) {
	op := fmt.Sprintf("kubernetes: deployment %s/%s", d.cfg.Namespace, g.Ref)
	dep, err := d.c.Apps.Deployments(d.cfg.Namespace).Get(ctx, g.Ref, metav1.GetOptions{})
	if err != nil {
		return provider.GroupStatus{}, kube.Err(op, err)
	}
	sel := labels.SelectorFromSet(dep.Spec.Selector.MatchLabels).String()
	pods, err := d.c.Core.Pods(d.cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return provider.GroupStatus{}, kube.Err(op+": list pods", err)
	}
	return Status(dep, pods.Items), nil
}

// Status is what a Deployment and its pods say of the group. It is pure.
func Status(dep *appsv1.Deployment, pods []corev1.Pod) provider.GroupStatus {
	desired := 1
	if dep.Spec.Replicas != nil {
		desired = int(*dep.Spec.Replicas)
	}
	s := dep.Status
	st := provider.GroupStatus{Desired: desired, Running: int(s.Replicas), Healthy: int(s.AvailableReplicas)}
	st.Stable = s.ObservedGeneration >= dep.Generation && int(s.UpdatedReplicas) == desired &&
		int(s.AvailableReplicas) == desired && int(s.Replicas) == desired
	for _, c := range dep.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse,
			c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			st.Failures = append(st.Failures, fmt.Sprintf("deployment %s: %s: %s", dep.Name, c.Reason, c.Message))
		}
	}
	pf, crashed := podFailures(pods)
	st.Failures, st.Crashed = append(st.Failures, pf...), crashed
	return st
}

// podFailures names what keeps pods from serving, one line per kind of trouble with the
// number of pods it holds and the first one's details, in a stable order; crashed is set
// when a pod's containers keep exiting (a crash loop, an OOM kill).
func podFailures(pods []corev1.Pod) (lines []string, crashed bool) {
	type trouble struct {
		n      int
		detail string
	}
	by := map[string]*trouble{}
	var order []string
	note := func(kind, detail string) {
		if t := by[kind]; t != nil {
			t.n++
			return
		}
		by[kind] = &trouble{n: 1, detail: detail}
		order = append(order, kind)
	}
	for _, p := range pods {
		// A pod being deleted, or one that ended (evicted, its node shut down), is no
		// longer the ReplicaSet's: it has made or will make another.
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		if kind, detail := podTrouble(&p); kind != "" {
			note(kind, detail)
			crashed = crashed || strings.HasPrefix(kind, "CrashLoopBackOff") || kind == "OOMKilled"
		}
	}
	slices.Sort(order)
	out := make([]string, 0, len(order))
	for _, k := range order {
		t := by[k]
		pods := "1 pod"
		if t.n > 1 {
			pods = fmt.Sprintf("%d pods", t.n)
		}
		out = append(out, fmt.Sprintf("%s %s (%s)", pods, k, t.detail))
	}
	return out, crashed
}

// waitingTrouble are the container waiting reasons that mean the container does not run
// and will not by itself soon.
var waitingTrouble = []string{"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
	"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}

// podTrouble is the kind of trouble of one pod ("" when it serves or is on its way) and
// its details.
func podTrouble(p *corev1.Pod) (kind, detail string) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return "unschedulable", p.Name + ": " + c.Message
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		last := ""
		if t := cs.LastTerminationState.Terminated; t != nil {
			last = fmt.Sprintf("last exit %s, code %d", t.Reason, t.ExitCode)
		}
		if w := cs.State.Waiting; w != nil && slices.Contains(waitingTrouble, w.Reason) {
			kind := w.Reason
			if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
				kind += " after OOMKilled"
			}
			return kind, join(p.Name+": container "+cs.Name, w.Message, last, restarts(cs.RestartCount))
		}
		if t := cs.State.Terminated; t != nil && t.Reason == "OOMKilled" {
			return "OOMKilled", join(p.Name+": container "+cs.Name, fmt.Sprintf("exit code %d", t.ExitCode), restarts(cs.RestartCount))
		}
	}
	if p.Status.Phase == corev1.PodRunning && !podReady(p) && allRunning(p) {
		return "running but not ready", p.Name + ": the readiness probe has not passed"
	}
	return "", ""
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func allRunning(p *corev1.Pod) bool {
	if len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

func restarts(n int32) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "1 restart"
	}
	return fmt.Sprintf("%d restarts", n)
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
