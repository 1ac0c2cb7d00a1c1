package apiserver

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEventStreamKeepsAlive: the stream answers as server-sent events and sends a comment
// line between notices.
func TestEventStreamKeepsAlive(t *testing.T) {
	r := newRig(t)
	s := newServer(Options{Engine: r.eng, Token: testToken})
	s.ping = 20 * time.Millisecond
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("headers %v", resp.Header)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), ": ping") {
			return
		}
	}
	t.Fatalf("no ping before the stream ended: %v", sc.Err())
}
