package signals

import (
	"testing"
	"time"
)

func TestSeriesWindows(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSeries(4)
	snap := func(ok, bad uint64) Snapshot { return Snapshot{Requests: [6]uint64{2: ok, 5: bad}} }
	if w := s.Window(t0, time.Minute); w.Total() != 0 {
		t.Fatalf("empty series: %d requests", w.Total())
	}
	for i := 0; i < 6; i++ { // 10 ok and 1 bad a second; the ring keeps the last 4
		s.Add(t0.Add(time.Duration(i)*time.Second), snap(uint64(10*i), uint64(i)))
	}
	now := t0.Add(5 * time.Second)
	if w := s.Window(now, 2*time.Second); w.Total() != 22 || w.Errors() != 2 || w.Span != 2*time.Second {
		t.Errorf("2s window: %d requests, %d errors over %s; want 22, 2 over 2s", w.Total(), w.Errors(), w.Span)
	}
	// Longer than the ring reaches: from the oldest kept sample (t0+2s).
	if w := s.Window(now, time.Hour); w.Total() != 33 || w.Span != 3*time.Second {
		t.Errorf("long window: %d over %s, want 33 over 3s", w.Total(), w.Span)
	}
	s.Add(now.Add(-time.Second), snap(1000, 0)) // older than the newest: ignored
	if w := s.Window(now, 2*time.Second); w.Total() != 22 {
		t.Errorf("an out-of-order sample changed the window: %d", w.Total())
	}
	// The reporter restarted: its counters start again, and so does the series.
	s.Add(now.Add(time.Second), snap(3, 0))
	if w := s.Window(now.Add(time.Second), time.Minute); w.Total() != 0 {
		t.Errorf("after a restart one sample makes no window, got %d", w.Total())
	}
	s.Add(now.Add(2*time.Second), snap(13, 0))
	if w := s.Window(now.Add(2*time.Second), time.Minute); w.Total() != 10 {
		t.Errorf("after a restart: %d, want 10", w.Total())
	}
}
