package spec

import (
	"strings"
	"testing"
)

const kubeApp = `app: web
run:
  instances: 2
  kubernetes: {namespace: shop, image: "registry.example.com/web:$CUTOVER_VERSION"}
traffic:
  gateway_api: {gateway: infra/edge, hostnames: [web.example.com]}
health: {path: /healthz}
`

func TestKubernetesDefaults(t *testing.T) {
	a, err := Parse(strings.NewReader(kubeApp))
	if err != nil {
		t.Fatal(err)
	}
	k, g := a.Run.Kubernetes, a.Traffic.GatewayAPI
	if a.Run.Runtime() != RuntimeKubernetes || a.Traffic.Kind() != "gateway_api" || k.Port != 8080 || g.Route != "web" || g.Port != 80 ||
		g.Settle.Duration().Seconds() != 2 || g.VerifyTimeout.Duration().Minutes() != 5 {
		t.Fatalf("defaults: %+v %+v", k, g)
	}
	if got := k.ImageFor("web", "v2"); got != "registry.example.com/web:v2" {
		t.Fatalf("image of v2: %s", got)
	}
	if ns, name := g.GatewayRef("shop"); ns != "infra" || name != "edge" {
		t.Fatalf("gateway ref: %s/%s", ns, name)
	}
	if ns, name := (&GatewayAPI{Gateway: "edge"}).GatewayRef("shop"); ns != "shop" || name != "edge" {
		t.Fatalf("gateway ref without a namespace: %s/%s", ns, name)
	}
	bg := strings.Replace(kubeApp, "gateway_api: {gateway: infra/edge, hostnames: [web.example.com]}", "service_selector: {}", 1) + "strategy: {bluegreen: {}}\n"
	b, err := Parse(strings.NewReader(bg))
	if err != nil {
		t.Fatal(err)
	}
	if s := b.Traffic.ServiceSelector; s.Service != "web" || s.Preview != "web-preview" || s.Port != 80 || s.Settle.Duration().Seconds() != 5 {
		t.Fatalf("service_selector defaults: %+v", s)
	}
}

func TestKubernetesProblems(t *testing.T) {
	checkProblems(t, problemsOf(t, `app: web
run:
  kubernetes: {namespace: Shop_1, image: "a b", port: 70000, service_account: "-x", cpu: lots, memory: 1Gb, env: {"A=B": x}}
traffic:
  gateway_api: {gateway: "in/fra/edge", route: "Web", section: "-s", hostnames: ["-bad"], port: 0, settle: 10m}
`), []string{
		"run.kubernetes.namespace~not a Kubernetes name",
		"run.kubernetes.image~white space",
		"run.kubernetes.port~must be a port",
		"run.kubernetes.service_account~not a Kubernetes name",
		"run.kubernetes.cpu~not a Kubernetes quantity",
		"run.kubernetes.memory~not a Kubernetes quantity",
		`run.kubernetes.env["A=B"]~not a valid variable name`,
		"traffic.gateway_api.port~must not be 0",
		"traffic.gateway_api.route~not a Kubernetes name",
		"traffic.gateway_api.gateway~not NAME or NAMESPACE/NAME",
		"traffic.gateway_api.section~not a Kubernetes name",
		"traffic.gateway_api.hostnames[0]~not a host name",
		"traffic.gateway_api.verify_timeout~not more than settle",
	})
	checkProblems(t, problemsOf(t, `app: web
run: {kubernetes: {image: web}}
traffic: {service_selector: {service: 1web, preview: 1web}}
`), []string{
		"run.kubernetes.namespace~required",
		"traffic.service_selector.service~not a Service name",
		"traffic.service_selector.preview~not a Service name",
		"traffic.service_selector.preview~is the production Service too",
		"strategy~moves all traffic at once",
	})
	checkProblems(t, problemsOf(t, `app: web
run: {kubernetes: {namespace: shop, image: web}}
routes: [{listen: "127.0.0.1:8080"}]
`), []string{"run.kubernetes~needs traffic.service_selector"})
	checkProblems(t, problemsOf(t, valid+"traffic: {gateway_api: {gateway: edge}}\n"), []string{"traffic.gateway_api~set run.kubernetes", "routes~leave routes out"})
	checkProblems(t, problemsOf(t, strings.Replace(kubeApp, "app: web", "app: 1web", 1)), []string{"app~not Service names"})
	checkProblems(t, problemsOf(t, kubeApp+"strategy: {rolling: {batch: 1}}\n"), []string{"strategy.rolling~not with traffic.gateway_api"})
	checkProblems(t, problemsOf(t, kubeApp+"hooks: [{name: smoke, at: green_healthy, http: {path: /healthz}}]\n"), []string{"hooks[0].http.url~required with run.kubernetes"})
}
