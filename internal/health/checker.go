package health

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Checker probes a set of targets, one goroutine each, and reports transitions to its
// Observer. Its methods are safe for concurrent use.
type Checker struct {
	obs    Observer
	client *http.Client

	// deliver serialises Observer calls with Set and Close: both take it while they stop
	// probers, so once they return a stopped prober can no longer report. The Observer is
	// called with deliver held, which is why it may call Healthy (mu only) but not Set or
	// Close. Lock order: deliver, then mu.
	deliver sync.Mutex

	mu      sync.Mutex
	probers map[string]*prober // by target ID
	closed  bool

	wg sync.WaitGroup
}

// prober is one target's probe goroutine as seen from outside it.
type prober struct {
	target  Target // Check with defaults applied
	cancel  context.CancelFunc
	healthy atomic.Bool            // last verdict, read by Healthy
	probed  atomic.Bool            // a probe has succeeded since the target was (re)started
	failure atomic.Pointer[string] // the last failed probe's reason
	stopped bool                   // guarded by Checker.deliver
}

// NewChecker returns a Checker with no targets that reports transitions to obs (which may be
// nil when only Healthy is used).
func NewChecker(obs Observer) *Checker {
	return &Checker{
		obs:     obs,
		client:  newClient(),
		probers: make(map[string]*prober),
	}
}

// Set makes targets the complete set of probed targets. New IDs start probing at once, as
// healthy; removed IDs stop; IDs whose Addr or Check changed restart with the new
// configuration, keeping their current verdict but counting as never probed, so a first
// failure under the new configuration makes them unhealthy at once. Unchanged targets keep
// their probe goroutine and state. If an ID repeats, the last entry wins.
//
// Set never waits for probes, only for an Observer call in progress. Once it returns, the
// Observer is not called for removed targets, nor for the old configuration of restarted
// ones. After Close, Set does nothing.
func (c *Checker) Set(targets []Target) {
	want := make(map[string]Target, len(targets))
	for _, t := range targets {
		t.Check = t.Check.WithDefaults()
		want[t.ID] = t
	}

	c.deliver.Lock()
	defer c.deliver.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	for id, p := range c.probers {
		if _, ok := want[id]; !ok {
			p.stop()
			delete(c.probers, id)
		}
	}
	for id, t := range want {
		healthy := !t.Pending
		if p, ok := c.probers[id]; ok {
			if p.target == t {
				continue
			}
			healthy = p.healthy.Load()
			p.stop()
		}
		c.probers[id] = c.start(t, healthy)
	}
}

// Healthy reports the current verdict for id, and whether id is a probed target at all.
// After Close no target is known.
func (c *Checker) Healthy(id string) (healthy, known bool) {
	c.mu.Lock()
	p, ok := c.probers[id]
	c.mu.Unlock()
	if !ok {
		return false, false
	}
	return p.healthy.Load(), true
}

// Status is a target's verdict with what the prober has seen.
type Status struct {
	Healthy     bool
	Probed      bool   // a probe has succeeded since the target was started
	LastFailure string // the last failed probe's reason, if any
}

// Status reports on id, and whether id is a probed target at all.
func (c *Checker) Status(id string) (Status, bool) {
	c.mu.Lock()
	p, ok := c.probers[id]
	c.mu.Unlock()
	if !ok {
		return Status{}, false
	}
	st := Status{Healthy: p.healthy.Load(), Probed: p.probed.Load()}
	if f := p.failure.Load(); f != nil {
		st.LastFailure = *f
	}
	return st, true
}

// Close stops every probe, cancelling those in flight, and waits for their goroutines to
// exit. The Observer is not called after Close returns. Close may be called more than once.
func (c *Checker) Close() {
	c.deliver.Lock()
	c.mu.Lock()
	c.closed = true
	for id, p := range c.probers {
		p.stop()
		delete(c.probers, id)
	}
	c.mu.Unlock()
	c.deliver.Unlock()

	c.wg.Wait()
	c.client.CloseIdleConnections()
}

// start launches t's probe goroutine with the given initial verdict. Callers hold deliver
// and mu.
func (c *Checker) start(t Target, healthy bool) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{target: t, cancel: cancel}
	p.healthy.Store(healthy)
	c.wg.Go(func() { c.run(ctx, p, State{Healthy: healthy}) })
	return p
}

// stop cancels the prober's goroutine and any probe in flight, and forbids it to report.
// Callers hold deliver.
func (p *prober) stop() {
	p.stopped = true
	p.cancel()
}

// run is a prober's goroutine: probe now, then every Interval, until ctx is cancelled. It
// owns s; the decision is Next's, run only performs it.
func (c *Checker) run(ctx context.Context, p *prober, s State) {
	check := p.target.Check
	ticker := time.NewTicker(check.Interval)
	defer ticker.Stop()
	for {
		r := probe(ctx, c.client, p.target)
		if ctx.Err() != nil {
			return // stopped mid-probe: r describes the cancellation, not the instance
		}
		var changed bool
		s, changed = Next(s, r, check)
		if s.Probed {
			p.probed.Store(true)
		}
		if !r.OK {
			reason := r.Reason
			p.failure.Store(&reason)
		}
		if changed {
			c.report(p, s.Healthy, describe(s, r))
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// report publishes a transition unless p was stopped meanwhile.
func (c *Checker) report(p *prober, healthy bool, reason string) {
	c.deliver.Lock()
	defer c.deliver.Unlock()
	if p.stopped {
		return
	}
	p.healthy.Store(healthy)
	if c.obs != nil {
		c.obs.HealthChanged(p.target.ID, healthy, reason)
	}
}
