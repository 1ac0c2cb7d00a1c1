package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShutdownAnswersTheNextRequestOfAConnectionItToldToStay: a response whose head went out
// before shutdown began (so it did not say Connection: close) must not be followed by a
// close: the client keeps the connection and sends its next request at once, which is
// answered, with Connection: close. Closing after that response (as the router did) failed
// the next request with a reset: wrk's "read errors" during upgrades.
func TestShutdownAnswersTheNextRequestOfAConnectionItToldToStay(t *testing.T) {
	release := make(chan struct{})
	in := startInstance(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" { // a streamed body of unknown length: the router flushes each piece
			_, _ = io.WriteString(w, "bo")
			w.(http.Flusher).Flush()
			<-release
			_, _ = io.WriteString(w, "dy")
			return
		}
		_, _ = io.WriteString(w, "body")
	})
	tr := startRouter(t, Options{}, appTable([]*testInstance{in}, nil, 0))
	conn, err := net.Dial("tcp", strings.TrimPrefix(tr.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	if _, err := io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Read the head: it went out before shutdown, so it says nothing of closing.
	head, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if head.Close {
		t.Fatal("the first response asked to close before shutdown began")
	}
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- tr.Close(ctx)
	}()
	// Shutdown has begun once the listener refuses new connections.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(tr.url, "http://"), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(end) {
			t.Fatal("the listener still accepts 5s into shutdown")
		}
	}
	close(release)
	if b, err := io.ReadAll(head.Body); err != nil || string(b) != "body" {
		t.Fatalf("first body %q, %v", b, err)
	}
	// The client was told to keep the connection: its next request must be answered.
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatalf("second request: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the second request on a connection kept alive got no answer during shutdown: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "body" || !resp.Close {
		t.Fatalf("second response %d %q close=%v, want 200 body with Connection: close", resp.StatusCode, b, resp.Close)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}
