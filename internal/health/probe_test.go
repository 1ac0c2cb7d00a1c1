package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// closedAddr returns an address on 127.0.0.1 where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln := quietListener(t)
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestProbeClassifies(t *testing.T) {
	ok := newInstance(t, 200)
	failing := newInstance(t, 500)
	redirect := newInstance(t, 302)
	hanging := newHangingInstance(t)
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
		_ = conn.Close()
	}))
	t.Cleanup(reset.Close)
	refused := closedAddr(t)

	tests := []struct {
		desc     string
		addr     string
		check    Check
		ok, hard bool
		reason   string // substring
	}{
		{desc: "2xx is a success", addr: ok.addr(), check: Check{Path: "/healthz"},
			ok: true, reason: "GET /healthz: 200"},
		{desc: "5xx is a soft failure", addr: failing.addr(), check: Check{Path: "/healthz"},
			reason: "GET /healthz: status 500, want 200-399"},
		{desc: "3xx is judged by the range, not followed", addr: redirect.addr(), check: Check{Path: "/"},
			ok: true, reason: "GET /: 302"},
		{desc: "3xx outside a narrower range fails", addr: redirect.addr(),
			check:  Check{Path: "/", StatusMin: 200, StatusMax: 204},
			reason: "GET /: status 302, want 200-204"},
		{desc: "connection refused is hard", addr: refused, check: Check{Path: "/healthz"},
			hard: true, reason: "connection refused"},
		{desc: "connection reset is hard", addr: reset.Listener.Addr().String(), check: Check{Path: "/healthz"},
			hard: true, reason: "connection reset"},
		{desc: "timeout is soft", addr: hanging.addr(),
			check:  Check{Path: "/healthz", Timeout: 30 * time.Millisecond},
			reason: "GET /healthz: timeout after 30ms"},
		{desc: "invalid path fails without a request", addr: ok.addr(), check: Check{Path: "healthz"},
			reason: "must start with"},
	}
	client := newClient()
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r := probe(context.Background(), client, Target{ID: "x", Addr: tt.addr, Check: tt.check.WithDefaults()})
			if r.OK != tt.ok || r.Hard != tt.hard || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("probe = %+v, want OK=%v Hard=%v Reason containing %q", r, tt.ok, tt.hard, tt.reason)
			}
		})
	}
	if n := ok.requests.Load(); n != 1 {
		t.Errorf("invalid check made a request: %d requests, want 1", n)
	}
}

func TestProbeRequest(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
	}))
	t.Cleanup(srv.Close)

	r := probe(context.Background(), newClient(), Target{
		ID: "x", Addr: srv.Listener.Addr().String(), Check: Check{Path: "/healthz?deep=1"}.WithDefaults(),
	})
	if !r.OK {
		t.Fatalf("probe = %+v, want OK", r)
	}
	req := <-got
	if req.Method != http.MethodGet || req.URL.Path != "/healthz" || req.URL.RawQuery != "deep=1" {
		t.Errorf("request = %s %s, want GET /healthz?deep=1", req.Method, req.URL)
	}
	if ua := req.Header.Get("User-Agent"); ua != userAgent {
		t.Errorf("User-Agent = %q, want %q", ua, userAgent)
	}
	if !req.Close {
		t.Errorf("request allows keep-alive; each probe must open its own connection")
	}
}

func TestProbeBodyLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				return // the probe hung up
			}
		}
	}))
	t.Cleanup(srv.Close)

	start := time.Now()
	r := probe(context.Background(), newClient(), Target{
		ID: "x", Addr: srv.Listener.Addr().String(), Check: Check{Path: "/", Timeout: 5 * time.Second}.WithDefaults(),
	})
	if !r.OK {
		t.Fatalf("probe of an endless body = %+v, want OK after reading 64 KiB", r)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("probe of an endless body took %v; it must stop after 64 KiB", d)
	}
}

func TestProbeCancelled(t *testing.T) {
	hanging := newHangingInstance(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result)
	go func() {
		done <- probe(ctx, newClient(), Target{
			ID: "x", Addr: hanging.addr(), Check: Check{Path: "/", Timeout: time.Minute}.WithDefaults(),
		})
	}()
	<-hanging.entered
	cancel()
	select {
	case r := <-done:
		if r.OK {
			t.Errorf("cancelled probe = %+v, want a failure", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("probe did not return within 2s of cancellation")
	}
}
