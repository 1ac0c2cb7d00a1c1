package health

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// instance is a real HTTP server on 127.0.0.1 standing in for an app instance. It answers
// every request with the status held in status, counting requests by status.
type instance struct {
	srv      *httptest.Server
	status   atomic.Int32
	requests atomic.Int64
	served   [600]atomic.Int64 // by status code
}

// newInstance starts an instance answering status; it is closed at the end of the test.
func newInstance(t *testing.T, status int) *instance {
	t.Helper()
	in := &instance{}
	in.status.Store(int32(status))
	in.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.requests.Add(1)
		code := int(in.status.Load())
		in.served[code].Add(1) // before the response, so a probe cannot act on it first
		if code >= 300 && code < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(code)
	}))
	_ = in.srv.Listener.Close()
	in.srv.Listener = quietListener(t)
	in.srv.Start()
	t.Cleanup(in.srv.Close)
	return in
}

// quietListener listens on 127.0.0.1 at a random port between 20000 and 29999. That range is
// outside the ephemeral ports that Linux (32768-60999), the BSDs, macOS and Windows
// (49152-65535) hand out for port 0 and outgoing connections, so once the listener closes no
// other process takes its port by chance: a probe of it is refused, as the tests expect.
func quietListener(t *testing.T) net.Listener {
	t.Helper()
	var err error
	for range 100 {
		var ln net.Listener
		ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(10000)))
		if err == nil {
			return ln
		}
	}
	t.Fatalf("no free port in 20000-29999: %v", err)
	return nil
}

func (in *instance) addr() string { return in.srv.Listener.Addr().String() }

// hangingInstance starts a server whose handler blocks until the client goes away or the test
// ends. entered receives one value per request that reached the handler; cancelled counts
// requests whose context ended because the client went away.
type hangingInstance struct {
	srv       *httptest.Server
	entered   chan struct{}
	cancelled atomic.Int64
}

func newHangingInstance(t *testing.T) *hangingInstance {
	t.Helper()
	h := &hangingInstance{entered: make(chan struct{}, 100)}
	release := make(chan struct{})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case h.entered <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
			h.cancelled.Add(1)
		case <-release:
		}
	}))
	// Cleanups run last-registered first: release the handlers, then close the server
	// (Close waits for outstanding requests).
	t.Cleanup(h.srv.Close)
	t.Cleanup(func() { close(release) })
	return h
}

func (h *hangingInstance) addr() string { return h.srv.Listener.Addr().String() }

// event is one Observer call.
type event struct {
	id      string
	healthy bool
	reason  string
	at      time.Time
}

// recorder is an Observer that keeps every call. hook, if set before the Checker starts,
// runs inside each call.
type recorder struct {
	mu     sync.Mutex
	events []event
	hook   func(event)
}

func (r *recorder) HealthChanged(id string, healthy bool, reason string) {
	e := event{id: id, healthy: healthy, reason: reason, at: time.Now()}
	if r.hook != nil {
		r.hook(e) // before the event is visible, so a test seeing it sees the hook's effects
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// waitEvent waits up to timeout for the n-th event (1-based) and returns it.
func (r *recorder) waitEvent(t *testing.T, n int, timeout time.Duration) event {
	t.Helper()
	eventually(t, timeout, func() bool { return len(r.all()) >= n },
		"waiting for event %d; have %v", n, r)
	return r.all()[n-1]
}

func (r *recorder) String() string {
	var b strings.Builder
	for _, e := range r.all() {
		b.WriteString("\n  ")
		b.WriteString(e.id)
		if e.healthy {
			b.WriteString(" healthy: ")
		} else {
			b.WriteString(" unhealthy: ")
		}
		b.WriteString(e.reason)
	}
	return b.String()
}

// eventually polls cond until it holds or timeout passes, then fails the test with msg.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: "+msg, append([]any{timeout}, args...)...)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newTestChecker returns a Checker reporting to a fresh recorder, closed at the end of the test.
func newTestChecker(t *testing.T) (*Checker, *recorder) {
	t.Helper()
	rec := &recorder{}
	c := NewChecker(rec)
	t.Cleanup(c.Close)
	return c, rec
}

// fast is a Check with short intervals for tests.
func fast(path string) Check {
	return Check{Path: path, Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond}
}
