// Package router is cutover's data plane: listeners, routes by host and path, weighted
// blue/green pools with sticky cohorts, health-aware balancing, draining and per-version
// traffic signals.
//
// It serves from an immutable snapshot compiled from a Table and swapped in with one atomic
// pointer store, so an update never blocks or fails a request in flight. It knows nothing of
// deployments, releases or runtimes: its owner (the engine, or `cutover router` reading a
// file) decides what the table says.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cutover/cutover/internal/health"
)

// HealthObserver learns about instance health transitions (active probes and passive
// ejection). It is called from probe goroutines and the request path: it must not block.
type HealthObserver interface {
	InstanceHealth(app, id string, healthy bool, reason string)
}

// Options configure a Router. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Observer, if set, is told about health transitions.
	Observer HealthObserver
	// StatePath, if set, is where every applied table is saved (crash-safely) before it takes
	// effect; LoadTable reads it back at start.
	StatePath string
	// DrainTimeout bounds how long a removed instance may finish its work before its
	// remaining connections are closed; default 30s. WaitDrained can end it sooner.
	DrainTimeout time.Duration
	// ReadHeaderTimeout (default 10s), IdleTimeout (default 120s) and MaxHeaderBytes
	// (default 64 KiB; larger heads get 431) protect the listeners.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// SampleInterval is how often traffic signals are sampled for windows; default 1s.
	SampleInterval time.Duration
	// Now is the clock for signal windows; default time.Now.
	Now func() time.Time
	// CohortFile, if set, is where the apps' new-client counters live, mapped shared, so that
	// every router process of one data dir continues one cohort sequence; without it they
	// live in this process's memory.
	CohortFile string
	// CohortOffset starts this router's cohort sequence elsewhere (see cohort.go): a router
	// that does not share the counter of the others serving an app (one on another host)
	// takes its own offset, so the routers do not all hand out the same buckets first.
	CohortOffset uint64
	// Listen opens a listener's socket; default net.Listen. A process that inherits its
	// sockets from the one it replaces (cutover router's self-upgrade) hands them in here.
	Listen func(network, addr string) (net.Listener, error)
}

func (o *Options) fill() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.SampleInterval <= 0 {
		o.SampleInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Listen == nil {
		o.Listen = net.Listen
	}
}

// Router serves the current table. Create it with New, give it a table with Apply, stop it
// with Close.
type Router struct {
	opts Options
	log  *slog.Logger
	snap atomic.Pointer[snapshot]

	mu        sync.Mutex // serialises Apply and Close
	live      map[string]*backend
	listeners map[string]*listener
	closed    bool
	applied   bool                      // a table has been applied since New
	cohorts   map[string]*atomic.Uint64 // each app's new-client counter (see cohort.go)
	cfile     *cohortFile               // where they live when Options.CohortFile is set

	dmu      sync.Mutex
	draining map[*backend]struct{}

	checker *health.Checker
	stop    chan struct{}
	wg      sync.WaitGroup
}

// New returns a router serving an empty table: no listeners, no apps.
func New(opts Options) *Router {
	opts.fill()
	r := &Router{
		opts: opts, log: opts.Logger,
		live: map[string]*backend{}, listeners: map[string]*listener{}, cohorts: map[string]*atomic.Uint64{},
		draining: map[*backend]struct{}{}, stop: make(chan struct{}),
	}
	r.snap.Store(&snapshot{listeners: map[string]*listenerRoutes{}, apps: map[string]*appRoute{}, byID: map[string]*backend{}})
	if opts.CohortFile != "" {
		cf, err := openCohortFile(opts.CohortFile)
		if err != nil {
			r.log.Warn("cohort counters kept in memory only", "err", err)
		} else {
			r.cfile = cf
		}
	}
	r.checker = health.NewChecker(healthBridge{r})
	r.wg.Add(1)
	go r.sample()
	return r
}

// ErrClosed is returned by Apply after Close.
var ErrClosed = errors.New("router is closed")

// Apply validates t, saves it (when Options.StatePath is set), binds any new listeners and
// swaps it in. On any error nothing changes: the previous table keeps serving. Instances no
// longer in t stop receiving new requests at once and drain in the background.
func (r *Router) Apply(t Table) error {
	if err := t.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	live := make(map[string]*backend, len(r.live))
	next, err := compile(t, live, r.live)
	if err != nil {
		return err
	}
	r.keepCohorts(next)
	started, err := r.openListeners(t)
	if err != nil {
		return err
	}
	targets := healthTargets(t)
	if r.applied {
		// Instances joining a running router wait for their first passing probe; at the very
		// first table (a restart from a saved one) every instance serves at once.
		for i := range targets {
			if b := live[targets[i].ID]; b != nil && r.live[targets[i].ID] != b {
				targets[i].Pending = true
				b.pending.Store(true)
			}
		}
	}
	if r.opts.StatePath != "" {
		if err := SaveTable(r.opts.StatePath, t); err != nil {
			closeAll(started)
			return err
		}
	}
	r.snap.Store(next)
	for _, l := range started {
		r.listeners[l.addr] = l
		l.serve(r.log)
	}
	r.closeRemovedListeners(t)
	r.retire(live)
	r.live = live
	r.applied = true
	r.checker.Set(targets)
	return nil
}

// keepCohorts gives each app of next its lasting new-client counter and the router's
// cohort offset, and keeps the record of returning clients while the app's weight and
// green version stay as they were. Called with r.mu held.
func (r *Router) keepCohorts(next *snapshot) {
	prev := r.snap.Load()
	for name, a := range next.apps {
		c := r.cohorts[name]
		if c == nil && r.cfile != nil {
			c = r.cfile.counter(name)
		}
		if c == nil {
			c = new(atomic.Uint64)
		}
		r.cohorts[name] = c
		a.cohort = cohortSeq{n: c, offset: r.opts.CohortOffset}
		if p := prev.apps[name]; p != nil && p.weight == a.weight && p.green.version == a.green.version && p.rebalance == a.rebalance {
			a.seen = p.seen
		}
	}
}

// Table returns the table being served.
func (r *Router) Table() Table { return r.snap.Load().table }

// retire drains every live backend the new table no longer uses.
func (r *Router) retire(next map[string]*backend) {
	for id, b := range r.live {
		if next[id] == b {
			continue
		}
		b.remove()
		r.dmu.Lock()
		r.draining[b] = struct{}{}
		r.dmu.Unlock()
		r.wg.Add(1)
		go r.drain(b, r.opts.DrainTimeout)
	}
}

// drain waits for b to finish its work or for the timeout, then closes what is left.
func (r *Router) drain(b *backend, timeout time.Duration) {
	defer r.wg.Done()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-b.drained:
	case <-t.C:
		if n := b.forceClose(); n > 0 {
			r.log.Info("drain deadline reached; closed remaining connections", "app", b.app, "instance", b.id, "closed", n)
		}
		<-b.drained
	case <-r.stop:
		b.forceClose()
	}
	r.dmu.Lock()
	delete(r.draining, b)
	r.dmu.Unlock()
}

// DrainStatus is what a removed instance still has in progress.
type DrainStatus struct {
	App      string `json:"app"`
	ID       string `json:"id"`
	InFlight int64  `json:"in_flight"`
	Streams  int64  `json:"streams"` // WebSockets and streaming responses among InFlight
}

// Draining lists removed instances that still have work in progress.
func (r *Router) Draining() []DrainStatus {
	r.dmu.Lock()
	defer r.dmu.Unlock()
	out := make([]DrainStatus, 0, len(r.draining))
	for b := range r.draining {
		out = append(out, DrainStatus{App: b.app, ID: b.id, InFlight: b.inflight.Load(), Streams: b.streams.Load()})
	}
	return out
}

// WaitDrained waits until the removed instances ids have no request, stream or WebSocket in
// progress, or until deadline; at the deadline it closes what is left (WebSockets with a
// close frame) and returns how many connections it closed. Instances still in the table are
// an error: remove them with Apply first.
func (r *Router) WaitDrained(ctx context.Context, ids []string, deadline time.Time) (int, error) {
	var waits []*backend
	snap := r.snap.Load()
	for _, id := range ids {
		if _, serving := snap.byID[id]; serving {
			return 0, fmt.Errorf("wait for instance %q to drain: it is still in the table; remove it first", id)
		}
		r.dmu.Lock()
		for b := range r.draining {
			if b.id == id {
				waits = append(waits, b)
			}
		}
		r.dmu.Unlock()
	}
	closed := 0
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for _, b := range waits {
		select {
		case <-b.drained:
		case <-timer.C:
			closed += forceAll(waits)
			return closed, nil
		case <-ctx.Done():
			return closed, ctx.Err()
		}
	}
	return closed, nil
}

func forceAll(bs []*backend) int {
	n := 0
	for _, b := range bs {
		select {
		case <-b.drained:
		default:
			n += b.forceClose()
		}
	}
	return n
}

// Close stops the listeners, letting requests in progress finish until ctx ends, then
// closes whatever is left.
func (r *Router) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	ls := make([]*listener, 0, len(r.listeners))
	for _, l := range r.listeners {
		ls = append(ls, l)
	}
	r.mu.Unlock()
	err := shutdownAll(ctx, ls)
	close(r.stop)
	r.checker.Close()
	for _, b := range r.live {
		b.remove()
		b.forceClose()
	}
	r.wg.Wait()
	if r.cfile != nil {
		r.cfile.close()
	}
	return err
}

// sample feeds the signal windows.
func (r *Router) sample() {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			now := r.opts.Now()
			for _, b := range r.snap.Load().byID {
				b.rec.Sample(now)
			}
			r.dmu.Lock()
			for b := range r.draining {
				b.rec.Sample(now)
			}
			r.dmu.Unlock()
		}
	}
}
