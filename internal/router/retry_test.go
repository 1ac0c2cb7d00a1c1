package router

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// dropper is an instance that accepts connections, reads the request and closes without a
// byte of answer: a process killed with the request in flight.
func dropper(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// An idempotent request dropped by an instance without an answer goes to another instance;
// a request with a body does not (the instance may have acted on it).
func TestRetryDroppedIdempotentRequestElsewhere(t *testing.T) {
	good := startInstance(t, "good", nil)
	tbl := appTable([]*testInstance{good}, nil, 0)
	tbl.Apps[0].Blue.Instances = append(tbl.Apps[0].Blue.Instances, Instance{ID: "dropper", Addr: dropper(t)})
	tr := startRouter(t, Options{}, tbl)
	c := newClient()
	for i := range 50 {
		if code, body := get(t, c, tr.url+"/"); code != http.StatusOK || body != "good" {
			t.Fatalf("GET %d: %d %q; a GET the instance dropped must be answered by another", i, code, body)
		}
	}
	posted502 := false
	for range 50 {
		resp, err := c.Post(tr.url+"/", "text/plain", strings.NewReader("charge the card"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusBadGateway {
			posted502 = true
			break
		}
	}
	if !posted502 {
		t.Fatal("50 POSTs with a body never reached the dropper's 502: a non-idempotent request must not be replayed")
	}
}

// When no instance of the chosen version can be reached, the request goes to the other
// version, unless a version was forced.
func TestRetryOnOtherVersionWhenChosenOneIsDead(t *testing.T) {
	blue := startInstance(t, "blue", nil)
	tbl := appTable([]*testInstance{blue}, nil, 10000)
	tbl.Apps[0].Green = Pool{Version: "v2", Instances: []Instance{{ID: "g1", Addr: refusedAddr(t)}, {ID: "g2", Addr: dropper(t)}}}
	tr := startRouter(t, Options{}, tbl)
	c := newClient()
	for i := range 30 {
		if code, body := get(t, c, tr.url+"/"); code != http.StatusOK || body != "blue" {
			t.Fatalf("GET %d at 100%% green with green dead: %d %q; want blue's answer", i, code, body)
		}
	}
	if code, _ := get(t, c, tr.url+"/", "X-Cutover-Version", "green"); code != http.StatusBadGateway && code != http.StatusServiceUnavailable {
		t.Fatalf("forced to a dead green: %d; a forced version must not fall back to blue", code)
	}
}
