package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/cutover/cutover/internal/analysis"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider"
)

// cloudCallTimeout bounds one call of the runner's to a cloud provider.
const cloudCallTimeout = 30 * time.Second

func other(s provider.Slot) provider.Slot {
	if s == provider.Green {
		return provider.Blue
	}
	return provider.Green
}

// slotOf is the slot an endpoint's release is in.
func (c *cloudApp) slotOf(eps []deploy.Endpoint) (provider.Slot, bool) {
	if len(eps) == 0 {
		return "", false
	}
	g, ok := c.group(eps[0].Version)
	return g.Slot, ok
}

// Route writes the whole weight: green's share goes to green's slot, the rest to blue's.
// With no green, blue's slot gets everything and its group becomes the service's primary.
func (c *cloudApp) Route(blue, green []deploy.Endpoint, weight int) error {
	ctx, cancel := context.WithTimeout(context.Background(), cloudCallTimeout)
	defer cancel()
	greenIn, ok := c.slotOf(green)
	if blueIn, bok := c.slotOf(blue); ok && bok && blueIn == greenIn {
		weight = provider.MaxBP // in place: one group serves both, from its one slot
	}
	if !ok {
		weight = 0
		if b, ok := c.slotOf(blue); ok {
			greenIn = other(b)
		} else {
			greenIn = provider.Green
		}
	}
	if err := c.fillEmptySlot(ctx); err != nil {
		return err
	}
	slotBP := weight
	if greenIn == provider.Blue {
		slotBP = provider.MaxBP - weight
	}
	w, err := c.Traffic.SetWeight(ctx, slotBP)
	if err != nil {
		return fmt.Errorf("%s: write green at %d bp: %w", c.app, weight, err)
	}
	c.mu.Lock()
	c.wrote, c.greenIn = w, greenIn
	c.mu.Unlock()
	testIn := greenIn
	if len(green) == 0 {
		testIn = other(greenIn)
	}
	if err := c.pointTestRoute(ctx, testIn); err != nil {
		return err
	}
	if len(green) == 0 && len(blue) > 0 {
		return c.promote(ctx, blue[0].Version)
	}
	return nil
}

// pointTestRoute sends the test route to slot (green's while there is a green, else the
// live release's), when the app has one and it is not there yet.
func (c *cloudApp) pointTestRoute(ctx context.Context, slot provider.Slot) error {
	tr, ok := c.Traffic.(provider.TestRouter)
	c.mu.Lock()
	done := c.testIn == slot
	c.mu.Unlock()
	if !ok || !c.testRoute || done {
		return nil
	}
	if err := tr.SetTestRoute(ctx, slot); err != nil {
		return fmt.Errorf("%s: point the test route at the %s target group: %w", c.app, slot, err)
	}
	c.mu.Lock()
	c.testIn = slot
	c.mu.Unlock()
	return nil
}

// testURL is the base URL of the app's test route, empty when it has none.
func (c *cloudApp) testURL(ctx context.Context) string {
	tr, ok := c.Traffic.(provider.TestRouter)
	if !ok || !c.testRoute {
		return ""
	}
	_, url, err := tr.TestRoute(ctx)
	if err != nil {
		return ""
	}
	return url
}

// promote marks the group that serves everything as the primary one, once.
func (c *cloudApp) promote(ctx context.Context, version string) error {
	p, ok := c.Groups.(provider.Promoter)
	g, found := c.group(version)
	if !ok || !found {
		return nil
	}
	c.mu.Lock()
	done := c.primary == g.Ref
	c.mu.Unlock()
	if done {
		return nil
	}
	if err := p.Promote(ctx, g); err != nil {
		return err
	}
	c.mu.Lock()
	c.primary = g.Ref
	c.mu.Unlock()
	return nil
}

// VerifyTraffic reads the provider back and says, in green's terms, whether it holds the
// weight last written, converged and settled.
func (c *cloudApp) VerifyTraffic() (deploy.TrafficCheck, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cloudCallTimeout)
	defer cancel()
	o, err := c.Traffic.Observe(ctx)
	if err != nil {
		return deploy.TrafficCheck{}, fmt.Errorf("%s: read the load balancer back: %w", c.app, err)
	}
	c.mu.Lock()
	w, greenIn := c.wrote, c.greenIn
	c.mu.Unlock()
	ok, why := provider.Verify(o, w, c.now())
	if w.At.IsZero() {
		ok, why = false, "nothing written yet by this server"
	}
	weight := o.GreenBP
	if greenIn == provider.Blue {
		weight = provider.MaxBP - o.GreenBP
	}
	return deploy.TrafficCheck{Weight: weight, Verified: ok, Reason: why, Evidence: o.Evidence, Drift: o.Drift}, nil
}

// reportedPeriod is the shortest window a reported-metrics check reads: ALB metrics come
// per minute.
const reportedPeriod = time.Minute

// reported judges a cloudwatch check: green's totals over the analysis window (at least a
// minute), ending the check's lag ago. No data, or a source that cannot be read, is
// inconclusive with the source's reason.
func (an analyzer) reported(ctx context.Context, app string, c analysis.Check, window time.Duration, minRequests uint64) analysis.Result {
	r := analysis.Result{Check: c.Name, Verdict: analysis.Inconclusive}
	ca := an.e.cloudOf(app)
	if ca == nil || ca.Signals == nil {
		r.Evidence = "inconclusive: this server reads no metrics for " + app + "'s load balancer"
		return r
	}
	s, err := an.e.Deployment(an.e.activeID(app))
	if err != nil {
		r.Evidence = "inconclusive: which release is green: " + err.Error()
		return r
	}
	to := an.e.clock.Now().Add(-c.Reported.Lag).Truncate(time.Second)
	from := to.Add(-max(window, reportedPeriod))
	ctx, cancel := context.WithTimeout(ctx, cloudCallTimeout)
	defer cancel()
	sm, err := ca.Signals.Window(ctx, app, s.Plan.GreenVersion, from, to)
	if err != nil {
		r.Evidence = "inconclusive: " + err.Error()
		return r
	}
	span := from.UTC().Format("15:04:05") + "-" + to.UTC().Format("15:04:05") + " UTC"
	return analysis.EvaluateReported(c, analysis.Totals{Requests: sm.Requests, Errors: sm.Errors, MeanLatency: sm.LatencyAvg, Window: span}, minRequests)
}

// fillEmptySlot binds a DNS provider's slot that no release is in (before the second
// release, or after a warm one is retired) to the other slot's endpoint: records need a
// value, and at weight 0 it answers nobody anyway.
func (c *cloudApp) fillEmptySlot(ctx context.Context) error {
	c.mu.Lock()
	var have []provider.Group
	for _, g := range c.groups {
		have = append(have, g)
	}
	c.mu.Unlock()
	if len(have) != 1 || have[0].Backend.Kind != "dns" {
		return nil
	}
	if err := c.Traffic.Bind(ctx, other(have[0].Slot), have[0].Backend); err != nil {
		return fmt.Errorf("%s: bind the empty %s slot: %w", c.app, other(have[0].Slot), err)
	}
	return nil
}
