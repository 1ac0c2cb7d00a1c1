package kubedeploy

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func deployment(replicas, updated, available, total int32, gen, observed int64, conds ...appsv1.DeploymentCondition) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web-v2", Generation: gen},
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
		Status: appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: total, UpdatedReplicas: updated,
			AvailableReplicas: available, ReadyReplicas: available, Conditions: conds},
	}
}

func pod(name string, phase corev1.PodPhase, ready bool, cs ...corev1.ContainerStatus) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: phase,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}, ContainerStatuses: cs}}
}

func TestStatusStable(t *testing.T) {
	st := Status(deployment(2, 2, 2, 2, 3, 3), []corev1.Pod{pod("a", corev1.PodRunning, true), pod("b", corev1.PodRunning, true)})
	if !st.Stable || st.Desired != 2 || st.Healthy != 2 || len(st.Failures) != 0 {
		t.Fatalf("%+v", st)
	}
	for name, d := range map[string]*appsv1.Deployment{
		"generation not observed": deployment(2, 2, 2, 2, 4, 3),
		"old replicas left":       deployment(2, 2, 2, 3, 3, 3),
		"one not available":       deployment(2, 2, 1, 2, 3, 3),
	} {
		if Status(d, nil).Stable {
			t.Errorf("%s: stable", name)
		}
	}
}

func TestStatusNamesWhatKeepsPodsFromServing(t *testing.T) {
	crash := corev1.ContainerStatus{Name: "web", RestartCount: 4,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 40s restarting failed container=web"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}}}
	oom := crash
	oom.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}
	pull := corev1.ContainerStatus{Name: "web", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "web:nope"`}}}
	running := corev1.ContainerStatus{Name: "web", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	unsched := pod("u", corev1.PodPending, false)
	unsched.Status.Conditions = append(unsched.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient memory."})
	for _, c := range []struct {
		name    string
		pods    []corev1.Pod
		want    string
		crashed bool
	}{
		{"crash loop", []corev1.Pod{pod("a", corev1.PodRunning, false, crash), pod("b", corev1.PodRunning, false, crash)},
			"2 pods CrashLoopBackOff (a: container web; back-off 40s restarting failed container=web; last exit Error, code 1; 4 restarts)", true},
		{"oom", []corev1.Pod{pod("a", corev1.PodRunning, false, oom)}, "1 pod CrashLoopBackOff after OOMKilled (a: container web", true},
		{"image pull", []corev1.Pod{pod("a", corev1.PodPending, false, pull)}, `1 pod ImagePullBackOff (a: container web; Back-off pulling image "web:nope")`, false},
		{"never ready", []corev1.Pod{pod("a", corev1.PodRunning, false, running)}, "1 pod running but not ready (a: the readiness probe has not passed)", false},
		{"unschedulable", []corev1.Pod{unsched}, "1 pod unschedulable (u: 0/1 nodes are available: 1 Insufficient memory.)", false},
	} {
		st := Status(deployment(2, 2, 0, 2, 1, 1), c.pods)
		if st.Stable || len(st.Failures) != 1 || !strings.Contains(st.Failures[0], c.want) || st.Crashed != c.crashed {
			t.Errorf("%s: %+v, want a failure with %q, crashed %v", c.name, st, c.want, c.crashed)
		}
	}
	if st := Status(deployment(2, 2, 2, 2, 1, 1), []corev1.Pod{pod("a", corev1.PodRunning, true, running)}); len(st.Failures) != 0 {
		t.Errorf("a ready pod is a failure: %v", st.Failures)
	}
	evicted := pod("e", corev1.PodFailed, false)
	evicted.Status.Reason = "Evicted"
	if st := Status(deployment(2, 2, 2, 2, 1, 1), []corev1.Pod{evicted, pod("a", corev1.PodRunning, true, running)}); len(st.Failures) != 0 || st.Crashed || !st.Stable {
		t.Errorf("an evicted pod the ReplicaSet replaced counts: %+v", st)
	}
}

func TestStatusReportsDeploymentConditions(t *testing.T) {
	d := deployment(2, 1, 0, 1, 1, 1,
		appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "web-v2-7d4" has timed out progressing.`},
		appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: `pods "web-v2-" is forbidden: exceeded quota`})
	st := Status(d, nil)
	got := strings.Join(st.Failures, "\n")
	for _, want := range []string{"deployment web-v2: ProgressDeadlineExceeded: ReplicaSet", "deployment web-v2: FailedCreate: pods \"web-v2-\" is forbidden: exceeded quota"} {
		if !strings.Contains(got, want) {
			t.Errorf("failures lack %q:\n%s", want, got)
		}
	}
}
