package spec

import (
	"strings"
	"testing"
)

func TestEgressAllow(t *testing.T) {
	ok := valid + `hooks:
  - {name: notify, at: after_full_traffic, webhook: {url: "https://hooks.example.com/x"}}
  - {name: probe, at: green_healthy, http: {url: "http://10.1.2.3:9000/ready"}}
  - {name: named, at: green_healthy, http: {url: "http://metrics.internal:9000/ready"}}
egress:
  allow: [hooks.example.com, 10.0.0.0/8]
`
	a, err := Parse(strings.NewReader(ok))
	if err != nil {
		t.Fatalf("a spec whose URLs the list allows (or may, by address) is refused: %v", err)
	}
	if p := a.Egress.Policy(); !p.AllowsName("hooks.example.com") || !p.AllowsName("10.9.9.9") || p.AllowsName("evil.example.com") {
		t.Error("Policy does not follow egress.allow")
	}
	checkProblems(t, problemsOf(t, valid+`hooks:
  - {name: notify, at: after_full_traffic, webhook: {url: "https://other.example.com/x"}}
  - {name: probe, at: green_healthy, http: {url: "http://127.0.0.2:9000/ready"}}
analysis:
  checks: [{name: q, external: {url: "http://[::1]:9090/q", condition: "< 1"}}]
egress:
  allow: [hooks.example.com, "http://x", "10.0.0.0/33"]
`), []string{
		"hooks[0].webhook.url~add \"other.example.com\" (or its addresses) to egress.allow",
		"hooks[1].http.url~not allowed by egress.allow",
		"analysis.checks[0].external.url~not allowed",
		"egress.allow[1]~not a host name",
		"egress.allow[2]~CIDR",
	})
}
