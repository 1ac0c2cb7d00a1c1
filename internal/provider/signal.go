package provider

import (
	"context"
	"time"
)

// Sample is one version's traffic over a window.
type Sample struct {
	Requests, Errors uint64        // requests and 5xx answers
	LatencyAvg       time.Duration // mean latency; zero when the source has none
	Coverage         float64       // the share of the window the source had data for, 0..1
}

// SignalSource gives per-version traffic. No data is ErrNoData, never zeros: the engine
// treats it as inconclusive, never as a pass.
type SignalSource interface {
	// Window returns version's sample over [from, to).
	Window(ctx context.Context, app, version string, from, to time.Time) (Sample, error)
	// Lag is how late the source's data arrives: windows end at now minus Lag.
	Lag() time.Duration
}

// Alarm is one firing alarm.
type Alarm struct {
	Name, Reason string
	Since        time.Time
}

// AlarmSource reports which of the named alarms are firing. A firing alarm rolls the
// deployment back at once, with the alarm's name and reason.
type AlarmSource interface {
	Firing(ctx context.Context, names []string) ([]Alarm, error)
}

// Ratio is errors over requests, and false when there were no requests (inconclusive).
func (s Sample) Ratio() (float64, bool) {
	if s.Requests == 0 {
		return 0, false
	}
	return float64(s.Errors) / float64(s.Requests), true
}
