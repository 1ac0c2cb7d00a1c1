package analysis

import (
	"fmt"
	"strings"
	"time"
)

// The comparisons Latency.VsBlue names.
const (
	// VsBlueRatio fails when green's quantile is above blue's times Latency.Ratio.
	VsBlueRatio = "ratio"
	// VsBlueMannWhitney fails when a one-sided Mann-Whitney U test finds green's latencies
	// significantly higher than blue's, by at least one histogram bucket at the median.
	VsBlueMannWhitney = "mann_whitney"
)

// Defaults for the zero values of Latency's fields.
const (
	defaultQuantile = 0.99
	defaultRatio    = 1.5
	defaultAlpha    = 0.05
)

// Latency checks green's response times, read from the router's latency histograms
// (signals.Snapshot.Quantile, accurate to one bucket, about 19%).
//
// Max is an absolute limit on green's Quantile. VsBlue adds a comparison with blue over the
// same window; with fewer than MinRequests on blue only Max is checked (and the evidence says
// so), or, without Max, the check is inconclusive. Every limit set must hold.
//
// With VsBlue "mann_whitney" the whole distributions are compared, each histogram bucket
// being one group of tied values, with the normal approximation and tie correction (fine at
// the sample sizes MinRequests asks for; not meant for a dozen requests). Green fails when
// p < Alpha and green's median lies in a higher histogram bucket than blue's. The second
// condition is deliberate: with thousands of requests the test calls any shift significant,
// and a shift inside one bucket is below what the histogram can resolve, so it passes (the
// evidence says so). A shift of a bucket or more with p < Alpha fails, however small it
// may look to a user; use "ratio" to tolerate a chosen slowdown instead.
type Latency struct {
	// Quantile is the quantile judged against Max and, for "ratio", against blue: 0.99 for
	// p99. 0 means 0.99.
	Quantile float64
	// Max is the highest acceptable green quantile; 0 means no absolute limit, which needs
	// VsBlue.
	Max time.Duration
	// VsBlue is "" (no comparison with blue), "ratio" or "mann_whitney".
	VsBlue string
	// Ratio, for "ratio": green's quantile must be at most blue's times Ratio. 0 means 1.5.
	Ratio float64
	// Alpha, for "mann_whitney": the significance level of the test. 0 means 0.05.
	Alpha float64
}

func evalLatency(c Check, l Latency, in Input) Result {
	q, ratio, alpha := orDefault(l.Quantile, defaultQuantile), orDefault(l.Ratio, defaultRatio), orDefault(l.Alpha, defaultAlpha)
	need, g, b := in.minRequests(), in.Green, in.Blue
	if g.Total() < need {
		return inconclusive(c, "%s", in.greenTooFew(need))
	}
	if histCount(&g.Latency) == 0 {
		return inconclusive(c, "green served %d requests but recorded no latencies", g.Total())
	}
	qn := quantileName(q)
	gq := g.Quantile(q)
	subject := fmt.Sprintf("green %s %s", qn, fmtDur(gq))
	var fails, passes []string
	judge := func(fail bool, failing, passing string) {
		if fail {
			fails = append(fails, failing)
		} else {
			passes = append(passes, passing)
		}
	}
	if l.Max > 0 {
		limit := fmtDur(l.Max) + " limit"
		judge(gq > l.Max, subject+" > "+limit, subject+" <= "+limit)
	}
	note := ""
	switch {
	case l.VsBlue == "":
	case b.Total() < need || histCount(&b.Latency) == 0:
		if l.Max <= 0 {
			r := inconclusive(c, "%s to compare with, and no absolute limit is set (%s)", tooFew("blue", b.Total(), need), subject)
			r.Value = gq.Seconds()
			return r
		}
		note = "; not compared with blue: " + tooFew("blue", b.Total(), need)
	case l.VsBlue == VsBlueRatio:
		bq := b.Quantile(q)
		limit := float64(bq) * ratio
		clause := fmt.Sprintf("%s × blue %s %s (%s)", fmtNum(ratio), qn, fmtDur(bq), fmtDur(time.Duration(limit)))
		judge(exceeds(float64(gq), limit), subject+" > "+clause, subject+" <= "+clause)
	default: // VsBlueMannWhitney; Validate admits nothing else.
		mw := mannWhitney(&g.Latency, &b.Latency)
		significant := mw.P < alpha
		higher := medianBucket(&g.Latency) > medianBucket(&b.Latency)
		cmp := ">="
		if significant {
			cmp = "<"
		}
		stats := fmt.Sprintf("(Mann-Whitney U, p%s %s %s; green p50 %s, blue p50 %s)",
			fmtP(mw.P), cmp, fmtNum(alpha), fmtDur(g.Quantile(0.5)), fmtDur(b.Quantile(0.5)))
		passing := "green latency is not significantly higher than blue's " + stats
		if significant {
			passing = "green latency is higher than blue's by less than one histogram bucket, " +
				"below what the histogram resolves " + stats
		}
		judge(significant && higher, "green latency is higher than blue's "+stats, passing)
	}
	r := Result{Check: c.Name, Verdict: Pass, Value: gq.Seconds()}
	clauses := passes
	if len(fails) > 0 {
		r.Verdict, clauses = Fail, fails
	}
	r.Evidence = strings.Join(clauses, "; ") + note
	return r
}

// orDefault returns v, or def when v is zero.
func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// quantileName names a quantile the way users write it: p99, p50, p99.9.
func quantileName(q float64) string {
	return "p" + fmtNum(q*100)
}
