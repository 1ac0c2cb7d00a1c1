package spec

import (
	"fmt"
	"strings"
	"testing"
)

const route53App = `app: web
run:
  external: {endpoint: "web-$CUTOVER_VERSION.internal.example.com"}
traffic:
  route53: {zone: Z0123456789ABCDEFGHIJ, name: www.example.com}
health: {path: /healthz}
analysis: {alarms: {names: [web-5xx]}}
`

func TestRoute53AndExternal(t *testing.T) {
	a, err := Parse(strings.NewReader(route53App))
	if err != nil {
		t.Fatal(err)
	}
	r, x := a.Traffic.Route53, a.Run.External
	if a.Traffic.Kind() != "route53" || r.TTL.Duration().Seconds() != 60 || r.VerifyTimeout.Duration().Minutes() != 5 || x.HealthPort != 80 {
		t.Fatalf("defaults: %+v %+v", r, x)
	}
	if got := x.EndpointFor("v2", nil); got != "web-v2.internal.example.com" {
		t.Fatalf("endpoint of v2: %s", got)
	}
	y := External{Endpoint: "${IP}"}
	if got := y.EndpointFor("v2", map[string]string{"IP": "192.0.2.20"}); got != "192.0.2.20" {
		t.Fatalf("endpoint from --set: %s", got)
	}
	for e, ok := range map[string]bool{"192.0.2.1": true, "2001:db8::1": true, "blue.example.com": true, "blue.example.com.": true, "-x.example": false, "a b": false, "": false} {
		if ValidEndpoint(e) != ok {
			t.Errorf("ValidEndpoint(%q) = %v", e, !ok)
		}
	}
	long, err := Parse(strings.NewReader(strings.Replace(route53App, "name: www.example.com", "name: www.example.com, ttl: 10m", 1)))
	if err != nil || long.Traffic.Route53.VerifyTimeout.Duration().Minutes() != 20 {
		t.Fatalf("verify_timeout with a 10m TTL: %v %+v", err, long.Traffic.Route53)
	}
}

func TestDNSProblems(t *testing.T) {
	checkProblems(t, problemsOf(t, `app: web
run: {external: {endpoint: "not an endpoint", health_port: 70000}}
traffic:
  route53: {zone: example.com, name: "-bad-", ttl: 1500ms, verify_timeout: 1s}
routes: [{listen: "127.0.0.1:8080"}]
`), []string{
		"run.external.endpoint~not an IP address or a host name",
		"run.external.health_port~must be a port",
		"traffic.route53.zone~hosted zone ID",
		"traffic.route53.name~a DNS name",
		"traffic.route53.ttl~whole seconds",
		"traffic.route53.verify_timeout~not more than the TTL",
		"routes~leave routes out",
	})
	checkProblems(t, problemsOf(t, strings.Replace(route53App, "route53: {zone: Z0123456789ABCDEFGHIJ, name: www.example.com}", "dns: {name: web.example.test, ttl: 49h}", 1)),
		[]string{"traffic.dns.ttl~whole seconds"})
	checkProblems(t, problemsOf(t, valid+"traffic: {dns: {name: web.example.test}}\n"), []string{"traffic.dns~set run.external", "routes~leave routes out"})
	checkProblems(t, problemsOf(t, route53App+"test_listener: 127.0.0.1:9000\n"), []string{"test_listener~has no test listener"})
	both := strings.Replace(route53App, "route53: {zone: Z0123456789ABCDEFGHIJ, name: www.example.com}", "route53: {zone: Z0123456789ABCDEFGHIJ, name: www.example.com}\n  dns: {name: web.example.test}", 1)
	checkProblems(t, problemsOf(t, both), []string{"traffic~set one of traffic.alb, traffic.route53, traffic.dns, traffic.service_selector and traffic.gateway_api"})
	checkProblems(t, problemsOf(t, `app: web
run: {external: {endpoint: 192.0.2.1}}
routes: [{listen: "127.0.0.1:8080"}]
`), []string{"run.external~needs traffic.route53 or traffic.dns"})
}

// TestRoute53OverLoadBalancers: run.asg (or run.ecs) behind a load balancer per slot,
// weighted by Route 53; the pair is checked and needs releases cutover runs.
func TestRoute53OverLoadBalancers(t *testing.T) {
	lbA := "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-a/50dc6c495c0c9188"
	lbB := "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-b/7a1c0a5f1e2d3c4b"
	pair := func(blue, green, vpc string) string {
		return strings.Replace(asgApp, `  alb: {load_balancer: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188", vpc: vpc-1, port: 80}`,
			fmt.Sprintf("  route53: {zone: Z0123456789ABCDEFGHIJ, name: www.example.com, load_balancers: {blue: %q, green: %q, vpc: %q}}", blue, green, vpc), 1)
	}
	a, err := Parse(strings.NewReader(pair(lbA, lbB, "vpc-1")))
	if err != nil {
		t.Fatal(err)
	}
	if lb := a.Traffic.Route53.LoadBalancers; lb.Port != 80 || lb.Green != lbB {
		t.Fatalf("load_balancers: %+v", lb)
	}
	checkProblems(t, problemsOf(t, pair(lbA, lbA, "vpc-1")), []string{"traffic.route53.load_balancers.green~its own"})
	checkProblems(t, problemsOf(t, pair(lbA, "web-b", "")), []string{"traffic.route53.load_balancers.green~Application Load Balancer ARN", "traffic.route53.load_balancers.vpc~required"})
	checkProblems(t, problemsOf(t, strings.Replace(route53App, "name: www.example.com}", fmt.Sprintf("name: www.example.com, load_balancers: {blue: %q, green: %q, vpc: vpc-1}}", lbA, lbB), 1)),
		[]string{"traffic.route53.load_balancers~set run.ecs or run.asg"})
}
