// Package routerhub lets several routers serve one server's table. The Hub stands between
// the engine and the server's own router: every table the engine applies gets a version
// that following routers (`cutover router --follow`) wait for over the API, and the
// counters they report are added to the local router's signals, so analysis and the split
// check judge the sum of every router's traffic. Health and draining stay the local
// router's: each follower probes instances itself.
package routerhub

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/signals"
)

// Local is the server's own router (an in-process router or the router process's client).
type Local interface {
	Apply(router.Table) error
	Health(app string) map[string]router.InstanceHealth
	Signals(app string, window time.Duration) (router.AppSignals, bool)
	WaitDrained(ctx context.Context, ids []string, deadline time.Time) (int, error)
}

// StaleAfter is how long a follower may go without a report before its counters are left out
// of the signals and it is shown stale; ForgetAfter drops it from the list.
const (
	StaleAfter  = 10 * time.Second
	ForgetAfter = 10 * time.Minute
)

// seriesSamples is how many reports a follower's instance keeps: ten minutes at one a second,
// as the local recorders do.
const seriesSamples = signals.DefaultSamples

// Hub versions the tables and collects the followers' counters. It is safe for concurrent use.
type Hub struct {
	local Local
	now   func() time.Time
	epoch int64

	mu        sync.Mutex
	version   uint64
	table     json.RawMessage
	changed   chan struct{} // closed when a new table is applied
	followers map[string]*follower
}

type follower struct {
	addr     string
	report   api.RouterReport
	lastSeen time.Time
	series   map[string]map[string]*signals.Series // app → instance ID
}

// New wraps local; now is the clock (nil: time.Now).
func New(local Local, now func() time.Time) *Hub {
	if now == nil {
		now = time.Now
	}
	return &Hub{local: local, now: now, epoch: now().UnixNano(), changed: make(chan struct{}), followers: map[string]*follower{}, table: json.RawMessage("{}")}
}

// Apply hands t to the local router and, when it took it, to the followers.
func (h *Hub) Apply(t router.Table) error {
	if err := h.local.Apply(t); err != nil {
		return err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.version++
	h.table = b
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	return nil
}

// Health is the local router's.
func (h *Hub) Health(app string) map[string]router.InstanceHealth { return h.local.Health(app) }

// WaitDrained waits for the local router only: followers drain on their own.
func (h *Hub) WaitDrained(ctx context.Context, ids []string, deadline time.Time) (int, error) {
	return h.local.WaitDrained(ctx, ids, deadline)
}

// Table returns the current table, waiting up to wait (or ctx) for one other than
// (epoch, version).
func (h *Hub) Table(ctx context.Context, epoch int64, version uint64, wait time.Duration) api.RouterTable {
	h.mu.Lock()
	cur := api.RouterTable{Epoch: h.epoch, Version: h.version, Table: h.table}
	ch := h.changed
	h.mu.Unlock()
	if epoch != cur.Epoch || version != cur.Version || wait <= 0 {
		return cur
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return api.RouterTable{Epoch: h.epoch, Version: h.version, Table: h.table}
}
