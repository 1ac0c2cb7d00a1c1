package sampletest

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Load sends GET requests without pause from a few workers, each on its own keep-alive
// connection, and counts what every version answered (the X-Version header) and every
// failure: a transport error or a status other than 200.
type Load struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	byVersion    map[string]int
	badVersion   map[string]int // failures by the version that answered ("" for none)
	errs         []string
	stop         chan struct{}
	wg           sync.WaitGroup
}

// StartLoad starts workers against url until End (registered as a cleanup) or 10 minutes.
func StartLoad(t testing.TB, url string, workers int) *Load {
	l := &Load{byVersion: map[string]int{}, badVersion: map[string]int{}, stop: make(chan struct{})}
	for range workers {
		l.wg.Add(1)
		go l.work(url)
	}
	t.Cleanup(l.End)
	return l
}

func (l *Load) work(url string) {
	defer l.wg.Done()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-l.stop:
			return
		default:
		}
		l.sent.Add(1)
		resp, err := c.Get(url)
		if err != nil {
			l.fail("", err.Error())
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		v := resp.Header.Get("X-Version")
		if resp.StatusCode != http.StatusOK {
			l.fail(v, fmt.Sprintf("status %d from %q", resp.StatusCode, v))
			continue
		}
		l.mu.Lock()
		l.byVersion[v]++
		l.mu.Unlock()
		time.Sleep(2 * time.Millisecond) // pacing: a steady load, not a flood
	}
}

func (l *Load) fail(version, msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	l.badVersion[version]++
	if len(l.errs) < 10 {
		l.errs = append(l.errs, msg)
	}
	l.mu.Unlock()
}

// Sent and Failed count requests so far.
func (l *Load) Sent() int64   { return l.sent.Load() }
func (l *Load) Failed() int64 { return l.failed.Load() }

// ByVersion is how many requests each version answered with 200.
func (l *Load) ByVersion() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.byVersion))
	for k, v := range l.byVersion {
		out[k] = v
	}
	return out
}

// FailedByVersion counts failures by the version that answered them ("" when none did).
func (l *Load) FailedByVersion() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.badVersion))
	for k, v := range l.badVersion {
		out[k] = v
	}
	return out
}

// Errors are the first few failures, for a test's message.
func (l *Load) Errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// WaitSent waits until n more requests than now were sent, or fails the test after timeout.
func (l *Load) WaitSent(t testing.TB, n int64, timeout time.Duration) {
	t.Helper()
	target := l.Sent() + n
	deadline := time.Now().Add(timeout)
	for l.Sent() < target {
		if time.Now().After(deadline) {
			t.Fatalf("load: only %d of %d requests sent in %s", l.Sent(), target, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// End stops the workers and waits for them.
func (l *Load) End() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}
