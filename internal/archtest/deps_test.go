package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/cutover/cutover/internal/"

// rules: a package must not link any of the listed packages (directly or through others).
var rules = []struct {
	pkg       string
	forbidden []string
	why       string
}{
	{"cli", []string{"engine", "router", "deploy", "store", "daemon", "runtime", "apiserver"},
		"the CLI talks to the server only through the api client"},
	{"api", []string{"engine", "router", "deploy", "store", "daemon", "spec"},
		"the wire types and client stand alone"},
	{"deploy", []string{"router", "store", "runtime", "engine", "hooks", "daemon"},
		"decisions know the world only through the ports deploy declares"},
	{"router", []string{"deploy", "engine", "spec", "store", "runtime", "analysis"},
		"the data plane knows nothing of deployments"},
	{"spec", []string{"deploy", "engine", "router", "store", "runtime"},
		"the user's model depends on nothing of the machinery"},
	{"runtime", []string{"engine", "deploy", "router", "store"},
		"the driver contract stands alone"},
	{"engine", []string{"runtime/process", "runtime/docker", "provider/awsalb", "provider/awsecs", "provider/awscw", "provider/awsapp", "provider/awsasg", "provider/awsec2", "provider/awsr53", "provider/external", "dnsserver", "provider/kube", "provider/kubedeploy", "provider/kubesvc", "provider/kubegw", "provider/kubeapp"},
		"the engine picks drivers and providers through their ports; the composition root (daemon) builds them"},
	{"provider", []string{"engine", "deploy", "router", "store", "runtime", "spec", "provider/awsalb", "provider/awsecs", "provider/awscw", "provider/awsapp", "provider/awsasg", "provider/awsec2", "provider/awsr53", "provider/external", "dnsserver", "provider/kube", "provider/kubedeploy", "provider/kubesvc", "provider/kubegw", "provider/kubeapp"},
		"the provider ports stand alone and know no implementation"},
	{"router", []string{"provider", "provider/awsalb", "provider/awsecs", "provider/awscw", "provider/awsapp", "provider/awsasg", "provider/awsec2", "provider/awsr53", "provider/external", "dnsserver", "provider/kube", "provider/kubedeploy", "provider/kubesvc", "provider/kubegw", "provider/kubeapp"},
		"the AWS SDK and the Kubernetes client stay off the router's request path"},
	{"routerfollow", []string{"engine", "deploy", "store", "daemon", "runtime", "spec", "apiserver", "provider"},
		"a following router is data plane only: it knows its server through the API"},
	{"routerhub", []string{"engine", "deploy", "store", "daemon", "runtime", "spec"},
		"the hub only versions tables and adds counters"},
	{"provider/external", []string{"engine", "deploy", "router", "store", "runtime", "spec", "dnsserver"},
		"an external release is an endpoint and a health check; it knows no deployment"},
	{"dnsserver", []string{"engine", "deploy", "router", "store", "runtime", "spec", "daemon", "provider/awsr53", "provider/awsapp"},
		"the DNS server answers records; it knows no deployment, spec or AWS"},
	{"provider/kubedeploy", []string{"engine", "deploy", "router", "store", "runtime", "spec", "provider/kubesvc", "provider/kubegw"},
		"a release's Deployment knows no traffic, spec or deployment"},
	{"provider/kubesvc", []string{"engine", "deploy", "router", "store", "runtime", "spec", "provider/kubedeploy", "provider/kubegw"},
		"a Service selector knows no Deployment, spec or deployment"},
	{"provider/kubegw", []string{"engine", "deploy", "router", "store", "runtime", "spec", "provider/kubedeploy", "provider/kubesvc"},
		"an HTTPRoute knows no Deployment, spec or deployment"},
	{"pipeline", []string{"engine", "router", "daemon", "apiserver", "runtime", "provider"},
		"a pipeline reaches the engine through the ports it declares; it runs no instance and moves no traffic itself"},
	{"pipeline/gitsrc", []string{"engine", "deploy", "router", "store", "runtime", "spec", "pipeline"},
		"the git source knows repositories, not deployments"},
	{"pipeline/webhook", []string{"engine", "deploy", "router", "store", "runtime", "spec", "pipeline"},
		"webhook verification is pure: headers and a body in, a push out"},
	{"web", []string{"engine", "router", "deploy", "store", "daemon", "runtime", "apiserver", "spec"},
		"the dashboard sees the server only through the API"},
}

// TestDataPlaneLinksNoKubernetes: the Kubernetes client (and its init-time scheme
// registration) stays off the request path of the router and its followers.
func TestDataPlaneLinksNoKubernetes(t *testing.T) {
	for _, pkg := range []string{"router", "routerfollow", "routerhub", "handoff"} {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, line := range strings.Fields(string(out)) {
			if strings.HasPrefix(line, "k8s.io/") || strings.HasPrefix(line, "sigs.k8s.io/") {
				t.Errorf("internal/%s links %s: the Kubernetes modules stay off the data plane", pkg, line)
				break
			}
		}
	}
}

// TestBinaryLinksNoTestHelpers: helpers for tests stay out of the shipped binary.
func TestBinaryLinksNoTestHelpers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/cutover/cutover/cmd/cutover").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps cmd/cutover: %v\n%s", err, out)
	}
	for _, line := range strings.Fields(string(out)) {
		if strings.HasSuffix(line, "test") && strings.HasPrefix(line, mod) {
			t.Errorf("the cutover binary links %s, a package meant for tests only", line)
		}
	}
}

func TestDependencyRules(t *testing.T) {
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", mod+r.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", r.pkg, err, out)
		}
		deps := map[string]bool{}
		for _, line := range strings.Fields(string(out)) {
			if rest, ours := strings.CutPrefix(line, mod); ours {
				deps[rest] = true
			}
		}
		for _, f := range r.forbidden {
			if deps[f] {
				t.Errorf("internal/%s links internal/%s, but %s", r.pkg, f, r.why)
			}
		}
	}
}
