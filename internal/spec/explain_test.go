package spec

import (
	"strings"
	"testing"
)

// TestExplain: every documented field explains itself by the path problems name it with;
// an object lists its fields; an unknown path says where to look.
func TestExplain(t *testing.T) {
	for _, f := range Fields() {
		if _, err := Explain(f.Path); err != nil {
			t.Errorf("%s: %v", f.Path, err)
		}
	}
	got, err := Explain("traffic.alb.test_port")
	if err != nil || !strings.HasPrefix(got, "traffic.alb.test_port (integer, default: none)\n\nThe test listener's port") || !strings.Contains(got, "Example:\n  traffic:\n    alb:\n      test_port: 8443\n") {
		t.Fatalf("explain traffic.alb.test_port:\n%s (%v)", got, err)
	}
	got, err = Explain("hooks[3].http.path")
	if err != nil || !strings.HasPrefix(got, "hooks[].http.path (string") {
		t.Fatalf("explain hooks[3].http.path:\n%s (%v)", got, err)
	}
	got, err = Explain("analysis.checks[0].cloudwatch")
	if err != nil || !strings.Contains(got, "Fields of analysis.checks[].cloudwatch") || !strings.Contains(got, "analysis.checks[].cloudwatch.lag") {
		t.Fatalf("explain an object:\n%s (%v)", got, err)
	}
	if got, err = Explain(""); err != nil || !strings.Contains(got, "Fields of the top level") || !strings.Contains(got, "  run ") {
		t.Fatalf("explain the top level:\n%s (%v)", got, err)
	}
	if _, err := Explain("traffic.alb.nope"); err == nil || !strings.Contains(err.Error(), "--explain traffic.alb` lists the fields of traffic.alb") {
		t.Fatalf("explain an unknown field: %v", err)
	}
	if _, err := Explain("nope.deeper"); err == nil || !strings.Contains(err.Error(), "lists the top level") {
		t.Fatalf("explain an unknown top-level field: %v", err)
	}
}
