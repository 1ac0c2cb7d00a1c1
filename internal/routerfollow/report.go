package routerfollow

import (
	"context"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/signals"
)

// reportLoop sends the router's counters every ReportEvery; a report that fails is not
// retried (the next one carries the cumulative counters anyway).
func (f *follower) reportLoop(ctx context.Context) {
	t := time.NewTicker(f.o.ReportEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := f.c.ReportRouter(rctx, f.report()); err != nil && ctx.Err() == nil {
			f.o.Logger.Debug("report not delivered", "err", err)
		}
		cancel()
	}
}

// report is the router's counters now, per app and instance.
func (f *follower) report() api.RouterReport {
	tb := f.r.Table()
	rep := api.RouterReport{Name: f.o.Name, Started: f.o.Started, Epoch: f.applied.epoch, TableVersion: f.applied.version,
		Apps: map[string]api.RouterAppReport{}}
	for _, l := range tb.Listeners {
		rep.Listen = append(rep.Listen, l.Addr)
	}
	for _, a := range tb.Apps {
		ar := api.RouterAppReport{Instances: map[string]signals.Snapshot{}}
		if sig, ok := f.r.Signals(a.Name, time.Second); ok {
			ar.Sticky = sig.Sticky
		}
		rep.Apps[a.Name] = ar
	}
	f.r.EachRecorder(func(l signals.Labels, rec *signals.Recorder) {
		if ar, ok := rep.Apps[l.App]; ok {
			ar.Instances[l.Instance] = ar.Instances[l.Instance].Add(rec.Snapshot())
		}
	})
	return rep
}
