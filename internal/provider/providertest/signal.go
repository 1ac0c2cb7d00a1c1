package providertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/provider"
)

// SignalHarness adapts a SignalSource to the suite.
type SignalHarness struct {
	// New returns a fresh source for app "web".
	New func(t *testing.T) provider.SignalSource
	// Record makes the source hold requests and errors of version at a minute at.
	Record func(t *testing.T, version string, at time.Time, requests, errors uint64)
	// Base is a time aligned to the source's period, before which nothing is recorded.
	Base time.Time
}

// RunSignals runs the SignalSource contract suite.
func RunSignals(t *testing.T, h SignalHarness) {
	t.Helper()
	t.Run("NoDataIsErrNoData", func(t *testing.T) {
		s := h.New(t)
		_, err := s.Window(context.Background(), "web", "v-none", h.Base, h.Base.Add(5*time.Minute))
		if !errors.Is(err, provider.ErrNoData) {
			t.Fatalf("a window without data = %v, want ErrNoData (never zeros)", err)
		}
	})
	t.Run("WindowSumsItsVersionOnly", func(t *testing.T) {
		s := h.New(t)
		h.Record(t, "v1", h.Base, 400, 12)
		h.Record(t, "v1", h.Base.Add(time.Minute), 380, 2)
		h.Record(t, "v2", h.Base, 1000, 900)
		h.Record(t, "v1", h.Base.Add(10*time.Minute), 5, 5) // outside the window
		got, err := s.Window(context.Background(), "web", "v1", h.Base, h.Base.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got.Requests != 780 || got.Errors != 14 {
			t.Fatalf("window of v1 = %d requests %d errors, want 780 and 14", got.Requests, got.Errors)
		}
		if r, ok := got.Ratio(); !ok || r < 0.0179 || r > 0.018 {
			t.Fatalf("ratio = %v %v", r, ok)
		}
		if s.Lag() < 0 {
			t.Fatalf("negative lag %v", s.Lag())
		}
	})
}

// AlarmHarness adapts an AlarmSource to the suite.
type AlarmHarness struct {
	// New returns a fresh source with alarms "a-5xx" and "a-latency" defined and OK.
	New func(t *testing.T) provider.AlarmSource
	// Set puts an alarm in ALARM (firing) with reason, or back to OK.
	Set func(t *testing.T, name string, firing bool, reason string)
}

// RunAlarms runs the AlarmSource contract suite.
func RunAlarms(t *testing.T, h AlarmHarness) {
	t.Helper()
	t.Run("FiringNamesOnlyAskedAlarmsInAlarm", func(t *testing.T) {
		s := h.New(t)
		ctx := context.Background()
		names := []string{"a-5xx", "a-latency"}
		if got, err := s.Firing(ctx, names); err != nil || len(got) != 0 {
			t.Fatalf("no alarm set: Firing = %+v %v", got, err)
		}
		h.Set(t, "a-5xx", true, "Threshold Crossed: 12 > 5")
		got, err := s.Firing(ctx, names)
		if err != nil || len(got) != 1 || got[0].Name != "a-5xx" || got[0].Reason == "" {
			t.Fatalf("a-5xx in ALARM: Firing = %+v %v", got, err)
		}
		if got, err := s.Firing(ctx, []string{"a-latency"}); err != nil || len(got) != 0 {
			t.Fatalf("asked only a-latency: Firing = %+v %v", got, err)
		}
		h.Set(t, "a-5xx", false, "recovered")
		if got, err := s.Firing(ctx, names); err != nil || len(got) != 0 {
			t.Fatalf("a-5xx back to OK: Firing = %+v %v", got, err)
		}
	})
}
