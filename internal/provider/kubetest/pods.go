package kubetest

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// CrashPods makes every pod in namespace matching labelSelector look crash-looping, as
// a kubelet would report it and exactly like image tag TagCrash: phase Running,
// containers ready=false with state.waiting CrashLoopBackOff, restartCount >= 3 and
// lastState.terminated Error exit 1; Ready and ContainersReady False. It is for a release
// that fails only after it got traffic. kwok leaves the status alone afterwards (its
// stages only act on Pending pods and on deletion). It fails if nothing matches.
func (c *Cluster) CrashPods(ctx context.Context, namespace, labelSelector string) error {
	pods, err := c.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: labelSelector})
	if err != nil {
		return fmt.Errorf("kubetest: CrashPods: listing pods %q in %s: %w", labelSelector, namespace, err)
	}
	if len(pods.Items) == 0 {
		return fmt.Errorf("kubetest: CrashPods: no pod in %s matches %q; check the selector and that the pods exist", namespace, labelSelector)
	}
	for _, p := range pods.Items {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			pod, err := c.Kube.CoreV1().Pods(namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			crashStatus(pod, "Error", 1, metav1.Now())
			_, err = c.Kube.CoreV1().Pods(namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("kubetest: CrashPods: updating the status of pod %s/%s: %w", namespace, p.Name, err)
		}
	}
	return nil
}

// crashStatus sets pod's status to crash-looping with the given last termination, the
// Go twin of the crash stage in stages.go.
func crashStatus(pod *corev1.Pod, reason string, exitCode int32, now metav1.Time) {
	old := map[string]corev1.ContainerStatus{}
	for _, cs := range pod.Status.ContainerStatuses {
		old[cs.Name] = cs
	}
	var names []string
	statuses := make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
	for _, ctr := range pod.Spec.Containers {
		names = append(names, ctr.Name)
		prev := old[ctr.Name]
		started := now
		if prev.State.Running != nil {
			started = prev.State.Running.StartedAt
		}
		statuses = append(statuses, corev1.ContainerStatus{
			Name:         ctr.Name,
			Image:        ctr.Image,
			ImageID:      prev.ImageID,
			ContainerID:  prev.ContainerID,
			Ready:        false,
			Started:      new(false),
			RestartCount: max(prev.RestartCount+1, crashRestarts),
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: exitCode, Reason: reason, StartedAt: started, FinishedAt: now,
			}},
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off 10s restarting failed container=%s pod=%s_%s(%s)",
					ctr.Name, pod.Name, pod.Namespace, pod.UID),
			}},
		})
	}
	pod.Status.ContainerStatuses = statuses
	pod.Status.Phase = corev1.PodRunning
	msg := fmt.Sprintf("containers with unready status: [%s]", strings.Join(names, " "))
	for _, typ := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		setPodCondition(pod, corev1.PodCondition{Type: typ, Status: corev1.ConditionFalse,
			Reason: "ContainersNotReady", Message: msg, LastTransitionTime: now})
	}
}

// setPodCondition replaces or adds cond, keeping LastTransitionTime if the status stays.
func setPodCondition(pod *corev1.Pod, cond corev1.PodCondition) {
	for i, c := range pod.Status.Conditions {
		if c.Type == cond.Type {
			if c.Status == cond.Status {
				cond.LastTransitionTime = c.LastTransitionTime
			}
			pod.Status.Conditions[i] = cond
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, cond)
}
