package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/cutover/cutover/internal/egress"
	"github.com/cutover/cutover/internal/provider"
	"net/http"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/analysis"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/hooks"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// stateStore is deploy.Store over the store: one transaction per decision. Saved events
// are then published to subscribers.
type stateStore struct{ e *Engine }

func (st stateStore) Save(_ context.Context, s deploy.State, events []deploy.Event) error {
	s, events = maskState(st.e.masker(s.App, s.Plan.GreenVersion, s.Plan.BlueVersion), s, events)
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode deployment %s: %w", s.ID, err)
	}
	evs := make([]store.Event, 0, len(events))
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode event of %s: %w", s.ID, err)
		}
		evs = append(evs, store.Event{At: e.At, Data: b})
	}
	if err := st.e.store.UpdateDeployment(s.ID, data, s.Phase.Terminal(), evs...); err != nil {
		return err
	}
	st.e.metrics.saved(s)
	for _, ev := range events {
		st.e.feed.publish(Notice{App: s.App, Deployment: s.ID, Event: ev})
	}
	return nil
}

// analyzer is deploy.Analyzer over the router's signals and the analysis checks.
type analyzer struct{ e *Engine }

func (an analyzer) Evaluate(ctx context.Context, app string, window time.Duration, minRequests uint64) deploy.AnalysisResult {
	a, err := an.e.currentSpec(app)
	if err != nil {
		return deploy.AnalysisResult{Verdict: analysis.Inconclusive, Evidence: []string{err.Error()}}
	}
	var in analysis.Input // a cloud app has only cloudwatch and external checks and alarms (spec validation)
	if !isCloud(a) {
		sig, ok := an.e.router.Signals(app, window)
		if !ok {
			return deploy.AnalysisResult{Verdict: analysis.Inconclusive, Evidence: []string{"the router has no signals for " + app}}
		}
		in = analysis.Input{Green: sig.Green.Total, Blue: sig.Blue.Total, MinRequests: minRequests}
	}
	var results []analysis.Result
	for _, c := range checksFor(a) {
		if c.External != nil {
			results = append(results, analysis.Fetcher{Client: an.e.outboundClient(a)}.Evaluate(ctx, c))
		} else if c.Reported != nil {
			results = append(results, an.reported(ctx, app, c, window, minRequests))
		} else {
			results = append(results, analysis.Evaluate(c, in))
		}
	}
	var firing []string
	if al := a.Analysis.Alarms; al != nil {
		var r analysis.Result
		firing, r = an.alarms(ctx, a, *al)
		results = append(results, r)
	}
	out := deploy.AnalysisResult{Verdict: analysis.Aggregate(results), Alarms: firing}
	for _, r := range results {
		an.e.metrics.analysis.WithLabelValues(app, r.Check).Set(r.Value)
		out.Evidence = append(out.Evidence, r.Check+": "+r.Evidence)
	}
	return out
}

// alarms reads app a's alarms: those firing ("NAME: REASON"), and a result for the evidence
// that passes when none fires and is inconclusive when the state cannot be read.
func (an analyzer) alarms(ctx context.Context, a *spec.App, al spec.Alarms) ([]string, analysis.Result) {
	r := analysis.Result{Check: "alarms"}
	if an.e.alarms == nil {
		r.Verdict, r.Evidence = analysis.Inconclusive, "inconclusive: this server reads no CloudWatch alarms"
		return nil, r
	}
	src, err := an.e.alarms(ctx, al, an.e.outboundClient(a))
	var firing []provider.Alarm
	if err == nil {
		firing, err = src.Firing(ctx, al.Names)
	}
	if err != nil {
		r.Verdict, r.Evidence = analysis.Inconclusive, "inconclusive: cannot read the alarms' state: "+err.Error()
		return nil, r
	}
	if len(firing) == 0 {
		r.Verdict, r.Evidence = analysis.Pass, fmt.Sprintf("none of %d alarm(s) in ALARM", len(al.Names))
		return nil, r
	}
	var names []string
	for _, f := range firing {
		names = append(names, f.Name+" is in ALARM: "+f.Reason)
	}
	r.Verdict, r.Value, r.Evidence = analysis.Fail, float64(len(firing)), strings.Join(names, "; ")
	return names, r
}

// hookRunner is deploy.HookRunner over the hooks package, resolving targets from the router.
type hookRunner struct{ e *Engine }

func (h hookRunner) Run(ctx context.Context, s deploy.State, w deploy.HookWait) deploy.HookResult {
	a, err := h.e.releaseSpec(s.App, s.Plan.GreenVersion)
	if err != nil {
		return deploy.HookResult{Reason: err.Error()}
	}
	var sh *spec.Hook
	for i := range a.Hooks {
		if a.Hooks[i].Name == w.Name {
			sh = &a.Hooks[i]
		}
	}
	if sh == nil {
		return deploy.HookResult{Reason: fmt.Sprintf("hook %q is not in the spec of release %s", w.Name, s.Plan.GreenVersion)}
	}
	info := hooks.Info{App: s.App, Deployment: s.ID, Point: string(w.Point), BlueVersion: s.Plan.BlueVersion,
		GreenVersion: s.Plan.GreenVersion, Weight: float64(s.Weight) / 100}
	if ca := h.e.cloudOf(s.App); ca != nil {
		info.TestURL = ca.testURL(ctx) // green's tasks are reached through the test listener only
	} else {
		if a.TestListener != "" {
			info.TestURL = "http://" + a.TestListener
		}
		if green, _ := h.e.fleet.Endpoints(ctx, s.App, s.Plan.GreenVersion); len(green) > 0 {
			info.GreenURL = "http://" + green[0].Addr
		}
	}
	hk := hooks.Hook{Name: sh.Name, Timeout: sh.Timeout.Duration()}
	switch {
	case sh.HTTP != nil:
		x := sh.HTTP
		url := x.URL
		if url == "" {
			base := info.TestURL
			if x.Target == spec.TargetGreen || base == "" {
				base = info.GreenURL
			}
			url = strings.TrimSuffix(base, "/") + x.Path
		}
		hk.HTTP = &hooks.HTTPCheck{Method: x.Method, URL: url, ExpectStatus: x.ExpectStatus, ExpectBody: x.ExpectBody, Retries: x.Retries}
	case sh.Command != nil:
		hk.Command = &hooks.Command{Argv: sh.Command.Argv, Dir: sh.Command.Dir, Env: sh.Command.Env}
	case sh.Webhook != nil:
		hk.Webhook = &hooks.Webhook{URL: sh.Webhook.URL}
	}
	var run hooks.Runner
	if d := h.e.outbound(a); d.Restricts() && ((sh.HTTP != nil && sh.HTTP.URL != "") || sh.Webhook != nil) {
		run.Dial = d.DialContext
	}
	res := run.Run(ctx, hk, info)
	// Masked before anything cuts the output short, so no part of a secret survives a cut.
	m := h.e.masker(s.App, s.Plan.GreenVersion)
	res.Output, res.Reason = m.Mask(res.Output), m.Mask(res.Reason)
	if res.Output != "" {
		h.e.log.Info("hook output", "deployment", s.ID, "hook", w.Name, "output", tail(res.Output, 2000))
	}
	return deploy.HookResult{Passed: res.Passed, Reason: res.Reason, Output: res.Output}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// outbound dials what both the server's allow list and app a's egress.allow allow.
func (e *Engine) outbound(a *spec.App) egress.Dialer {
	return egress.Dialer{Policies: []egress.Policy{e.egress, a.Egress.Policy()}}
}

// outboundClient is the client of a's external checks: nil (net/http's default, proxies
// from the environment included) unless an allow list restricts it.
func (e *Engine) outboundClient(a *spec.App) *http.Client {
	if d := e.outbound(a); d.Restricts() {
		return d.Client(nil)
	}
	return nil
}
