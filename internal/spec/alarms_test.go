package spec

import (
	"strings"
	"testing"
)

func TestAnalysisAlarms(t *testing.T) {
	a, err := Parse(strings.NewReader(valid + "analysis: {alarms: {names: [web-5xx, \"web p99\"], region: eu-west-1, endpoint: \"http://127.0.0.1:5000\"}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if al := a.Analysis.Alarms; al == nil || len(al.Names) != 2 || al.Region != "eu-west-1" {
		t.Fatalf("alarms %+v", a.Analysis.Alarms)
	}
	checkProblems(t, problemsOf(t, valid+`analysis:
  alarms: {names: [ok, ok, " padded", "a\x01b"], region: Mars, endpoint: "ftp://x"}
egress: {allow: [hooks.example.com]}
`), []string{
		"analysis.alarms.names[1]~already names[0]",
		"analysis.alarms.names[2]~not a CloudWatch alarm name",
		"analysis.alarms.names[3]~not a CloudWatch alarm name",
		"analysis.alarms.region~not an AWS region",
		"analysis.alarms.endpoint~not an absolute http(s) URL",
		"analysis.alarms.endpoint~not allowed by egress.allow",
	})
	checkProblems(t, problemsOf(t, valid+"analysis: {alarms: {}}\n"), []string{"analysis.alarms.names~required"})
	checkProblems(t, problemsOf(t, valid+"analysis: {alarms: {names: [a], endpoint: \"http://10.0.0.9:5000\"}}\negress: {allow: [hooks.example.com]}\n"),
		[]string{"analysis.alarms.endpoint~not allowed by egress.allow"})
}
