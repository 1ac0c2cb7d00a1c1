package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// closedWithin reads c until it ends and fails the test if it is still open after d. The
// bytes read (an answer, if the server sent one) are returned.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still held the connection after %v (read so far: %q)", d, b)
	}
	return string(b)
}

// startTCP is start, then waits until the TCP listener accepts (the socket answers first).
func startTCP(t *testing.T, cfg Config) {
	t.Helper()
	start(t, cfg)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", cfg.Listen)
		if err == nil {
			c.Close()
			return
		}
		if i == 200 {
			t.Fatalf("TCP listener %s: %v", cfg.Listen, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// trickle sends the head of a POST /api/v1/validate announcing 200000 bytes, then 10 bytes
// every 50ms in the background until the connection fails.
func trickle(t *testing.T, addr, auth string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	head := "POST /api/v1/validate HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/yaml\r\nContent-Length: 200000\r\n" + auth + "\r\n"
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < 2000; i++ {
			if _, err := io.WriteString(c, "app: web #"); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return c
}

// TestUnauthenticatedTrickleIsRefusedOnTheHead: a client with no token that announces a
// large body and trickles it gets 401 at once and the connection closed, the body unread
// (net/http would otherwise drain up to 256 KiB of it for keep-alive, at the client's pace).
func TestUnauthenticatedTrickleIsRefusedOnTheHead(t *testing.T) {
	listen := sampletest.FreeAddr(t)
	startTCP(t, Config{DataDir: t.TempDir(), Listen: listen})
	c := trickle(t, listen, "")
	got := closedWithin(t, c, 3*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 401") {
		t.Fatalf("answer %q, want 401", got)
	}
}

// TestAuthenticatedTrickleIsCutOffAtBodyTimeout: even with the admin token a body must
// arrive within BodyTimeout.
func TestAuthenticatedTrickleIsCutOffAtBodyTimeout(t *testing.T) {
	dir, listen := t.TempDir(), sampletest.FreeAddr(t)
	startTCP(t, Config{DataDir: dir, Listen: listen, BodyTimeout: 300 * time.Millisecond})
	c := trickle(t, listen, "Authorization: Bearer "+readToken(t, dir, TokenFile)+"\r\n")
	closedWithin(t, c, 3*time.Second)
}

// TestSlowHeadIsCutOffAtHeaderTimeout: a client that never finishes its request's head is
// disconnected after HeaderTimeout.
func TestSlowHeadIsCutOffAtHeaderTimeout(t *testing.T) {
	listen := sampletest.FreeAddr(t)
	startTCP(t, Config{DataDir: t.TempDir(), Listen: listen, HeaderTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /api/v1/apps HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	closedWithin(t, c, 3*time.Second)
}

// TestBodyTimeoutLeavesEventStreamsAlone: a stream opened after a body was read on the same
// connection outlives BodyTimeout (the deadline is per body, not per connection).
func TestBodyTimeoutLeavesEventStreamsAlone(t *testing.T) {
	dir, listen := t.TempDir(), sampletest.FreeAddr(t)
	startTCP(t, Config{DataDir: dir, Listen: listen, BodyTimeout: 200 * time.Millisecond})
	tok := readToken(t, dir, TokenFile)
	c, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	body := "app: web\n"
	fmt.Fprintf(c, "POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", tok, len(body), body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Fprintf(c, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", tok)
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("event stream: %v, %v", resp, err)
	}
	// The stream must still be open well past BodyTimeout (a pending read deadline would
	// have ended it): wait three of them, then find it open (a read times out, no EOF).
	time.Sleep(600 * time.Millisecond) // the property is that nothing happens; nothing to poll
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 1)
	_, err = resp.Body.Read(buf)
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("the event stream ended after BodyTimeout: %v", err)
	}
}
