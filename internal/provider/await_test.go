package provider_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/providerfake"
)

// clock is a fake clock whose After fires at once, moving time forward.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.t = c.t.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.t
	c.mu.Unlock()
	return ch
}

func start() *clock { return &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)} }

// TestAwaitWaitsForLagAndSettle: Await returns only once the write converged and settled.
func TestAwaitWaitsForLagAndSettle(t *testing.T) {
	c := start()
	f := &providerfake.Traffic{Now: c.Now, Lag: 7 * time.Second, Settle: 3 * time.Second}
	ctx := context.Background()
	if err := f.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := f.SetWeight(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	o, err := provider.Await(ctx, f, w, c, c.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(w.At); got < 10*time.Second || got > 20*time.Second || o.GreenBP != 1000 {
		t.Fatalf("Await returned %v after the write (%+v), want once lag+settle (10s) passed", got, o)
	}
}

// TestAwaitNeverConvergingFailsAtDeadlineWithReason.
func TestAwaitNeverConvergingFailsAtDeadlineWithReason(t *testing.T) {
	c := start()
	f := &providerfake.Traffic{Now: c.Now, Lag: time.Hour}
	ctx := context.Background()
	if err := f.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	w, _ := f.SetWeight(ctx, 5000)
	deadline := c.Now().Add(30 * time.Second)
	_, err := provider.Await(ctx, f, w, c, deadline)
	if err == nil || !strings.Contains(err.Error(), "still propagating") || c.Now().After(deadline) {
		t.Fatalf("Await on a provider that never converges = %v at %s (deadline %s), want the provider's reason at the deadline", err, c.Now(), deadline)
	}
	f.Tamper(2000)
	w2 := provider.Written{GreenBP: 5000}
	if _, err := provider.Await(ctx, f, w2, c, c.Now().Add(5*time.Second)); err == nil || !strings.Contains(err.Error(), "drift") {
		t.Fatalf("Await on a drifted provider = %v, want drift reported", err)
	}
}

// TestRollBackWritesFirstThroughThrottlingAndUnknownOutcomes.
func TestRollBackWritesFirstThroughThrottlingAndUnknownOutcomes(t *testing.T) {
	c := start()
	f := &providerfake.Traffic{Now: c.Now, Lag: time.Hour} // reads would never verify
	ctx := context.Background()
	if err := f.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.SetWeight(ctx, 5000); err != nil {
		t.Fatal(err)
	}
	f.Throttle(2)
	f.UnknownNext()
	w, err := provider.RollBack(ctx, f, c)
	if err != nil || w.GreenBP != 0 {
		t.Fatalf("RollBack = %+v %v", w, err)
	}
	if o, _ := f.Observe(ctx); o.GreenBP != 0 {
		t.Fatalf("after RollBack the provider holds %d bp green", o.GreenBP)
	}
}
