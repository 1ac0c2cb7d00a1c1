package authfail

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestBurstsEndAfterAQuietWindow: failures less than Window apart are one burst (one log
// line, limited past Limit); after a quiet Window the address starts afresh, and other
// addresses have bursts of their own.
func TestBurstsEndAfterAQuietWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	var logs bytes.Buffer
	l := New(Options{Delay: time.Nanosecond, Limit: 2, Window: time.Minute, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	var got []bool
	for i := 0; i < 4; i++ {
		lim, _ := l.Failed(ctx, "10.0.0.1:5000", "bearer token")
		got = append(got, lim)
		now = now.Add(30 * time.Second)
	}
	if want := []bool{false, false, true, true}; !equal(got, want) {
		t.Fatalf("limited %v, want %v", got, want)
	}
	if lim, _ := l.Failed(ctx, "10.0.0.2:1", "bearer token"); lim {
		t.Fatal("another address was limited by the first one's burst")
	}
	now = now.Add(time.Minute)
	if lim, _ := l.Failed(ctx, "10.0.0.1:5001", "bearer token"); lim {
		t.Fatal("still limited after a quiet window")
	}
	if n := strings.Count(logs.String(), "authentication failed"); n != 3 {
		t.Fatalf("%d log lines, want 3 (one per burst):\n%s", n, logs.String())
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
