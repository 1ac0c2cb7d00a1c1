package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The HTTP/1.1 path reuses per-connection state between requests (the parsed request, header
// maps and value strings, the upstream response) and moves read deadlines lazily. These
// tests pin what that must never change: each request and response carries exactly its own
// fields, and every timeout still holds on a connection's later requests.

// kaConn is a client connection to the router speaking raw HTTP/1.1.
type kaConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialKeepAlive(t *testing.T, url string) *kaConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &kaConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *kaConn) do(raw string) (*http.Response, string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, raw); err != nil {
		rc.t.Fatal(err)
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.t.Fatalf("reading the response to %q: %v", firstLine(raw), err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("reading the body of the response to %q: %v", firstLine(raw), err)
	}
	return resp, string(b)
}

// TestKeepAliveFieldsAreFresh sends requests with changing fields over one client connection
// (and so one upstream connection): the instance must see exactly each request's fields and
// the client exactly each response's, never a field or value left from the one before.
func TestKeepAliveFieldsAreFresh(t *testing.T) {
	in := startInstance(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		var got []string
		for k, vv := range r.Header {
			if !strings.HasPrefix(k, "X-Forwarded-") {
				got = append(got, k+"="+strings.Join(vv, "|"))
			}
		}
		slices.Sort(got)
		// Response fields that come and go with the request: what it asked for in X-Give.
		for _, kv := range r.Header.Values("X-Give") {
			k, v, _ := strings.Cut(kv, ":")
			w.Header().Add(k, v)
		}
		_, _ = io.WriteString(w, strings.TrimSpace(r.URL.Path+" "+strings.Join(got, " ")))
	})
	tr := startRouter(t, Options{}, appTable([]*testInstance{in}, nil, 0))
	rc := dialKeepAlive(t, tr.url)
	steps := []struct {
		head       string // request fields after Host
		wantSeen   string // what the instance saw, Host and X-Forwarded-* aside
		wantFields map[string][]string
	}{
		{"X-A: 1\r\nX-B: b1\r\nX-Give: X-One:1\r\nX-Give: X-Two:2\r\n",
			"X-A=1 X-B=b1 X-Give=X-One:1|X-Two:2", map[string][]string{"X-One": {"1"}, "X-Two": {"2"}}},
		{"X-A: 2\r\nX-C: c1\r\nX-C: c2\r\n",
			"X-A=2 X-C=c1|c2", map[string][]string{"X-One": nil, "X-Two": nil}},
		{"X-A: 2\r\nX-B: b3\r\nX-Give: X-Two:two\r\nX-Give: X-Two:again\r\n",
			"X-A=2 X-B=b3 X-Give=X-Two:two|X-Two:again", map[string][]string{"X-One": nil, "X-Two": {"two", "again"}}},
		{"", "", map[string][]string{"X-Two": nil}},
		{"x-a: lower\r\nCookie: k=v\r\nConnection: keep-alive, X-Drop\r\nX-Drop: gone\r\n",
			"Cookie=k=v X-A=lower", nil},
	}
	for i, s := range steps {
		path := fmt.Sprintf("/step%d", i)
		resp, body := rc.do("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + s.head + "\r\n")
		want := strings.TrimSpace(path + " " + s.wantSeen)
		if resp.StatusCode != 200 || body != want {
			t.Errorf("step %d: %d %q, want 200 %q", i, resp.StatusCode, body, want)
		}
		for k, vv := range s.wantFields {
			if got := resp.Header.Values(k); !slices.Equal(got, vv) {
				t.Errorf("step %d: response field %s = %q, want %q", i, k, got, vv)
			}
		}
	}
	if n := in.hits.Load(); n != int64(len(steps)) {
		t.Errorf("the instance served %d requests, want %d", n, len(steps))
	}
}

// TestKeepAliveSlowHeadTimesOut: a connection that already carried a request and then
// trickles the next head is still closed after ReadHeaderTimeout, while a head that arrives
// in pieces within it is served.
func TestKeepAliveSlowHeadTimesOut(t *testing.T) {
	const readHeaderTimeout = 300 * time.Millisecond
	in := startInstance(t, "blue", nil)
	tr := startRouter(t, Options{ReadHeaderTimeout: readHeaderTimeout}, appTable([]*testInstance{in}, nil, 0))
	rc := dialKeepAlive(t, tr.url)
	if resp, body := rc.do("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 || body != "blue\n" {
		t.Fatalf("first request: %d %q", resp.StatusCode, body)
	}
	// A head in two pieces, 100ms apart: well within the timeout.
	if _, err := io.WriteString(rc.c, "GET /2 HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the client's pace is what is being tested
	if resp, body := rc.do("Host: x\r\n\r\n"); resp.StatusCode != 200 || body != "blue\n" {
		t.Fatalf("request in two pieces: %d %q", resp.StatusCode, body)
	}
	// Then half a head, and nothing more.
	start := time.Now()
	if _, err := io.WriteString(rc.c, "GET /3 HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc.br)
	took := time.Since(start)
	if isTimeout(err) {
		t.Fatalf("the connection with a stalled head was still open after %v", took)
	}
	if took < readHeaderTimeout-20*time.Millisecond || took > 5*time.Second {
		t.Errorf("closed %v after the stalled head began, want about the %v ReadHeaderTimeout", took, readHeaderTimeout)
	}
	if strings.HasPrefix(string(got), "HTTP/1.1 2") {
		t.Errorf("a stalled head got a success: %q", firstLine(string(got)))
	}
	if n := in.hits.Load(); n != 2 {
		t.Errorf("the instance served %d requests, want 2", n)
	}
}

// TestKeepAliveIdleTimeout: an idle keep-alive connection is closed no sooner than
// IdleTimeout after its last response, and not much later either.
func TestKeepAliveIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	in := startInstance(t, "blue", nil)
	tr := startRouter(t, Options{IdleTimeout: idle}, appTable([]*testInstance{in}, nil, 0))
	rc := dialKeepAlive(t, tr.url)
	for i := 0; i < 3; i++ {
		if resp, _ := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	start := time.Now()
	_, err := rc.br.ReadByte()
	took := time.Since(start)
	if err != io.EOF {
		t.Fatalf("idle connection: read %v after %v, want EOF", err, took)
	}
	// The deadline moves lazily: it may fire up to a quarter of the timeout late.
	if took < idle-20*time.Millisecond || took > idle*5/4+2*time.Second {
		t.Errorf("idle connection closed after %v, want between %v and %v", took, idle, idle*5/4)
	}
}

// TestUpstreamTimeoutOnReusedConnection: the upstream timeout holds on a kept-alive upstream
// connection too, and bounds only the response head: a body that arrives later than the
// timeout is still relayed whole.
func TestUpstreamTimeoutOnReusedConnection(t *testing.T) {
	const timeout = 300 * time.Millisecond
	release := make(chan struct{})
	in := startInstance(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/slow-body":
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			time.Sleep(2 * timeout) // the instance's pace is what is being tested
			_, _ = io.WriteString(w, "-last")
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	t.Cleanup(func() { close(release) })
	tbl := appTable([]*testInstance{in}, nil, 0)
	tbl.Apps[0].Limits.UpstreamTimeout = Duration(timeout)
	tr := startRouter(t, Options{}, tbl)
	rc := dialKeepAlive(t, tr.url)
	for i := 0; i < 3; i++ { // one upstream connection, kept alive
		if resp, body := rc.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if resp, body := rc.do("GET /slow-body HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 || body != "first-last" {
		t.Errorf("slow body: %d %q, want 200 %q", resp.StatusCode, body, "first-last")
	}
	start := time.Now()
	resp, _ := rc.do("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
	took := time.Since(start)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("hanging instance: %d, want 504", resp.StatusCode)
	}
	if took < timeout-20*time.Millisecond || took > timeout*5/4+2*time.Second {
		t.Errorf("504 after %v, want between %v and %v", took, timeout, timeout*5/4)
	}
	rc2 := dialKeepAlive(t, tr.url)
	if resp, body := rc2.do("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("after the timeout: %d %q", resp.StatusCode, body)
	}
}
