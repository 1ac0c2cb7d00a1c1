// Package kubetest gives Go tests a real Kubernetes control plane: envtest's etcd and
// kube-apiserver with the Gateway API standard CRDs, plus kube-controller-manager,
// kube-scheduler and kwok (a fake kubelet) as child processes, one fake node, and a
// stand-in Gateway API controller that writes HTTPRoute status. Deployments, ReplicaSets,
// Pods, EndpointSlices and namespaces behave as in a cluster; no container ever runs.
//
// Binaries come from $KUBEBUILDER_ASSETS or, when that is unset, from running
// scripts/kube-binaries.sh (cold: ~15 min, warm: <1 s). A missing binary fails the test;
// it is never a skip.
//
// One cluster per test binary is the cheap way (a start takes a few seconds):
//
//	var cluster *kubetest.Cluster
//
//	func TestMain(m *testing.M) { kubetest.Main(m, &cluster) }
//
//	func TestX(t *testing.T) {
//		ns := cluster.Namespace(t, "x")
//		...
//	}
//
// Start(t) gives a test a cluster of its own. Pods report failures by image tag (see
// TagCrash and friends); CrashPods turns running pods into crash-looping ones later.
package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// Cluster is one running control plane. Its methods are safe for concurrent use.
type Cluster struct {
	// Config is an admin (system:masters) client config for the kube-apiserver.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file with the same admin credentials, for
	// another process (KUBECONFIG=... in its environment). It lives until the cluster stops.
	Kubeconfig string
	// Kube is a client-go clientset on Config.
	Kube kubernetes.Interface
	// GatewayAPI is a Gateway API clientset on Config.
	GatewayAPI gatewayclient.Interface

	env      *envtest.Environment
	dir      string
	children []*child
	gw       *gatewayController
	stopOnce sync.Once
}

var quietLogs sync.Once

// Start starts a cluster for t and stops it when t ends. It fails t, with the reason and
// what to do, when the cluster cannot start.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, err := start(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	return c
}

// StartShared starts a cluster that is not tied to a test, for TestMain; call stop when
// done (it is idempotent). Main is the short form.
func StartShared() (c *Cluster, stop func(), err error) {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	if c, err = start(logf); err != nil {
		return nil, nil, err
	}
	return c, c.stop, nil
}

// Main starts one cluster, stores it in *c, runs the package's tests, stops the cluster
// and exits with the tests' exit code. Call it from TestMain. If the cluster cannot
// start, it prints why and exits 1.
func Main(m *testing.M, c **Cluster) {
	cluster, stop, err := StartShared()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*c = cluster
	code := m.Run()
	stop()
	os.Exit(code)
}

// start brings the whole control plane up: envtest, the child processes, the fake node,
// the default ServiceAccount and the gateway stand-in.
func start(logf func(string, ...any)) (_ *Cluster, err error) {
	t0 := time.Now()
	// envtest logs through controller-runtime, which complains loudly once if no logger is set.
	quietLogs.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	bin, crds, err := locate(logf)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		return nil, fmt.Errorf("kubetest: creating a temp dir: %w", err)
	}
	c := &Cluster{dir: dir, env: &envtest.Environment{
		BinaryAssetsDirectory: bin,
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
	}}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, c.Logs())
			c.stop()
		}
	}()
	if c.Config, err = c.env.Start(); err != nil {
		return nil, fmt.Errorf("kubetest: starting envtest (etcd, kube-apiserver, gateway-api CRDs from %s) failed: %w; check the binaries in %s or %s", crds, err, bin, runScript)
	}
	tAPI := time.Since(t0)
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err = os.WriteFile(c.Kubeconfig, c.env.KubeConfig, 0o600); err != nil {
		return nil, fmt.Errorf("kubetest: writing the kubeconfig: %w", err)
	}
	if c.Kube, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, fmt.Errorf("kubetest: building the client-go clientset: %w", err)
	}
	if c.GatewayAPI, err = gatewayclient.NewForConfig(c.Config); err != nil {
		return nil, fmt.Errorf("kubetest: building the gateway-api clientset: %w", err)
	}
	if err = c.startChildren(bin); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err = c.createNode(ctx); err != nil {
		return nil, err
	}
	if err = c.waitServiceAccount(ctx, "default"); err != nil {
		return nil, err
	}
	c.gw = startGatewayController(c.Kube, c.GatewayAPI)
	logf("kubetest: cluster up in %s (etcd+kube-apiserver+CRDs %s); API %s, kubeconfig %s",
		time.Since(t0).Round(time.Millisecond), tAPI.Round(time.Millisecond), c.Config.Host, c.Kubeconfig)
	return c, nil
}

// startChildren starts kube-controller-manager, kube-scheduler and kwok.
func (c *Cluster) startChildren(bin string) error {
	stages, err := writeStages(bin, c.dir)
	if err != nil {
		return err
	}
	kc := "--kubeconfig=" + c.Kubeconfig
	certDir := c.env.ControlPlane.APIServer.CertDir
	procs := [][]string{
		{"kube-controller-manager", kc, "--leader-elect=false", "--secure-port=0",
			"--service-account-private-key-file=" + filepath.Join(certDir, "sa-signer.key"),
			"--use-service-account-credentials=false", "--kube-api-qps=200", "--kube-api-burst=400",
			"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10"},
		{"kube-scheduler", kc, "--leader-elect=false", "--secure-port=0"},
		// Pod and node IPs are fiction; nothing sends traffic to them.
		{"kwok", kc, "--config=" + stages, "--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
			"--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16", "--node-ip=10.1.0.1"},
	}
	for _, p := range procs {
		ch, err := startChild(c.dir, filepath.Join(bin, p[0]), p[1:]...)
		if err != nil {
			return err
		}
		c.children = append(c.children, ch)
	}
	return nil
}

// stop stops the gateway stand-in and the children (before envtest: kube-apiserver's
// shutdown waits ~20 s for their watches otherwise), then envtest, and removes the dir.
func (c *Cluster) stop() {
	c.stopOnce.Do(func() {
		if c.gw != nil {
			c.gw.stop()
		}
		var wg sync.WaitGroup
		for _, ch := range c.children {
			wg.Add(1)
			go func() { defer wg.Done(); ch.stop() }()
		}
		wg.Wait()
		if err := c.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "kubetest: stopping envtest: %v\n", err)
		}
		_ = os.RemoveAll(c.dir)
	})
}
