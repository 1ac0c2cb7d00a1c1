package kubetest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/provider/kubetest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) { kubetest.Main(m, &cluster) }

// eventually polls cond every interval until it returns "" (done) or timeout passes, then
// fails t with cond's last complaint and the cluster's logs.
func eventually(t *testing.T, timeout time.Duration, cond func(ctx context.Context) string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		why := cond(ctx)
		if why == "" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not within %s: %s\n%s", timeout, why, cluster.Logs())
		case <-tick.C:
		}
	}
}

// holds checks cond every second for d and fails t the first time it complains.
func holds(t *testing.T, d time.Duration, cond func(ctx context.Context) string) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		why := cond(ctx)
		cancel()
		if why != "" {
			t.Fatalf("stopped holding: %s\n%s", why, cluster.Logs())
		}
		time.Sleep(time.Second) // the observation interval, not a synchronisation
	}
}

// deploy creates a Deployment name with replicas pods of image (label app=name) and a
// Service of the same name selecting them.
func deploy(t *testing.T, ns, name, image string, replicas int32) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image,
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
			},
		},
	}
	if _, err := cluster.Kube.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if _, err := cluster.Kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func pods(ctx context.Context, ns, app string) ([]corev1.Pod, error) {
	l, err := cluster.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// endpoints returns the addresses of the Service's EndpointSlices by readiness.
func endpoints(ctx context.Context, ns, svc string) (ready, notReady []string, err error) {
	l, err := cluster.Kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return nil, nil, err
	}
	for _, s := range l.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ready = append(ready, e.Addresses...)
			} else {
				notReady = append(notReady, e.Addresses...)
			}
		}
	}
	slices.Sort(ready)
	slices.Sort(notReady)
	return ready, notReady, nil
}

func TestDeploymentAvailableWithReadyEndpoints(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, "avail")
	deploy(t, ns, "web", "registry.invalid/web:v1", 2)
	eventually(t, 60*time.Second, func(ctx context.Context) string {
		d, err := cluster.Kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue && d.Status.AvailableReplicas == 2 {
				return ""
			}
		}
		return fmt.Sprintf("deployment status %+v", d.Status)
	})
	var ips []string
	ps, err := pods(context.Background(), ns, "web")
	if err != nil || len(ps) != 2 {
		t.Fatalf("pods: %v, %d", err, len(ps))
	}
	for _, p := range ps {
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.Spec.NodeName != kubetest.NodeName || !podReady(&p) {
			t.Fatalf("pod %s: phase %s ip %q node %q ready %v", p.Name, p.Status.Phase, p.Status.PodIP, p.Spec.NodeName, podReady(&p))
		}
		ips = append(ips, p.Status.PodIP)
	}
	slices.Sort(ips)
	eventually(t, 30*time.Second, func(ctx context.Context) string {
		ready, notReady, err := endpoints(ctx, ns, "web")
		if err != nil {
			return err.Error()
		}
		if !slices.Equal(ready, ips) || len(notReady) != 0 {
			return fmt.Sprintf("endpoints ready %v not ready %v, want ready %v", ready, notReady, ips)
		}
		return ""
	})
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// The kubeconfig file works for a client built only from it, as another process would.
func TestKubeconfigFile(t *testing.T) {
	t.Parallel()
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n, err := kube.CoreV1().Nodes().Get(context.Background(), kubetest.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels["type"] != "kwok" || n.Annotations["kwok.x-k8s.io/node"] != "fake" {
		t.Fatalf("node labels %v annotations %v", n.Labels, n.Annotations)
	}
	if _, err := cluster.GatewayAPI.GatewayV1().GatewayClasses().List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatalf("gateway-api CRDs: %v", err)
	}
}

// A test can have a cluster of its own; it stops when the test ends.
func TestStartOwnCluster(t *testing.T) {
	t.Parallel()
	own := kubetest.Start(t)
	if own.Config.Host == cluster.Config.Host {
		t.Fatalf("Start returned the shared cluster %s", own.Config.Host)
	}
	ns := own.Namespace(t, "own")
	if _, err := own.Kube.CoreV1().ServiceAccounts(ns).Get(context.Background(), "default", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}
