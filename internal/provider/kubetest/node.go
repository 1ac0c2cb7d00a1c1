package kubetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// NodeName is the name of the one fake node; kwok manages it and every pod bound to it.
const NodeName = "kwok-node-0"

// poll calls cond every interval until it returns true, an error, a child process dies
// or ctx ends. what names the awaited state in the error.
func (c *Cluster) poll(ctx context.Context, interval time.Duration, what string, cond func(context.Context) (bool, error)) error {
	var last error
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		if err := c.childFailed(); err != nil {
			return false, err
		}
		ok, err := cond(ctx)
		if err != nil {
			last = err
		}
		return ok, nil
	})
	if err != nil {
		if last != nil {
			err = fmt.Errorf("%w (last error: %v)", err, last)
		}
		return fmt.Errorf("kubetest: waiting for %s: %w", what, err)
	}
	return nil
}

// createNode registers the fake node and waits until kwok has made it Ready and the
// node lifecycle controller has left it schedulable.
func (c *Cluster) createNode(ctx context.Context) error {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("512Gi"),
		corev1.ResourcePods:   resource.MustParse("500"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{"type": "kwok", "kubernetes.io/hostname": NodeName,
				"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "kubernetes.io/role": "agent"},
		},
		Status: corev1.NodeStatus{Allocatable: res, Capacity: res},
	}
	if _, err := c.Kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubetest: creating the fake node: %w", err)
	}
	return c.poll(ctx, 50*time.Millisecond, "the fake node to be Ready and untainted (kwok's node-initialize stage)", func(ctx context.Context) (bool, error) {
		n, err := c.Kube.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, taint := range n.Spec.Taints {
			if strings.HasPrefix(taint.Key, "node.kubernetes.io/") {
				return false, nil
			}
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
}

// waitServiceAccount waits until kube-controller-manager's serviceaccount controller has
// created the default ServiceAccount of namespace ns.
func (c *Cluster) waitServiceAccount(ctx context.Context, ns string) error {
	return c.poll(ctx, 50*time.Millisecond, "ServiceAccount "+ns+"/default (kube-controller-manager creates it)", func(ctx context.Context) (bool, error) {
		_, err := c.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}

// Namespace creates a namespace named prefix-<random>, waits for its default
// ServiceAccount (so its Deployments get Pods as in a real cluster) and deletes it when t
// ends. It returns the name.
func (c *Cluster) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubetest: creating a namespace %s-*: %v", prefix, err)
	}
	t.Cleanup(func() {
		// Background deletion: the namespace controller finishes it; nobody waits.
		_ = c.Kube.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	if err := c.waitServiceAccount(ctx, ns.Name); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	return ns.Name
}
