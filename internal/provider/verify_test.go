package provider

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	w := Written{GreenBP: 1000}
	for _, c := range []struct {
		desc string
		o    Observed
		ok   bool
		why  string
	}{
		{"converged and settled", Observed{GreenBP: 1000, Converged: true, EffectiveAt: now}, true, ""},
		{"settling", Observed{GreenBP: 1000, Converged: true, EffectiveAt: now.Add(time.Second)}, false, "waiting for the provider's settle time (until 12:00:01.000)"},
		{"settling for a TTL", Observed{GreenBP: 1000, Converged: true, EffectiveAt: now.Add(time.Minute), Settle: "TTL 60s after INSYNC"}, false, "waiting for TTL 60s after INSYNC (until 12:01:00.000)"},
		{"not converged", Observed{GreenBP: 1000, Reason: "rule propagating"}, false, "rule propagating"},
		{"other weight", Observed{GreenBP: 5000, Converged: true}, false, "holds green at 50%"},
		{"drift", Observed{GreenBP: 1000, Converged: true, Drift: "listener edited"}, false, "listener edited"},
	} {
		ok, why := Verify(c.o, w, now)
		if ok != c.ok || !strings.Contains(why, c.why) {
			t.Errorf("%s: Verify = %v %q, want %v containing %q", c.desc, ok, why, c.ok, c.why)
		}
	}
}

func TestClassify(t *testing.T) {
	for err, want := range map[error]Class{
		fmt.Errorf("x: %w", ErrThrottled):      Retryable,
		fmt.Errorf("x: %w", ErrUnknownOutcome): Unknown,
		fmt.Errorf("x: %w", ErrAccessDenied):   Permanent,
		errors.New("boom"):                     Permanent,
	} {
		if got := Classify(err); got != want {
			t.Errorf("Classify(%v) = %v, want %v", err, got, want)
		}
	}
	if CheckWeight(-1) == nil || CheckWeight(MaxBP+1) == nil || CheckWeight(0) != nil || CheckWeight(MaxBP) != nil {
		t.Error("CheckWeight range")
	}
}
