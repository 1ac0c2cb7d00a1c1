package daemon

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestUnauthenticatedConnectionsAreBounded: of 10 connections from one address that send
// nothing, the oldest are closed down to the per-address bound, and an authenticated client
// on a new connection is still served.
func TestUnauthenticatedConnectionsAreBounded(t *testing.T) {
	dir, listen := t.TempDir(), sampletest.FreeAddr(t)
	startTCP(t, Config{DataDir: dir, Listen: listen, MaxUnauthConnsPerIP: 4})
	var idle []net.Conn
	for i := 0; i < 10; i++ {
		c, err := net.Dial("tcp", listen)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	req, _ := http.NewRequest("GET", "http://"+listen+"/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+readToken(t, dir, TokenFile))
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("authenticated request beside 10 idle connections: %d", resp.StatusCode)
	}
	open := 0
	for _, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			open++
		}
	}
	if open > 4 {
		t.Fatalf("%d of 10 unauthenticated connections still open, want at most 4", open)
	}
}
