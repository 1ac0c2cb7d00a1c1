package router

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dtStatus returns the Draining entry for id.
func dtStatus(r *Router, id string) (DrainStatus, bool) {
	for _, d := range r.Draining() {
		if d.ID == id {
			return d, true
		}
	}
	return DrainStatus{}, false
}

type dtWait struct {
	closed int
	err    error
	took   time.Duration
}

// dtWaitDrained runs WaitDrained in the background.
func dtWaitDrained(r *Router, ids []string, deadline time.Time) <-chan dtWait {
	ch := make(chan dtWait, 1)
	go func() {
		start := time.Now()
		n, err := r.WaitDrained(context.Background(), ids, deadline)
		ch <- dtWait{n, err, time.Since(start)}
	}()
	return ch
}

// TestDrainRemovedInstanceGetsNoNewRequests: once Apply returns, nothing new reaches a
// removed instance, on new and on kept-alive client connections alike.
func TestDrainRemovedInstanceGetsNoNewRequests(t *testing.T) {
	a, b := startInstance(t, "a", nil), startInstance(t, "b", nil)
	tr := startRouter(t, Options{}, appTable([]*testInstance{a, b}, nil, 0))
	c := newClient()
	seen := map[string]int{}
	for i := 0; i < 100; i++ {
		code, v := get(t, c, tr.url+"/")
		if code != 200 {
			t.Fatalf("before: status %d", code)
		}
		seen[v]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Fatalf("before the removal both instances should serve: %v", seen)
	}
	if err := tr.Apply(appTable([]*testInstance{b}, nil, 0)); err != nil {
		t.Fatal(err)
	}
	before := a.hits.Load()
	fresh := newClient()
	for i := 0; i < 200; i++ {
		cl := c // kept-alive connections from before the swap
		if i%2 == 1 {
			cl = fresh
		}
		if code, v := get(t, cl, tr.url+"/"); code != 200 || v != "b" {
			t.Fatalf("request %d after Apply: status %d from %q, want 200 from b", i, code, v)
		}
	}
	if n := a.hits.Load() - before; n != 0 {
		t.Fatalf("removed instance a got %d new requests after Apply returned", n)
	}
	eventually(t, 2*time.Second, "a to finish draining (it had nothing in flight)", func() bool {
		_, ok := dtStatus(tr.Router, "a")
		return !ok
	})
}

// TestDrainWaitsForSlowRequest: a request in flight on a removed instance completes whole, and
// WaitDrained returns once it has, with nothing closed.
func TestDrainWaitsForSlowRequest(t *testing.T) {
	gate := stNewGate()
	var slow atomic.Int64
	body := strings.Repeat("slow body ", 10000)
	a := startInstance(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			_, _ = io.WriteString(w, "a\n")
			return
		}
		slow.Add(1)
		if gate.wait(r) {
			_, _ = io.WriteString(w, body)
		}
	})
	b := startInstance(t, "b", nil)
	tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))
	t.Cleanup(gate.open) // runs first: no handler waits for the router or the servers to close

	res := stGet(t, newClient(), tr.url+"/slow")
	eventually(t, 2*time.Second, "a to have the slow request", func() bool { return slow.Load() == 1 })
	if err := tr.Apply(appTable([]*testInstance{b}, nil, 0)); err != nil {
		t.Fatal(err)
	}
	d, ok := dtStatus(tr.Router, "a")
	if !ok || d.InFlight < 1 || d.App != "web" {
		t.Fatalf("Draining() = %+v, want a (app web) with a request in flight", tr.Draining())
	}
	if code, v := get(t, newClient(), tr.url+"/"); code != 200 || v != "b" {
		t.Fatalf("new request while a drains: %d %q, want b", code, v)
	}

	waited := dtWaitDrained(tr.Router, []string{"a"}, time.Now().Add(5*time.Second))
	select {
	case w := <-waited:
		t.Fatalf("WaitDrained returned %+v while a request was still in flight", w)
	case <-time.After(100 * time.Millisecond): // a negative check: nothing may happen here
	}
	gate.open()
	r := stRecv(t, res, 5*time.Second, "the slow request to complete")
	if r.err != nil || r.code != 200 || r.body != body {
		t.Fatalf("slow request: status %d, %d bytes (want %d), err %v", r.code, len(r.body), len(body), r.err)
	}
	w := stRecv(t, waited, 5*time.Second, "WaitDrained to return")
	if w.err != nil || w.closed != 0 {
		t.Fatalf("WaitDrained = %d, %v; want 0 closed, nil", w.closed, w.err)
	}
	eventually(t, 2*time.Second, "Draining() to forget a", func() bool { return len(tr.Draining()) == 0 })
}

// TestDrainDeadlineClosesWebSocketGoingAway: WaitDrained waits for an open WebSocket and at its
// deadline closes it with a 1001 close frame; a streaming response still open then is cut.
func TestDrainDeadlineClosesWebSocketGoingAway(t *testing.T) {
	gate := stNewGate()
	var partial atomic.Int64
	echo := stWSEcho(nil)
	a := startInstance(t, "a", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ws":
			echo(w, r)
		case "/partial": // the head and a first piece, then nothing until the gate opens
			partial.Add(1)
			_, _ = io.WriteString(w, "first piece\n")
			w.(http.Flusher).Flush()
			if gate.wait(r) {
				_, _ = io.WriteString(w, "rest\n")
			}
		default:
			_, _ = io.WriteString(w, "a\n")
		}
	})
	b := startInstance(t, "b", nil)
	tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))
	t.Cleanup(gate.open) // runs first: no handler waits for the router or the servers to close

	ws := stDialWS(t, tr.url, "/ws")
	stEcho(t, ws, websocket.MessageText, []byte("before the drain"))
	type head struct {
		resp *http.Response
		err  error
	}
	heads := make(chan head, 1)
	go func() {
		resp, err := newClient().Get(tr.url + "/partial")
		heads <- head{resp, err}
	}()
	h := stRecv(t, heads, 3*time.Second, "the streaming response's head")
	if h.err != nil || h.resp.StatusCode != 200 {
		t.Fatalf("streaming request: %v", h.err)
	}
	defer h.resp.Body.Close()

	if err := tr.Apply(appTable([]*testInstance{b}, nil, 0)); err != nil {
		t.Fatal(err)
	}
	d, ok := dtStatus(tr.Router, "a")
	if !ok || d.Streams < 2 || d.InFlight < 2 {
		t.Fatalf("Draining() = %+v, want a with a WebSocket and a streaming response", tr.Draining())
	}
	// The WebSocket still works while a drains.
	stEcho(t, ws, websocket.MessageText, []byte("while draining"))

	start := time.Now()
	w := stRecv(t, dtWaitDrained(tr.Router, []string{"a"}, start.Add(300*time.Millisecond)), 5*time.Second, "WaitDrained")
	t.Logf("WaitDrained: %d closed after %v", w.closed, w.took)
	if w.err != nil || w.closed < 2 {
		t.Fatalf("WaitDrained = %d, %v; want the WebSocket and the streaming response closed", w.closed, w.err)
	}
	if w.took < 250*time.Millisecond {
		t.Errorf("WaitDrained returned after %v, before its 300ms deadline", w.took)
	}
	err := stReadClose(t, ws, 3*time.Second)
	if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
		t.Fatalf("WebSocket ended with %v (status %v), want a close frame with 1001 going away", err, st)
	}
	rest, err := io.ReadAll(h.resp.Body)
	if err == nil {
		t.Fatalf("the cut streaming response ended cleanly after %q; the client must see it broken", rest)
	}
	if partial.Load() != 1 {
		t.Errorf("streaming request reached a %d times, want 1", partial.Load())
	}
	eventually(t, 2*time.Second, "Draining() to forget a", func() bool { return len(tr.Draining()) == 0 })
}

// TestDrainDeadlineCutsSlowRequest: a plain request whose response has not started is cut at
// the WaitDrained deadline, counted, and not sent to the removed instance again; on a fresh
// upstream connection and on a kept-alive one.
func TestDrainDeadlineCutsSlowRequest(t *testing.T) {
	for _, warm := range []bool{false, true} {
		name := "fresh-upstream-connection"
		if warm {
			name = "kept-alive-upstream-connection"
		}
		t.Run(name, func(t *testing.T) {
			gate := stNewGate()
			var slow atomic.Int64
			a := startInstance(t, "a", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/slow" {
					_, _ = io.WriteString(w, "a\n")
					return
				}
				slow.Add(1)
				if gate.wait(r) {
					_, _ = io.WriteString(w, "finished\n")
				}
			})
			b := startInstance(t, "b", nil)
			tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))
			t.Cleanup(gate.open) // runs first: no handler waits for the router or the servers to close
			if warm {            // leaves one idle router->a connection, which the slow request then reuses
				if code, v := get(t, newClient(), tr.url+"/"); code != 200 || v != "a" {
					t.Fatalf("warm-up: %d %q", code, v)
				}
			}
			c := newClient()
			res := stGet(t, c, tr.url+"/slow")
			eventually(t, 2*time.Second, "a to have the slow request", func() bool { return slow.Load() == 1 })
			if err := tr.Apply(appTable([]*testInstance{b}, nil, 0)); err != nil {
				t.Fatal(err)
			}
			w := stRecv(t, dtWaitDrained(tr.Router, []string{"a"}, time.Now().Add(300*time.Millisecond)), 5*time.Second, "WaitDrained")
			if w.err != nil || w.closed != 1 {
				t.Fatalf("WaitDrained = %d, %v; want the slow request's connection closed (1)", w.closed, w.err)
			}
			var r stResult
			select {
			case r = <-res:
			case <-time.After(2 * time.Second):
				t.Fatalf("the cut request had not ended 2s after the drain deadline; the removed instance "+
					"has received it %d times (want 1: a forced close must not lead to a resend)", slow.Load())
			}
			t.Logf("client saw: status %d, body %q, err %v", r.code, strings.TrimSpace(r.body), r.err)
			if r.err == nil && r.code == 200 {
				t.Fatalf("the cut request succeeded with %q", r.body)
			}
			if n := slow.Load(); n != 1 {
				t.Fatalf("the removed instance received the slow request %d times, want 1: it was sent again after the drain deadline", n)
			}
			eventually(t, 2*time.Second, "Draining() to forget a", func() bool { return len(tr.Draining()) == 0 })
		})
	}
}

// TestDrainTimeoutClosesWebSocketByItself: without WaitDrained, Options.DrainTimeout ends a
// WebSocket on a removed instance with a 1001 close frame, and not before.
func TestDrainTimeoutClosesWebSocketByItself(t *testing.T) {
	a := startInstance(t, "a", stWSEcho(nil))
	b := startInstance(t, "b", nil)
	const timeout = 300 * time.Millisecond
	tr := startRouter(t, Options{DrainTimeout: timeout}, appTable([]*testInstance{a}, nil, 0))
	ws := stDialWS(t, tr.url, "/ws")
	stEcho(t, ws, websocket.MessageBinary, []byte{1, 2, 3})

	removed := time.Now()
	if err := tr.Apply(appTable([]*testInstance{b}, nil, 0)); err != nil {
		t.Fatal(err)
	}
	if d, ok := dtStatus(tr.Router, "a"); !ok || d.Streams < 1 {
		t.Fatalf("Draining() = %+v, want a with a WebSocket", tr.Draining())
	}
	err := stReadClose(t, ws, 3*time.Second)
	took := time.Since(removed)
	t.Logf("WebSocket closed %v after the removal (DrainTimeout %v): %v", took, timeout, err)
	if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
		t.Fatalf("WebSocket ended with %v (status %v), want 1001 going away", err, st)
	}
	if took < timeout-50*time.Millisecond {
		t.Errorf("closed after %v, before the %v drain timeout", took, timeout)
	}
	eventually(t, 2*time.Second, "Draining() to become empty", func() bool { return len(tr.Draining()) == 0 })
}

// TestDrainWaitDrainedRejectsServingInstance: waiting on an instance still in the table is an
// error naming it.
func TestDrainWaitDrainedRejectsServingInstance(t *testing.T) {
	a, b := startInstance(t, "a", nil), startInstance(t, "b", nil)
	tr := startRouter(t, Options{}, appTable([]*testInstance{a, b}, nil, 0))
	if err := tr.Apply(appTable([]*testInstance{a}, nil, 0)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n, err := tr.WaitDrained(context.Background(), []string{"b", "a"}, time.Now().Add(2*time.Second))
	if err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("WaitDrained(b, a) = %d, %v; want an error naming \"a\"", n, err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the error took %v; it should not wait", took)
	}
	if code, v := get(t, newClient(), tr.url+"/"); code != 200 || v != "a" {
		t.Fatalf("after the refused wait a must still serve: %d %q", code, v)
	}
}

// TestDrainCloseEndsWebSockets: Router.Close with a deadline ends open WebSockets (1001) and
// returns.
func TestDrainCloseEndsWebSockets(t *testing.T) {
	a := startInstance(t, "a", stWSEcho(nil))
	tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))
	ws := stDialWS(t, tr.url, "/ws")
	stEcho(t, ws, websocket.MessageText, []byte("hi"))

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- tr.Close(ctx) }()
	err := stRecv(t, closed, 3*time.Second, "Router.Close to return")
	t.Logf("Close returned %v", err)
	rerr := stReadClose(t, ws, 2*time.Second)
	if st := websocket.CloseStatus(rerr); st != websocket.StatusGoingAway {
		t.Fatalf("WebSocket ended with %v (status %v), want 1001 going away", rerr, st)
	}
	if err := tr.Apply(appTable([]*testInstance{a}, nil, 0)); err != ErrClosed {
		t.Fatalf("Apply after Close = %v, want ErrClosed", err)
	}
}
