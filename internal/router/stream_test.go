package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// ---- helpers shared by stream_test.go and drain_test.go (prefixed st to stay clear of others) ----

// stGate holds instance handlers until the test opens it. Register open with t.Cleanup after
// startRouter, so it runs before the router and the instance servers close.
type stGate struct {
	ch   chan struct{}
	once sync.Once
}

func stNewGate() *stGate { return &stGate{ch: make(chan struct{})} }
func (g *stGate) open()  { g.once.Do(func() { close(g.ch) }) }
func (g *stGate) isOpen() bool {
	select {
	case <-g.ch:
		return true
	default:
		return false
	}
}

// wait blocks until the gate opens (true), or the request is gone or 10s pass (false). The 10s
// bound is never reached by a passing test; it keeps a failing one from hanging.
func (g *stGate) wait(r *http.Request) bool {
	select {
	case <-g.ch:
		return true
	case <-r.Context().Done():
		return false
	case <-time.After(10 * time.Second):
		return false
	}
}

// stResult is what a background request ended with.
type stResult struct {
	code int
	hdr  http.Header
	body string
	err  error // from Do or from reading the body
}

// stDo sends req in the background and delivers the outcome, body read whole.
func stDo(c *http.Client, req *http.Request) <-chan stResult {
	ch := make(chan stResult, 1)
	go func() {
		resp, err := c.Do(req)
		if err != nil {
			ch <- stResult{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		ch <- stResult{code: resp.StatusCode, hdr: resp.Header, body: string(b), err: err}
	}()
	return ch
}

func stGet(t *testing.T, c *http.Client, url string) <-chan stResult {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return stDo(c, req)
}

// stRecv waits at most timeout for a background result.
func stRecv[T any](t *testing.T, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
		panic("unreachable")
	}
}

// stWSEcho is an instance handler that echoes every WebSocket message back with its type.
// upgrade, if set, receives the Upgrade and Connection headers the instance saw.
func stWSEcho(upgrade chan<- [2]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if upgrade != nil {
			select {
			case upgrade <- [2]string{r.Header.Get("Upgrade"), r.Header.Get("Connection")}:
			default:
			}
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		ctx := context.Background() // the session ends when the router closes the connection
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	}
}

// stDialWS opens a WebSocket to base (an http:// URL) + path.
func stDialWS(t *testing.T, base, path string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path, nil)
	if err != nil {
		t.Fatalf("websocket dial %s%s: %v", base, path, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("websocket dial: status %d", resp.StatusCode)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// stEcho sends one message and expects it back unchanged.
func stEcho(t *testing.T, c *websocket.Conn, typ websocket.MessageType, msg []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, typ, msg); err != nil {
		t.Fatalf("websocket write (%v, %d bytes): %v", typ, len(msg), err)
	}
	gt, got, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("websocket read (%v, %d bytes): %v", typ, len(msg), err)
	}
	if gt != typ || !bytes.Equal(got, msg) {
		t.Fatalf("echo of %v %d bytes came back as %v %d bytes (equal=%v)", typ, len(msg), gt, len(got), bytes.Equal(got, msg))
	}
}

// stReadClose reads until the connection ends and returns the error, within timeout.
func stReadClose(t *testing.T, c *websocket.Conn, timeout time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("websocket still open after %v", timeout)
			}
			return err
		}
		t.Logf("unexpected message while waiting for the close: %q", msg)
	}
}

// stHealthEvent is one Observer call.
type stHealthEvent struct {
	app, id string
	healthy bool
	reason  string
	at      time.Time
}

// stObserver records health transitions; safe for concurrent use.
type stObserver struct {
	mu     sync.Mutex
	events []stHealthEvent
}

func (o *stObserver) InstanceHealth(app, id string, healthy bool, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, stHealthEvent{app, id, healthy, reason, time.Now()})
}

// first returns the first event for id with the given verdict.
func (o *stObserver) first(id string, healthy bool) (stHealthEvent, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.events {
		if e.id == id && e.healthy == healthy {
			return e, true
		}
	}
	return stHealthEvent{}, false
}

// firstWhere returns the first event matching keep.
func (o *stObserver) firstWhere(keep func(stHealthEvent) bool) (stHealthEvent, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.events {
		if keep(e) {
			return e, true
		}
	}
	return stHealthEvent{}, false
}

func (o *stObserver) count(id string, healthy bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, e := range o.events {
		if e.id == id && e.healthy == healthy {
			n++
		}
	}
	return n
}

// stRefusedAddr is a 127.0.0.1 address with nothing listening.
func stRefusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// stHeaderEcho answers with the request headers it received, as JSON, and its own name in X-Instance.
func stHeaderEcho(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	h := r.Header.Clone()
	h.Set("X-Seen-Proto", r.Proto)
	_ = json.NewEncoder(w).Encode(h)
}

func stDecodeHeaders(t *testing.T, body string) http.Header {
	t.Helper()
	var h http.Header
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("decode headers %q: %v", body, err)
	}
	return h
}

// ---- WebSocket ----

func TestStreamWebSocketEchoThroughRouter(t *testing.T) {
	upgrade := make(chan [2]string, 1)
	a := startInstance(t, "a", stWSEcho(upgrade))
	tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))
	c := stDialWS(t, tr.url, "/ws")

	seen := stRecv(t, upgrade, 2*time.Second, "the instance to see the upgrade")
	if !strings.EqualFold(seen[0], "websocket") || !connectionListed([]string{seen[1]}, "upgrade") {
		t.Fatalf("instance saw Upgrade %q, Connection %q; want websocket, Upgrade", seen[0], seen[1])
	}

	big := make([]byte, 70*1024+3) // > 65535: a 64-bit payload length
	rng := mrand.New(mrand.NewChaCha8([32]byte{1}))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	mid := bytes.Repeat([]byte("m"), 300) // 126..65535: a 16-bit payload length
	msgs := []struct {
		typ websocket.MessageType
		b   []byte
	}{
		{websocket.MessageText, []byte("hello")},
		{websocket.MessageBinary, []byte{0, 1, 2, 0xff, 0x88}},
		{websocket.MessageText, []byte("")},
		{websocket.MessageText, mid},
		{websocket.MessageBinary, big},
		{websocket.MessageText, []byte("after the big one")},
		{websocket.MessageBinary, big[:65536]},
	}
	for round := 0; round < 2; round++ {
		for _, m := range msgs {
			stEcho(t, c, m.typ, m.b)
		}
	}

	// Ping/pong through the tunnel: Ping needs a concurrent reader, which then gets a message.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type read struct {
		typ websocket.MessageType
		b   []byte
		err error
	}
	got := make(chan read, 1)
	go func() {
		typ, b, err := c.Read(ctx)
		got <- read{typ, b, err}
	}()
	start := time.Now()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping through the router: %v", err)
	}
	t.Logf("ping round trip through the router: %v", time.Since(start))
	if err := c.Write(ctx, websocket.MessageText, []byte("after ping")); err != nil {
		t.Fatal(err)
	}
	r := stRecv(t, got, 5*time.Second, "the message after the ping")
	if r.err != nil || string(r.b) != "after ping" {
		t.Fatalf("after ping: got %q, %v", r.b, r.err)
	}
	if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("close handshake through the router: %v", err)
	}
}

// ---- response streaming ----

func TestStreamSSEFlushedAtOnce(t *testing.T) {
	gates := map[string]*stGate{"/sse": stNewGate(), "/chunked": stNewGate()}
	handler := func(w http.ResponseWriter, r *http.Request) {
		gate := gates[r.URL.Path]
		if gate == nil {
			http.NotFound(w, r)
			return
		}
		first, second := "first-chunk\n", "second-chunk\n"
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			first, second = "data: one\n\n", "data: two\n\n"
		}
		_, _ = io.WriteString(w, first)
		w.(http.Flusher).Flush()
		if !gate.wait(r) {
			return
		}
		_, _ = io.WriteString(w, second)
	}
	a := startInstance(t, "a", handler)
	tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))
	for _, g := range gates { // run first: no handler waits for the router or the servers to close
		t.Cleanup(g.open)
	}

	for _, tc := range []struct{ path, first, second, ctype string }{
		{"/sse", "data: one", "data: two", "text/event-stream"},
		{"/chunked", "first-chunk", "second-chunk", ""},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			gate := gates[tc.path]
			type line struct {
				s   string
				err error
			}
			lines := make(chan line, 4)
			type head struct {
				resp *http.Response
				err  error
			}
			heads := make(chan head, 1)
			go func() {
				resp, err := newClient().Get(tr.url + tc.path)
				heads <- head{resp, err}
				if err != nil {
					return
				}
				br := bufio.NewReader(resp.Body)
				for {
					s, err := br.ReadString('\n')
					if s = strings.TrimSpace(s); s != "" || err != nil {
						lines <- line{s, err}
					}
					if err != nil {
						return
					}
				}
			}()
			h := stRecv(t, heads, 3*time.Second, "response headers while the instance is blocked")
			if h.err != nil {
				t.Fatal(h.err)
			}
			defer h.resp.Body.Close()
			if h.resp.StatusCode != 200 {
				b, _ := io.ReadAll(h.resp.Body)
				t.Fatalf("status %d %q", h.resp.StatusCode, b)
			}
			if tc.ctype != "" && h.resp.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", h.resp.Header.Get("Content-Type"), tc.ctype)
			}
			l := stRecv(t, lines, 3*time.Second, "the first piece while the instance is still blocked")
			if gate.isOpen() {
				t.Fatal("gate opened early: the assertion below would prove nothing")
			}
			if l.err != nil || l.s != tc.first {
				t.Fatalf("first piece: %q, %v; want %q", l.s, l.err, tc.first)
			}
			// The first piece arrived while the instance was blocked. Now let it finish.
			gate.open()
			l = stRecv(t, lines, 3*time.Second, "the second piece")
			if l.s != tc.second {
				t.Fatalf("second piece: %q, %v; want %q", l.s, l.err, tc.second)
			}
			l = stRecv(t, lines, 3*time.Second, "the end of the stream")
			if l.err != io.EOF || l.s != "" {
				t.Fatalf("after the second piece: %q, %v; want a clean EOF", l.s, l.err)
			}
		})
	}
}

// ---- request bodies ----

func TestStreamRequestBodyStreamed(t *testing.T) {
	firstGot := make(chan string, 1)
	const first = "first-piece|"
	a := startInstance(t, "a", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, len(first))
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, "read first: "+err.Error(), 500)
			return
		}
		firstGot <- string(buf)
		rest, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read rest: "+err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%s|%d|%s", strings.Join(r.TransferEncoding, ","), r.ContentLength, buf)
		_, _ = w.Write(rest)
	})
	tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))

	pr, pw := io.Pipe()
	defer pw.Close()
	req, err := http.NewRequest("POST", tr.url+"/upload", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked: the length is not known up front
	res := stDo(newClient(), req)
	wrote := make(chan error, 1)
	go func() {
		_, err := io.WriteString(pw, first)
		wrote <- err
	}()
	if err := stRecv(t, wrote, 3*time.Second, "the router to take the first piece"); err != nil {
		t.Fatal(err)
	}
	got := stRecv(t, firstGot, 3*time.Second, "the instance to receive the first piece before the rest is written")
	if got != first {
		t.Fatalf("instance's first piece %q, want %q", got, first)
	}
	rest := strings.Repeat("rest-of-the-body.", 1000)
	go func() {
		_, err := io.WriteString(pw, rest)
		pw.CloseWithError(err)
	}()
	r := stRecv(t, res, 5*time.Second, "the response")
	if r.err != nil || r.code != 200 {
		t.Fatalf("response: %d %q %v", r.code, r.body, r.err)
	}
	if want := "chunked|-1|" + first + rest; r.body != want {
		t.Fatalf("instance saw %q..., want %q...", stTrunc(r.body, 80), stTrunc(want, 80))
	}
}

func stTrunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func TestStreamLargeUploadIntact(t *testing.T) {
	a := startInstance(t, "a", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%d %d %s", r.ContentLength, n, hex.EncodeToString(h.Sum(nil)))
	})
	tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))
	data := make([]byte, 8<<20)
	rng := mrand.New(mrand.NewChaCha8([32]byte{8}))
	for i := 0; i+8 <= len(data); i += 8 {
		v := rng.Uint64()
		for k := 0; k < 8; k++ {
			data[i+k] = byte(v >> (8 * k))
		}
	}
	sum := sha256.Sum256(data)
	resp, err := newClient().Post(tr.url+"/big", "application/octet-stream", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(resp)
	want := fmt.Sprintf("%d %d %s", len(data), len(data), hex.EncodeToString(sum[:]))
	if resp.StatusCode != 200 || body != want {
		t.Fatalf("8 MB upload: status %d, instance saw %q; want %q", resp.StatusCode, body, want)
	}
}

// ---- headers ----

func TestStreamHopByHopHeadersStripped(t *testing.T) {
	a := startInstance(t, "a", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Connection", "X-Private")
		h.Set("X-Private", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("X-App", "1")
		stHeaderEcho(w, r)
	})
	tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))

	// A raw request, so exactly these header lines reach the router.
	raw := "GET /hop HTTP/1.1\r\nHost: shop.example.com\r\n" +
		"Connection: X-Secret, keep-alive\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n" +
		"Te: trailers\r\nProxy-Authorization: x\r\nProxy-Connection: keep-alive\r\nX-Normal: 1\r\n\r\n"
	roundTrip := func(addr string) (*http.Response, string) {
		t.Helper()
		nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(nc, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp, readAll(resp)
	}

	// Control: straight to the instance, the response does carry the hop-by-hop headers.
	direct, _ := roundTrip(a.addr())
	if direct.Header.Get("X-Private") != "1" || direct.Header.Get("Keep-Alive") == "" {
		t.Fatalf("control: the instance itself sent %v; the test needs X-Private and Keep-Alive", direct.Header)
	}

	resp, body := roundTrip(strings.TrimPrefix(tr.url, "http://"))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	seen := stDecodeHeaders(t, body)
	for _, k := range []string{"Connection", "X-Secret", "Keep-Alive", "Te", "Proxy-Authorization", "Proxy-Connection"} {
		if v, ok := seen[k]; ok {
			t.Errorf("instance received hop-by-hop header %s: %q", k, v)
		}
	}
	if seen.Get("X-Normal") != "1" {
		t.Errorf("instance did not receive the ordinary header X-Normal: %v", seen)
	}
	for _, k := range []string{"X-Private", "Keep-Alive"} {
		if v, ok := resp.Header[k]; ok {
			t.Errorf("client received hop-by-hop header %s: %q", k, v)
		}
	}
	if connectionListed(resp.Header["Connection"], "X-Private") {
		t.Errorf("client received Connection: %q", resp.Header["Connection"])
	}
	if resp.Header.Get("X-App") != "1" {
		t.Errorf("client did not receive the ordinary header X-App: %v", resp.Header)
	}
}

func TestStreamForwardedHeaders(t *testing.T) {
	a := startInstance(t, "a", stHeaderEcho)
	tbl := appTable([]*testInstance{a}, nil, 0)
	send := func(url string) http.Header {
		t.Helper()
		req, err := http.NewRequest("GET", url+"/fwd", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "shop.example.com"
		req.Header.Set("X-Forwarded-For", "1.2.3.4")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "orig.example.com")
		req.Header.Set("Forwarded", "for=1.2.3.4;proto=https")
		r := stRecv(t, stDo(newClient(), req), 5*time.Second, "the response")
		if r.err != nil || r.code != 200 {
			t.Fatalf("status %d %v: %s", r.code, r.err, r.body)
		}
		return stDecodeHeaders(t, r.body)
	}
	check := func(h http.Header, k string, want ...string) {
		t.Helper()
		if got := h.Values(k); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("instance saw %s = %q, want %q", k, got, want)
		}
	}

	untrusted := startRouter(t, Options{}, tbl)
	h := send(untrusted.url)
	check(h, "X-Forwarded-For", "127.0.0.1")
	check(h, "X-Forwarded-Proto", "http")
	check(h, "X-Forwarded-Host", "shop.example.com")
	check(h, "Forwarded") // an untrusted client's Forwarded is dropped

	tbl.TrustedProxies = []string{"127.0.0.0/8"}
	trusted := startRouter(t, Options{}, tbl)
	h = send(trusted.url)
	check(h, "X-Forwarded-For", "1.2.3.4, 127.0.0.1")
	check(h, "X-Forwarded-Proto", "https")
	check(h, "X-Forwarded-Host", "orig.example.com")
	check(h, "Forwarded", "for=1.2.3.4;proto=https")
}

// ---- upstream failures ----

func TestStreamUpstreamTimeoutIs504(t *testing.T) {
	gate := stNewGate()
	a := startInstance(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if gate.wait(r) {
			_, _ = io.WriteString(w, "too late\n")
		}
	})
	tbl := appTable([]*testInstance{a}, nil, 0)
	tbl.Apps[0].Limits.UpstreamTimeout = Duration(200 * time.Millisecond)
	tr := startRouter(t, Options{}, tbl)
	t.Cleanup(gate.open) // runs first: no handler waits for the router or the servers to close
	c := newClient()
	c.Timeout = 2 * time.Second
	start := time.Now()
	code, body := get(t, c, tr.url+"/hang")
	took := time.Since(start)
	t.Logf("504 after %v (UpstreamTimeout 200ms)", took)
	if code != http.StatusGatewayTimeout {
		t.Fatalf("status %d (%s), want 504", code, body)
	}
	if took < 200*time.Millisecond || took > 1500*time.Millisecond {
		t.Fatalf("504 after %v, want about the 200ms upstream timeout", took)
	}
}

func TestStreamRefusedInstanceIs502(t *testing.T) {
	tbl := appTable(nil, nil, 0)
	tbl.Apps[0].Blue.Instances = []Instance{{ID: "dead", Addr: stRefusedAddr(t)}}
	tr := startRouter(t, Options{}, tbl)
	c := newClient()
	c.Timeout = 3 * time.Second
	for i := 0; i < 3; i++ {
		if code, body := get(t, c, tr.url+"/"); code != http.StatusBadGateway {
			t.Fatalf("request %d: status %d (%s), want 502", i, code, body)
		}
	}
}

func TestStreamRetryRefusedOnOtherInstance(t *testing.T) {
	good := startInstance(t, "good", nil)
	tbl := appTable([]*testInstance{good}, nil, 0)
	tbl.Apps[0].Blue.Instances = append(tbl.Apps[0].Blue.Instances, Instance{ID: "dead", Addr: stRefusedAddr(t)})
	tbl.Apps[0].Limits.FailureEject = 3
	obs := &stObserver{}
	tr := startRouter(t, Options{Observer: obs}, tbl)
	c := newClient()
	for i := 0; i < 100; i++ {
		if code, body := get(t, c, tr.url+"/"); code != 200 || body != "good" {
			t.Fatalf("request %d: status %d body %q; a refused instance must be retried on another", i, code, body)
		}
	}
	e, ok := obs.first("dead", false)
	if !ok {
		t.Fatalf("the refused instance was never reported unhealthy (ejected) after 100 requests")
	}
	t.Logf("ejection: %s", e.reason)
	if e.app != "web" || !strings.Contains(e.reason, "3 consecutive connection errors") || !strings.Contains(e.reason, "refused") {
		t.Errorf("ejection event %+v, want app web, 3 consecutive connection errors, connection refused", e)
	}
	if n := obs.count("dead", false); n != 1 {
		t.Errorf("%d ejections reported within the 10s cooldown, want 1", n)
	}
	if n := obs.count("good", false); n != 0 {
		t.Errorf("the working instance was reported unhealthy %d times", n)
	}
}

func TestStreamNoHealthyInstanceIs503(t *testing.T) {
	a := startInstance(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "a\n")
	})
	tbl := appTable([]*testInstance{a}, nil, 0)
	tbl.Apps[0].Health = &HealthCheck{Path: "/healthz", Interval: Duration(50 * time.Millisecond)}
	obs := &stObserver{}
	tr := startRouter(t, Options{Observer: obs}, tbl)
	c := newClient()
	c.Timeout = 2 * time.Second // a hang fails the request, and so the test
	var last *http.Response
	eventually(t, 3*time.Second, "503 from a pool with no healthy instance", func() bool {
		resp, err := c.Get(tr.url + "/")
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		readAll(resp)
		last = resp
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if ra := last.Header.Get("Retry-After"); ra == "" {
		t.Errorf("503 without Retry-After: %v", last.Header)
	}
	if _, ok := obs.first("a", false); !ok {
		t.Errorf("observer not told that a is unhealthy")
	}
	for i := 0; i < 20; i++ {
		start := time.Now()
		resp, err := c.Get(tr.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		readAll(resp)
		if took := time.Since(start); resp.StatusCode != 503 || took > 500*time.Millisecond {
			t.Fatalf("request %d: status %d after %v, want a quick 503", i, resp.StatusCode, took)
		}
	}
}

func TestStreamStoppedInstanceLeavesRotationWithoutFailures(t *testing.T) {
	x, y := startInstance(t, "x", nil), startInstance(t, "y", nil)
	tbl := appTable([]*testInstance{x, y}, nil, 0)
	check := HealthCheck{Path: "/healthz", Interval: Duration(100 * time.Millisecond), Timeout: Duration(100 * time.Millisecond)}
	tbl.Apps[0].Health = &check
	obs := &stObserver{}
	tr := startRouter(t, Options{Observer: obs}, tbl)

	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			c.Timeout = 3 * time.Second
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := c.Get(tr.url + "/")
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if body := readAll(resp); resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d: %s", resp.StatusCode, body))
				}
			}
		}()
	}
	halt := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer halt()
	eventually(t, 3*time.Second, "both instances serving", func() bool { return x.hits.Load() > 20 && y.hits.Load() > 20 })

	x.srv.Close()
	closed := time.Now()
	// Passive ejection (connection errors) may well come first; the active probe must follow
	// within one interval plus timeout.
	probed := func(e stHealthEvent) bool { return e.id == "x" && !e.healthy && strings.Contains(e.reason, "/healthz") }
	eventually(t, 2*time.Second, "the probe to report x unhealthy", func() bool {
		_, ok := obs.firstWhere(probed)
		return ok
	})
	first, _ := obs.first("x", false)
	probe, _ := obs.firstWhere(probed)
	t.Logf("x out of rotation %v after its server closed: %s", first.at.Sub(closed), first.reason)
	took := probe.at.Sub(closed)
	t.Logf("probe verdict %v after the close (interval %v + timeout %v): %s",
		took, time.Duration(check.Interval), time.Duration(check.Timeout), probe.reason)
	if limit := time.Duration(check.Interval+check.Timeout) + 200*time.Millisecond; took > limit {
		t.Errorf("the probe reported x after %v, want within interval + timeout (+200ms slack) = %v", took, limit)
	}
	if n := obs.count("y", false); n != 0 {
		t.Errorf("y, still serving, was reported unhealthy %d times", n)
	}
	mark := sent.Load() + 200
	eventually(t, 5*time.Second, "200 more requests after x left", func() bool { return sent.Load() >= mark })
	halt()
	t.Logf("%d requests, %d failed", sent.Load(), failed.Load())
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed while an instance stopped; first: %v", f, sent.Load(), firstErr.Load())
	}
}

// TestStreamStaleConnectionToStoppedInstanceRetried is the deterministic core of the test
// above: the router holds an idle keep-alive connection to x when x stops (its server closes
// that connection). The next request given x finds it stale, and the redial is refused; nothing
// was sent, so it must be retried on y like any other refused connection, not answered 502.
func TestStreamStaleConnectionToStoppedInstanceRetried(t *testing.T) {
	x, y := startInstance(t, "x", nil), startInstance(t, "y", nil)
	tr := startRouter(t, Options{}, appTable([]*testInstance{x, y}, nil, 0))
	c := newClient()
	for i := 0; i < 200 && x.hits.Load() == 0; i++ { // sequential: x's connection goes back idle
		get(t, c, tr.url+"/")
	}
	if x.hits.Load() == 0 {
		t.Fatal("x never served")
	}
	x.srv.Close()
	for i := 0; i < 50; i++ {
		if code, v := get(t, c, tr.url+"/"); code != 200 || v != "y" {
			t.Fatalf("request %d after x stopped: status %d %q; want 200 from y", i, code, v)
		}
	}
}

// ---- HTTP/2 ----

func TestStreamHTTP2Cleartext(t *testing.T) {
	a := startInstance(t, "a", stHeaderEcho)
	tr := startRouter(t, Options{}, appTable([]*testInstance{a}, nil, 0))
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Protocols: &p}}
	defer c.CloseIdleConnections()

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ { // concurrent streams on one h2c connection
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(tr.url + "/h2c")
			if err != nil {
				errs <- err
				return
			}
			body := readAll(resp)
			if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				errs <- fmt.Errorf("status %d over %s: %s", resp.StatusCode, resp.Proto, body)
				return
			}
			var h http.Header
			if err := json.Unmarshal([]byte(body), &h); err != nil || h.Get("X-Forwarded-Proto") != "http" {
				errs <- fmt.Errorf("instance saw %q (%v)", body, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if a.hits.Load() != 20 {
		t.Errorf("instance hit %d times, want 20", a.hits.Load())
	}
}

// stSelfSigned writes a self-signed certificate for 127.0.0.1 and its key to dir.
func stSelfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "cutover test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestStreamHTTP2OverTLS(t *testing.T) {
	a := startInstance(t, "a", stHeaderEcho)
	certFile, keyFile, roots := stSelfSigned(t, t.TempDir())
	tbl := appTable([]*testInstance{a}, nil, 0)
	tbl.Listeners[0].CertFile, tbl.Listeners[0].KeyFile = certFile, keyFile
	tr := startRouter(t, Options{}, tbl)
	url := "https://" + tr.bound(t, tbl.Listeners[0].Addr) + "/tls"

	for _, tc := range []struct {
		name       string
		h1, h2     bool
		major      int
		negotiated string
	}{
		{"h2", true, true, 2, "h2"},
		{"http1.1", true, false, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p http.Protocols
			p.SetHTTP1(tc.h1)
			p.SetHTTP2(tc.h2)
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				Protocols:       &p,
				TLSClientConfig: &tls.Config{RootCAs: roots},
			}}
			defer c.CloseIdleConnections()
			resp, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(resp)
			if resp.StatusCode != 200 || resp.ProtoMajor != tc.major {
				t.Fatalf("status %d over %s, want 200 over HTTP/%d: %s", resp.StatusCode, resp.Proto, tc.major, body)
			}
			if resp.TLS == nil || resp.TLS.NegotiatedProtocol != tc.negotiated {
				t.Fatalf("ALPN %+v, want %q", resp.TLS, tc.negotiated)
			}
			h := stDecodeHeaders(t, body)
			if got := h.Get("X-Forwarded-Proto"); got != "https" {
				t.Errorf("instance saw X-Forwarded-Proto %q, want https", got)
			}
		})
	}
}

// TestClientGoneNeverPoisonsPooledConnections: clients that hang up while the instance is
// answering must not leave a connection with an expired deadline in the pool, where the
// next request on it would fail with 504.
func TestClientGoneNeverPoisonsPooledConnections(t *testing.T) {
	in := startInstance(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		_, _ = w.Write([]byte("blue\n"))
	})
	tr := startRouter(t, Options{}, appTable([]*testInstance{in}, nil, 0))
	for round := 0; round < 20; round++ {
		// Hang up mid-request on a batch of slow requests.
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(5+i*5)*time.Millisecond)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", tr.url+"/slow", nil)
				if resp, err := newClient().Do(req); err == nil {
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		c := newClient()
		for i := 0; i < 20; i++ {
			if code, body := get(t, c, tr.url+"/"); code != 200 {
				t.Fatalf("round %d request %d: status %d %q after clients hung up", round, i, code, body)
			}
		}
	}
}
