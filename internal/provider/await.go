package provider

import (
	"context"
	"fmt"
	"time"
)

// Clock is the time source of Await; tests drive it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Backoff bounds between two observations while a write is not verified. Argo Rollouts
// re-observes every 10 s; cutover starts faster because the built-in router verifies at once.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// Await observes p until Verify accepts w, backing off between reads, and returns the
// verified observation. At deadline it fails with the provider's last reason, so a
// provider that never converges fails the step with why. Throttled or failed reads are
// retried until the deadline too.
func Await(ctx context.Context, p TrafficProvider, w Written, c Clock, deadline time.Time) (Observed, error) {
	wait := minBackoff
	reason := "not observed yet"
	for {
		o, err := p.Observe(ctx)
		now := c.Now()
		switch {
		case err != nil:
			reason = "observe: " + err.Error()
		default:
			ok, why := Verify(o, w, now)
			if ok {
				return o, nil
			}
			reason = why
			if o.Converged && o.Drift == "" && o.GreenBP == w.GreenBP && !o.EffectiveAt.After(deadline) {
				wait = max(o.EffectiveAt.Sub(now), time.Millisecond) // settling: wait exactly that long
			}
		}
		if !now.Add(wait).Before(deadline) {
			wait = deadline.Sub(now)
		}
		if wait <= 0 {
			return Observed{}, fmt.Errorf("weight %s (%s) not verified by the step's deadline %s: %s",
				pct(w.GreenBP), w.Raw, deadline.UTC().Format("15:04:05"), reason)
		}
		select {
		case <-ctx.Done():
			return Observed{}, ctx.Err()
		case <-c.After(wait):
		}
		wait = min(wait*2, maxBackoff)
	}
}

// RollBack sends every request to blue at once. It writes first and never waits on a read
// or on analysis: a write with an unknown outcome or a throttled one is repeated (whole
// states are idempotent) until it is accepted or ctx ends. The caller verifies afterwards
// with Await and keeps blue warm until then.
func RollBack(ctx context.Context, p TrafficProvider, c Clock) (Written, error) {
	wait := minBackoff
	for {
		w, err := p.SetWeight(ctx, 0)
		if err == nil || Classify(err) == Permanent {
			return w, err
		}
		select {
		case <-ctx.Done():
			return Written{}, fmt.Errorf("roll back to blue: %w (last: %v)", ctx.Err(), err)
		case <-c.After(wait):
		}
		wait = min(wait*2, maxBackoff)
	}
}
