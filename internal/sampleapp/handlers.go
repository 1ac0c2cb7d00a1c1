package sampleapp

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// sseInterval separates the events of /sse.
const sseInterval = 200 * time.Millisecond

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", a.hello)
	mux.HandleFunc("/healthz", a.healthz)
	mux.HandleFunc("/version", a.version)
	mux.HandleFunc("/slow", a.slow)
	mux.HandleFunc("/sse", a.sse)
	mux.HandleFunc("/ws", a.echo)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", a.cfg.Version)
		mux.ServeHTTP(w, r)
	})
}

// hello answers / and every path no other endpoint claims, after Latency, failing per
// ErrorRate.
func (a *app) hello(w http.ResponseWriter, r *http.Request) {
	n := a.requests.Add(1)
	if !sleep(r.Context(), a.cfg.Latency) {
		return // the client left
	}
	if failing(n, a.cfg.ErrorRate) {
		text(w, http.StatusInternalServerError, "sample failure\n")
		return
	}
	text(w, http.StatusOK, "hello from "+a.cfg.Version+"\n")
}

// failing reports whether the nth request (from 1) fails at rate: whenever floor(n*rate)
// grows. Rates are counted in parts per million so the arithmetic is exact: 0.1 fails exactly
// requests 10, 20, 30, ...
func failing(n int64, rate float64) bool {
	ppm := int64(rate*1e6 + 0.5)
	return n*ppm/1e6 > (n-1)*ppm/1e6
}

func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Unhealthy {
		text(w, http.StatusServiceUnavailable, "unhealthy\n")
		return
	}
	text(w, http.StatusOK, "ok\n")
}

func (a *app) version(w http.ResponseWriter, r *http.Request) {
	text(w, http.StatusOK, a.cfg.Version+"\n")
}

// slow answers after the duration in the d parameter (default 1s), or not at all if the
// client leaves first. Shutdown waits for it like any request in flight.
func (a *app) slow(w http.ResponseWriter, r *http.Request) {
	d := time.Second
	if v := r.URL.Query().Get("d"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 0 {
			text(w, http.StatusBadRequest, fmt.Sprintf("invalid d %q: want a duration such as 2s\n", v))
			return
		}
	}
	if !sleep(r.Context(), d) {
		return
	}
	text(w, http.StatusOK, "slept "+d.String()+"\n")
}

// sse streams one event at once and then one every sseInterval, until the client goes or the
// app shuts down, when a last "bye" event tells the client to reconnect elsewhere.
func (a *app) sse(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(sseInterval)
	defer tick.Stop()
	for id := 1; ; id++ {
		if _, err := fmt.Fprintf(w, "id: %d\ndata: %s %d\n\n", id, a.cfg.Version, id); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		case <-a.stopping:
			_, _ = io.WriteString(w, "event: bye\ndata: shutting down\n\n")
			_ = rc.Flush() // the stream ends either way
			return
		}
	}
}

// echo is a WebSocket endpoint that sends every message back as it came, until the client
// closes or the app shuts down (close status 1001, going away).
func (a *app) echo(w http.ResponseWriter, r *http.Request) {
	// Counted before the connection is hijacked, while Shutdown still waits for this request,
	// so the count cannot grow once shutdown waits for it.
	a.sockets.Add(1)
	defer a.sockets.Done()
	// Any origin: the app sits behind cutover's router, whose host differs from the page's.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the client
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-a.stopping:
			_ = c.Close(websocket.StatusGoingAway, "server shutting down")
		case <-done:
		}
	}()
	ctx := r.Context()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			_ = c.CloseNow() // the peer closed or the read failed: nothing left to say
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}

// text writes a plain-text response.
func text(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body) // the client may be gone; nothing to do about it
}
