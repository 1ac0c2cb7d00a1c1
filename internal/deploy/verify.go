package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DefaultVerifyTimeout bounds how long a step waits for the traffic provider to hold the
// weight written, when the plan gives none.
const DefaultVerifyTimeout = 5 * time.Minute

// TrafficVerifier is implemented by Traffic whose writes are not effective when Route
// returns (a load balancer): the runner reads it back while the plan verifies traffic.
type TrafficVerifier interface {
	VerifyTraffic(app string) (TrafficCheck, error)
}

// verified reports whether the state's weight counts: always without Plan.VerifyTraffic,
// else once the provider was seen holding it.
func (s *State) verified() bool {
	return !s.Plan.VerifyTraffic || (!s.VerifiedAt.IsZero() && s.VerifiedWeight == s.Weight)
}

// verifyTraffic moves the state's verification on by what the provider holds. It reports
// true when the weight counts; false while it waits (or when it failed or paused the
// deployment: the caller returns).
func (d *decision) verifyTraffic(tc *TrafficCheck) bool {
	s := &d.s
	if !s.Plan.VerifyTraffic {
		return true
	}
	if tc != nil && tc.Drift != "" {
		if s.Drift != tc.Drift {
			s.Drift, s.Traffic = tc.Drift, tc.Evidence
			s.Paused, s.PauseReason = true, "drift: "+tc.Drift
			d.record("drift at %s: %s; paused without overwriting it: `cutover resume` writes green at %s again, `cutover abort` sends traffic back to blue",
				describePosition(s), tc.Drift, pct(s.Weight))
		}
		return false
	}
	if tc != nil && s.Drift != "" {
		d.record("drift gone: the provider holds what cutover wrote (%s)", tc.Evidence)
		s.Drift = ""
	}
	if s.verified() {
		if tc != nil && tc.Verified && tc.Weight == s.Weight && tc.Evidence != "" {
			s.Traffic = tc.Evidence // the latest read-back, also the first after a restart
		}
		return true
	}
	if tc != nil && tc.Verified && tc.Weight == s.Weight {
		s.VerifiedWeight, s.VerifiedAt, s.Traffic = s.Weight, d.now, tc.Evidence
		s.StepReachedAt = d.now // the pause counts from when clients see the weight
		d.record("green at %s verified: %s", pct(s.Weight), tc.Evidence)
		return true
	}
	switch {
	case tc != nil && strings.HasPrefix(tc.Reason, "waiting for "): // held, settling
		s.Traffic = fmt.Sprintf("green at %s held, %s", pct(s.Weight), tc.Reason)
	case tc != nil && tc.Reason != "":
		s.Traffic = fmt.Sprintf("waiting for the provider to hold green at %s: %s", pct(s.Weight), tc.Reason)
	}
	limit := s.Plan.VerifyTimeout
	if limit <= 0 {
		limit = DefaultVerifyTimeout
	}
	// At the limit the step fails with the provider's latest reason: on a read-back, which
	// comes within readUnverified, or without one when none came for a while.
	end := s.PhaseSince.Add(limit)
	if !d.now.Before(end) && (tc != nil || !d.now.Before(end.Add(4*readUnverified))) {
		reason := "no read-back yet"
		if tc != nil && tc.Reason != "" {
			reason = tc.Reason
		}
		d.fail("green at %s not verified within %s: %s", pct(s.Weight), limit, reason)
	}
	return false
}

// Read-back intervals: while a weight is not verified, and once it is (to see drift).
const (
	readUnverified = 500 * time.Millisecond
	readVerified   = 5 * time.Second
)

// readBack reads the traffic provider when the plan verifies traffic and a read is due.
func (w *world) readBack(s State, now time.Time) *TrafficCheck {
	v, ok := w.r.Traffic.(TrafficVerifier)
	if !s.Plan.VerifyTraffic || !ok || now.Before(w.nextRead) {
		return nil
	}
	tc, err := v.VerifyTraffic(s.App)
	if err != nil {
		w.r.Log.Warn("read back traffic", "deployment", s.ID, "err", err)
		w.nextRead = now.Add(readUnverified)
		return &TrafficCheck{Reason: err.Error()}
	}
	w.drifted = tc.Drift != ""
	if tc.Verified && tc.Weight == s.Weight && !w.drifted {
		w.nextRead = now.Add(readVerified)
	} else {
		w.nextRead = now.Add(readUnverified)
	}
	return &tc
}

// rollbackVerifyFor bounds how long a deployment that sent traffic back to blue reads the
// provider back to record that it holds blue.
const rollbackVerifyFor = time.Minute

// verifyRollback logs whether the provider holds what a deployment that ended badly
// wrote (everything to blue). The write came first; this only reads, and never delays it.
func (r *Runner) verifyRollback(ctx context.Context, s State) {
	v, ok := r.Traffic.(TrafficVerifier)
	bad := s.Phase == PhaseRolledBack || s.Phase == PhaseAborted
	if !s.Plan.VerifyTraffic || !ok || !bad {
		return
	}
	deadline := r.Clock.Now().Add(rollbackVerifyFor)
	reason := "no read-back"
	for r.Clock.Now().Before(deadline) {
		tc, err := v.VerifyTraffic(s.App)
		switch {
		case err != nil:
			reason = err.Error()
		case tc.Verified && tc.Weight == 0:
			r.Log.Info("traffic back on blue verified", "deployment", s.ID, "evidence", tc.Evidence)
			return
		default:
			reason = tc.Reason
			if tc.Drift != "" {
				reason = "drift: " + tc.Drift
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.Clock.After(readUnverified):
		}
	}
	r.Log.Error(fmt.Sprintf("traffic back on blue written but not verified within %s", rollbackVerifyFor), "deployment", s.ID, "reason", reason)
}

// TrafficEvidence is the provider's evidence worth showing: none once a deployment has
// sent traffic back to blue (its read-back is logged, the state no longer changes).
func (s State) TrafficEvidence() string {
	if s.Phase == PhaseRolledBack || s.Phase == PhaseAborted || s.Phase == PhaseFailed {
		return ""
	}
	return s.Traffic
}
