package analysis

import (
	"strings"
	"testing"
	"time"
)

// TestStarvedGreenIsItsOwnReason: with traffic flowing to blue and none to green, every
// router-signal check is inconclusive with a reason that names the split, not "fewer than the
// N needed"; with too little traffic overall the old reason stays.
func TestStarvedGreenIsItsOwnReason(t *testing.T) {
	checks := []Check{
		{Name: "errors", ErrorRate: &ErrorRate{Max: 1}},
		{Name: "p99", Latency: &Latency{Max: time.Second}},
		{Name: "rate", RequestRate: &RequestRate{}},
	}
	for _, c := range checks {
		starved := Evaluate(c, Input{Green: traffic(0, 0, 10*time.Second), Blue: traffic(11480, 0, 10*time.Second), MinRequests: 30})
		if starved.Verdict != Inconclusive || !strings.Contains(starved.Evidence, "green served no requests while blue served 11480") ||
			strings.Contains(starved.Evidence, "fewer than") {
			t.Errorf("%s starved: %v %q", c.Name, starved.Verdict, starved.Evidence)
		}
		low := Evaluate(c, Input{Green: traffic(0, 0, 10*time.Second), Blue: traffic(10, 0, 10*time.Second), MinRequests: 30})
		if low.Verdict != Inconclusive || !strings.Contains(low.Evidence, "fewer than the 30 needed") {
			t.Errorf("%s with little load: %v %q", c.Name, low.Verdict, low.Evidence)
		}
	}
}
