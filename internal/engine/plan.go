package engine

import (
	"time"

	"github.com/cutover/cutover/internal/analysis"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/spec"
)

// planFor turns an app spec into the fixed plan of one deployment from blue to green.
func planFor(a *spec.App, blue, green string) deploy.Plan {
	p := deploy.Plan{
		GreenVersion: green, BlueVersion: blue, Instances: a.Run.Instances,
		StartupGrace: a.Health.StartupGrace.Duration(),
		Deadline:     a.Deadlines.Deployment.Duration(),
		Approval:     a.Deadlines.Approval.Duration(),
		HookTimeout:  a.Deadlines.Hook.Duration(),
		DrainTimeout: a.DrainTimeout.Duration(),
		// Sticky cohorts make requests from one client land together, so the split is judged
		// loosely and only over a fair number of requests.
		SplitTolerance: 10, SplitMinRequests: 500,
		SplitDeadline: a.SplitCheck.Deadline.Duration(), SplitWait: a.SplitCheck.Policy == spec.SplitWait,
		SplitRebalance: a.SplitCheck.Policy == spec.SplitRebalance,
	}
	if a.KeepWarm != nil {
		p.KeepWarm = a.KeepWarm.Duration()
	}
	switch t := a.Traffic; {
	case t.ALB != nil:
		p.VerifyTraffic, p.VerifyTimeout = true, t.ALB.VerifyTimeout.Duration()
	case t.Route53 != nil:
		p.VerifyTraffic, p.VerifyTimeout = true, t.Route53.VerifyTimeout.Duration()
	case t.DNS != nil: // effective a TTL after the write: wait that, and as long again
		p.VerifyTraffic, p.VerifyTimeout = true, max(deploy.DefaultVerifyTimeout, 2*t.DNS.TTL.Duration())
	case t.ServiceSelector != nil:
		p.VerifyTraffic, p.VerifyTimeout = true, t.ServiceSelector.VerifyTimeout.Duration()
	case t.GatewayAPI != nil:
		p.VerifyTraffic, p.VerifyTimeout = true, t.GatewayAPI.VerifyTimeout.Duration()
	}
	p.Rolling = a.Strategy.Rolling != nil && blue != ""
	for _, st := range steps(a) {
		p.Steps = append(p.Steps, deploy.Step{Weight: st.Weight, Pause: st.Pause, Approval: st.Approval})
	}
	if inPlace(a) && blue != "" {
		// One group moves to green batch by batch: its traffic moves with its instances, so
		// there is one step, and start-up lasts a grace per batch (and as many back).
		batches := (a.Run.Instances + a.Strategy.Rolling.Batch - 1) / max(a.Strategy.Rolling.Batch, 1)
		p.StartupGrace *= time.Duration(2*batches + 1)
		p.Steps, p.Rolling = []deploy.Step{{Weight: 100}}, false
	}
	if blue == "" {
		// Nothing serves yet: there is no traffic to split or compare, so the first release goes
		// in at once once healthy and its hooks pass, without analysis.
		p.Steps = []deploy.Step{{Weight: 100}}
		p.Rolling = false
	}
	for _, h := range a.Hooks {
		if p.Hooks == nil {
			p.Hooks = map[deploy.Point][]string{}
		}
		pt := deploy.Point(h.At)
		p.Hooks[pt] = append(p.Hooks[pt], h.Name)
	}
	if an := a.Analysis; an != nil && blue != "" {
		p.Analysis = &deploy.AnalysisPlan{
			Interval: an.Interval.Duration(), Window: an.Window.Duration(), MinRequests: uint64(an.MinRequests),
			FailureLimit: an.FailureLimit, ConsecutiveSuccesses: an.ConsecutiveSuccesses,
		}
	}
	return p
}

func steps(a *spec.App) []spec.Step {
	if r := a.Strategy.Rolling; r != nil {
		return r.Steps(a.Run.Instances)
	}
	return a.Strategy.Steps()
}

// checksFor maps the spec's analysis checks onto the analysis package's.
func checksFor(a *spec.App) []analysis.Check {
	if a.Analysis == nil {
		return nil
	}
	var out []analysis.Check
	for _, c := range a.Analysis.Checks {
		ac := analysis.Check{Name: c.Name}
		switch {
		case c.ErrorRate != nil:
			er := &analysis.ErrorRate{VsBlueMargin: c.ErrorRate.VsBlueMargin}
			if c.ErrorRate.Max != nil {
				er.Max = *c.ErrorRate.Max
				if er.Max == 0 {
					er.Max = 1e-9 // "no errors at all": the analysis package reads 0 as "no limit"
				}
			}
			ac.ErrorRate = er
		case c.Latency != nil:
			l := c.Latency
			ac.Latency = &analysis.Latency{Quantile: l.Quantile, Max: l.Max.Duration(), VsBlue: l.VsBlue, Ratio: l.Ratio, Alpha: l.Alpha}
		case c.RequestRate != nil:
			ac.RequestRate = &analysis.RequestRate{Min: c.RequestRate.Min}
		case c.External != nil:
			x := c.External
			timeout := x.Timeout.Duration()
			if timeout <= 0 {
				timeout = 10 * time.Second
			}
			ac.External = &analysis.External{URL: x.URL, JSONPath: x.JSONPath, Op: x.Condition.Op, Value: x.Condition.Value, Timeout: timeout}
		case c.CloudWatch != nil:
			w := c.CloudWatch
			ac.Reported = &analysis.Reported{Source: "CloudWatch", MaxErrorRate: w.MaxErrorRate, MaxLatency: w.MaxLatency.Duration(), Lag: w.Lag.Duration()}
		}
		out = append(out, ac)
	}
	return out
}
