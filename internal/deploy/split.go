package deploy

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// splitMinExpected is how many requests green should have had at its weight before a share
// far from it counts: 50 expected requests make 0 observed no accident.
const splitMinExpected = 50

// checkSplit compares the split the router saw over the step with the weight, all through
// the step (a starved green never passes analysis, so waiting for the bake would wait for
// ever). A share far off is recorded once with its evidence, shown by why while it lasts,
// stops the step from advancing, and fails the step when it stays off for the split deadline
// (unless the plan says to keep waiting). It reports true when it ended the deployment.
func (d *decision) checkSplit(sp *Split) bool {
	s := &d.s
	msg, judged, off := splitMismatch(s, sp)
	switch {
	case off && s.SplitOffSince.IsZero():
		s.SplitOffSince, s.SplitNote = d.now, msg
		then := fmt.Sprintf("the step fails if it stays so for %s", s.splitDeadline())
		switch {
		case s.Plan.SplitWait:
			then = "waiting for it to right itself (split_check.policy wait)"
		case s.Plan.SplitRebalance && s.SplitRebalancedAt.IsZero():
			s.SplitRebalancedAt = d.now
			s.RebalanceGen = max(d.now.Unix(), s.RebalanceGen+1)
			then = fmt.Sprintf("re-balancing the cohorts: clients not in green's cohort are split again, and the step fails if the split stays off for %s", s.splitDeadline())
		}
		d.record("step %d (%s): %s; %s", s.Step+1, pct(s.Weight), msg, then)
	case off:
		s.SplitNote = msg
	case judged && !s.SplitOffSince.IsZero():
		s.SplitOffSince, s.SplitNote = time.Time{}, ""
		d.record("step %d (%s): %s", s.Step+1, pct(s.Weight), msg)
	}
	if !s.SplitOffSince.IsZero() && !s.Plan.SplitWait && !d.now.Before(s.SplitOffSince.Add(s.splitDeadline())) {
		after := ""
		if !s.SplitRebalancedAt.IsZero() {
			after = ", after re-balancing the cohorts"
		}
		d.fail("step %d (%s): %s, for %s%s", s.Step+1, pct(s.Weight), s.SplitNote, s.splitDeadline(), after)
		return true
	}
	return false
}

func (s *State) splitDeadline() time.Duration {
	if s.Plan.SplitDeadline > 0 {
		return s.Plan.SplitDeadline
	}
	return DefaultSplitDeadline
}

// splitMismatch judges the observed split: judged when there were enough requests to tell,
// off when green's share is far from its weight (beyond the tolerance in points, or below a
// quarter of the weight, or blue's below a quarter of its share), with a sentence that says
// so and what the sticky cohorts explain.
func splitMismatch(s *State, sp *Split) (msg string, judged, off bool) {
	if sp == nil || s.Weight <= 0 || s.Weight >= WeightScale || sp.Total == 0 || sp.Total < s.Plan.SplitMinRequests {
		return "", false, false
	}
	want := float64(s.Weight) / WeightScale
	if float64(sp.Total)*want < splitMinExpected {
		return "", false, false
	}
	observed := float64(sp.Green) / float64(sp.Total)
	off = sp.Green == 0 || math.Abs(observed-want)*100 > s.Plan.SplitTolerance ||
		observed < want/4 || 1-observed < (1-want)/4
	head := fmt.Sprintf("green got %s of %s requests at %s", thousands(sp.Green), thousands(sp.Total), pct(s.Weight))
	if !off {
		return head + ": back in range", true, false
	}
	return head + stickyClause(sp.Sticky, s.Weight), true, true
}

// stickyClause says how the sticky clients are split: "16 sticky clients, none in green's
// cohort".
func stickyClause(sticky []int, weight int) string {
	if sticky == nil {
		return ""
	}
	green := 0
	for _, b := range sticky {
		if b < weight {
			green++
		}
	}
	n := len(sticky)
	clients := fmt.Sprintf("%d sticky clients", n)
	if n == 1 {
		clients = "1 sticky client"
	}
	switch {
	case n == 0:
		return ": no sticky clients"
	case green == 0:
		return ": " + clients + ", none in green's cohort"
	default:
		return fmt.Sprintf(": %s, %d in green's cohort", clients, green)
	}
}

// thousands formats n with commas: 11480 → "11,480".
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
