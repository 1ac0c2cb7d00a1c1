package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/signals"
)

// ErrorRate checks green's share of 5xx responses among all the requests it finished.
//
// It fails when green's rate is above Max, or, with VsBlueMargin, above blue's rate over
// the same window plus the margin. Both may be set; then both must hold. With VsBlueMargin
// and fewer than MinRequests on blue, only Max is checked (the evidence says blue was not
// compared), and without Max the check is inconclusive.
type ErrorRate struct {
	// Max is the highest acceptable error rate in percent: 1 means 1%. 0 means no absolute
	// limit, which needs VsBlueMargin; to allow almost no errors, use a small positive Max.
	Max float64
	// VsBlueMargin, when set, is how many percent points green's rate may exceed blue's:
	// green passes when green% <= blue% + margin. 0 means "no worse than blue".
	VsBlueMargin *float64
}

// RequestRate checks that green receives traffic: requests per second over the window
// (signals.Snapshot.Rate), which needs a window (Span > 0; a cumulative snapshot is
// inconclusive).
//
// Too little traffic is not, by itself, green's fault: with Min 0 the check is a sample
// gate that passes once green has served MinRequests and is inconclusive until then. With
// Min set, the user has asked for a floor, and green fails below it, but only once the
// window is long enough to tell: Min × Span must reach MinRequests, so a one-second window
// at the start of a step cannot fail a deployment on a Poisson gap.
type RequestRate struct {
	// Min is the lowest acceptable request rate on green in requests per second; 0 means
	// only "enough requests to judge".
	Min float64
}

func evalErrorRate(c Check, e ErrorRate, in Input) Result {
	need := in.minRequests()
	g := in.Green
	if g.Total() < need {
		return inconclusive(c, "%s", in.greenTooFew(need))
	}
	gp := percent(g)
	subject := fmt.Sprintf("green error rate %s%% (%d of %d)", fmtNum(gp), g.Errors(), g.Total())
	var fails, passes []string
	judge := func(limit float64, clause string) {
		if exceeds(gp, limit) {
			fails = append(fails, "> "+clause)
		} else {
			passes = append(passes, "<= "+clause)
		}
	}
	if e.Max > 0 {
		judge(e.Max, fmt.Sprintf("%s%% limit", fmtNum(e.Max)))
	}
	note := ""
	if e.VsBlueMargin != nil {
		m, b := *e.VsBlueMargin, in.Blue
		switch {
		case b.Total() >= need:
			bp := percent(b)
			judge(bp+m, fmt.Sprintf("blue %s%% + %s points", fmtNum(bp), fmtNum(m)))
		case e.Max <= 0:
			r := inconclusive(c, "%s to compare with, and no absolute limit is set (%s)",
				tooFew("blue", b.Total(), need), subject)
			r.Value = gp
			return r
		default:
			note = "; not compared with blue: " + tooFew("blue", b.Total(), need)
		}
	}
	return verdict(c, gp, subject, fails, passes, note)
}

func evalRequestRate(c Check, r RequestRate, in Input) Result {
	g, need := in.Green, in.minRequests()
	if g.Span <= 0 {
		return inconclusive(c, "green's traffic covers no time window, so it has no request rate")
	}
	rate := g.Rate()
	res := Result{Check: c.Name, Value: rate}
	subject := fmt.Sprintf("green served %d requests in %s (%s req/s)", g.Total(), fmtDur(g.Span), fmtNum(rate))
	below := r.Min > 0 && exceeds(r.Min, rate)
	switch {
	case below && r.Min*g.Span.Seconds() >= float64(need):
		res.Verdict = Fail
		res.Evidence = fmt.Sprintf("%s < %s req/s minimum", subject, fmtNum(r.Min))
	case below:
		res.Evidence = fmt.Sprintf("inconclusive: %s < %s req/s minimum, but a %s window is too short to tell: at %s req/s the %d requests needed take %ss",
			subject, fmtNum(r.Min), fmtDur(g.Span), fmtNum(r.Min), need, fmtNum(float64(need)/r.Min))
	case g.Total() < need:
		res.Evidence = "inconclusive: " + in.greenTooFew(need)
	case r.Min <= 0:
		res.Verdict = Pass
		res.Evidence = fmt.Sprintf("%s, at least the %d needed", subject, need)
	default:
		res.Verdict = Pass
		res.Evidence = fmt.Sprintf("%s >= %s req/s minimum", subject, fmtNum(r.Min))
	}
	return res
}

// verdict builds a Pass or Fail result from the clauses a check collected about its subject:
// Fail with the failing clauses if there are any, otherwise Pass with the passing ones.
func verdict(c Check, value float64, subject string, fails, passes []string, note string) Result {
	r := Result{Check: c.Name, Verdict: Pass, Value: value}
	clauses := passes
	if len(fails) > 0 {
		r.Verdict, clauses = Fail, fails
	}
	r.Evidence = subject + " " + strings.Join(clauses, " and ") + note
	return r
}

// percent returns the 5xx share of s in percent.
func percent(s signals.Snapshot) float64 { return s.ErrorRate() * 100 }

// exceeds reports whether v is above limit by more than float rounding: a value at its limit
// passes.
func exceeds(v, limit float64) bool {
	return v > limit+1e-9*math.Abs(limit)
}

// fmtNum formats v with about three significant digits and no exponent or trailing zeros:
// 12.5, 0.4, 840, 0.0123.
func fmtNum(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	decimals := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	decimals = min(max(decimals, 0), 6)
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// fmtDur formats a duration for evidence in the unit a reader expects: 850µs, 12.3ms,
// 840ms, 1.25s, 30s.
func fmtDur(d time.Duration) string {
	switch {
	case d == math.MaxInt64:
		return "overflow"
	case d < time.Millisecond:
		return fmtNum(float64(d)/float64(time.Microsecond)) + "µs"
	case d < time.Second:
		return fmtNum(float64(d)/float64(time.Millisecond)) + "ms"
	default:
		return fmtNum(d.Seconds()) + "s"
	}
}

// fmtP formats a p-value for evidence: "=0.003", "=1.2e-10", or "<1e-300" when it underflows.
func fmtP(p float64) string {
	switch {
	case p <= 0:
		return "<1e-300"
	case p < 1e-4:
		return "=" + strconv.FormatFloat(p, 'e', 1, 64)
	default:
		return "=" + fmtNum(p)
	}
}
