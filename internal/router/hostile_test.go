package router

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Hostile HTTP against a running router: raw bytes on a TCP connection to its listener, while
// well-formed clients keep using it. Every case shows that the attacker gets a 4xx or a closed
// connection (or, where RFC 9112 lets a server repair the request, as with obs-fold, that the
// repaired request is harmless), that nothing malformed reaches the instance, and that nobody
// else notices.

// seenRequest is what a recording instance saw of one request.
type seenRequest struct {
	method, path, host string
	headers            http.Header
	body               int64 // bytes of body read
	done               bool  // the body was read to its end (or failed)
}

// recordingInstance is a test instance that remembers every request it sees.
type recordingInstance struct {
	*testInstance
	mu   sync.Mutex
	reqs []seenRequest
}

func startRecorder(t *testing.T, name string) *recordingInstance {
	t.Helper()
	ri := &recordingInstance{}
	ri.testInstance = startInstance(t, name, func(w http.ResponseWriter, r *http.Request) {
		ri.mu.Lock()
		i := len(ri.reqs)
		ri.reqs = append(ri.reqs, seenRequest{method: r.Method, path: r.URL.Path, host: r.Host, headers: r.Header.Clone()})
		ri.mu.Unlock()
		n, _ := io.Copy(io.Discard, r.Body)
		ri.mu.Lock()
		ri.reqs[i].body, ri.reqs[i].done = n, true
		ri.mu.Unlock()
		_, _ = io.WriteString(w, name+"\n")
	})
	return ri
}

// attacks returns the requests seen so far other than the background load's.
func (ri *recordingInstance) attacks() []seenRequest {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	var out []seenRequest
	for _, s := range ri.reqs {
		if !strings.HasSuffix(s.path, "/load") {
			out = append(out, s)
		}
	}
	return out
}

func (ri *recordingInstance) sawPath(p string) bool {
	for _, s := range ri.attacks() {
		if s.path == p {
			return true
		}
	}
	return false
}

// hostileEnv is a router with one catch-all app served by a recording instance.
type hostileEnv struct {
	inst *recordingInstance
	tr   *testRouter
	addr string // host:port the router's listener is bound to
}

func startHostile(t *testing.T, opts Options, edit func(*Table)) *hostileEnv {
	t.Helper()
	inst := startRecorder(t, "web")
	tbl := appTable([]*testInstance{inst.testInstance}, nil, 0)
	if edit != nil {
		edit(&tbl)
	}
	tr := startRouter(t, opts, tbl)
	return &hostileEnv{inst: inst, tr: tr, addr: strings.TrimPrefix(tr.url, "http://")}
}

// backgroundLoad is well-formed GETs through the router from 4 goroutines until stopped.
type backgroundLoad struct {
	ok     atomic.Int64
	client *http.Client
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	mu     sync.Mutex
	errs   []string
}

// startLoad sends GET url with Host host until check; every answer must be 200 and want.
func startLoad(t *testing.T, url, host, want string) *backgroundLoad {
	t.Helper()
	c := newClient()
	c.Timeout = 5 * time.Second
	l := &backgroundLoad{stop: make(chan struct{}), client: c}
	deadline := time.Now().Add(15 * time.Second)
	for g := 0; g < 4; g++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; i < 20000 && time.Now().Before(deadline); i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				req, err := http.NewRequest("GET", url, nil)
				if err != nil {
					l.fail(err.Error())
					return
				}
				if host != "" {
					req.Host = host
				}
				resp, err := c.Do(req)
				if err != nil {
					l.fail(err.Error())
					continue
				}
				body := readAll(resp)
				if resp.StatusCode != http.StatusOK || body != want {
					l.fail(fmt.Sprintf("status %d body %q", resp.StatusCode, body))
					continue
				}
				l.ok.Add(1)
			}
		}()
	}
	t.Cleanup(l.halt)
	return l
}

func (l *backgroundLoad) fail(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, msg)
	}
}

func (l *backgroundLoad) halt() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	// Connections the transport dialled but never used would hold up the router's Close.
	l.client.CloseIdleConnections()
}

// check makes sure the load ran alongside the attack (a few more successes after it), stops
// it and fails the test on any error a well-formed client saw.
func (l *backgroundLoad) check(t *testing.T) {
	t.Helper()
	target := l.ok.Load() + 20
	eventually(t, 10*time.Second, "the background load to make progress", func() bool { return l.ok.Load() >= target })
	l.halt()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) > 0 {
		t.Errorf("well-formed clients saw errors during the attack: %q", l.errs)
	}
}

// rawRequest writes payload on a new connection to addr and reads what comes back: the status
// of the first response (0 if none), whether the router closed the connection, and every byte
// it sent. After a complete response it waits 300ms more: a connection the router keeps open
// reports closed=false, and a second response (a request the attacker hid in the first) shows
// up in raw.
func rawRequest(t *testing.T, addr, payload string, timeout time.Duration) (status int, closed bool, raw string) {
	t.Helper()
	var until time.Time
	return rawExchange(t, addr, payload, timeout, func() bool {
		if until.IsZero() {
			until = time.Now().Add(300 * time.Millisecond)
		}
		return time.Now().After(until)
	})
}

// rawExchange is rawRequest that, after the first response, reads on until the router hangs
// up, the timeout passes, or done (polled every 20ms) reports true.
func rawExchange(t *testing.T, addr, payload string, timeout time.Duration, done func() bool) (status int, closed bool, raw string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	deadline := time.Now().Add(timeout)
	_ = c.SetDeadline(deadline)
	go func() { _, _ = io.WriteString(c, payload) }() // fails once the router hangs up: fine
	var buf bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &buf))
	ended := func(err error) bool { return err == nil || !isTimeout(err) }
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isTimeout(err) {
			// Not HTTP/1 (an HTTP/2 GOAWAY, say): read on to see whether the router hangs up.
			_, err = io.Copy(io.Discard, br)
		}
		return 0, ended(err), buf.String()
	}
	status = resp.StatusCode
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return status, ended(err), buf.String()
	}
	var scratch [4096]byte
	for {
		next := time.Now().Add(20 * time.Millisecond)
		if next.After(deadline) {
			next = deadline
		}
		_ = c.SetReadDeadline(next)
		_, err := br.Read(scratch[:])
		switch {
		case err == nil:
		case !isTimeout(err):
			return status, true, buf.String()
		case done() || time.Now().After(deadline):
			return status, false, buf.String()
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rejected reports whether the attacker was turned away: a 4xx, or no response and a closed
// connection, or one of the extra statuses net/http uses for protocol errors (501 unknown
// transfer coding, 505 HTTP version) followed by a closed connection.
func rejected(status int, closed bool, extra ...int) bool {
	switch {
	case status >= 400 && status < 500:
		return true
	case status == 0:
		return closed
	default:
		return closed && slices.Contains(extra, status)
	}
}

func firstLine(raw string) string {
	line, _, _ := strings.Cut(raw, "\n")
	if len(line) > 120 {
		line = line[:120] + "..."
	}
	return strings.TrimSpace(line)
}

// TestHostileSmugglingCLTE sends requests framed both by Content-Length and by
// Transfer-Encoding, whose chunked body ends early and hides a second request. Whichever
// framing the router picks, the hidden request must never reach the instance: RFC 9112 6.3
// requires a server that gets both headers to close the connection after responding (or to
// reject the request), because an intermediary in front of it may have framed the bytes by
// Content-Length and seen only one request.
func TestHostileSmugglingCLTE(t *testing.T) {
	env := startHostile(t, Options{}, nil)
	hidden := func(i int) string { return fmt.Sprintf("GET /smuggled-%d HTTP/1.1\r\nHost: x\r\n\r\n", i) }
	cases := []struct {
		name string
		head func(hidden string) string
	}{
		{"CL then TE", func(string) string {
			return "POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
		}},
		{"TE then CL", func(string) string {
			return "POST /te-cl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
		}},
		{"CL covers the hidden request", func(h string) string {
			return fmt.Sprintf("POST /cl-long HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n", 5+len(h))
		}},
		{"HTTP/1.0 with both", func(string) string {
			return "POST /http10 HTTP/1.0\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			load := startLoad(t, env.tr.url+"/load", "", "web")
			h := hidden(i)
			smuggled := fmt.Sprintf("/smuggled-%d", i)
			// A well-formed request after the hidden one: once the instance has it, whatever
			// the router made of the bytes before it has happened.
			sentinel := fmt.Sprintf("/sentinel-%d", i)
			payload := tc.head(h) + "0\r\n\r\n" + h + "GET " + sentinel + " HTTP/1.1\r\nHost: x\r\n\r\n"
			status, closed, raw := rawExchange(t, env.addr, payload, 3*time.Second, func() bool { return env.inst.sawPath(sentinel) })
			t.Logf("status %d closed %v, %d response(s): %q", status, closed, strings.Count(raw, "HTTP/1."), firstLine(raw))
			if !rejected(status, closed) && status != http.StatusOK {
				t.Errorf("status %d (closed %v), want a 4xx, a closed connection, or the outer request served", status, closed)
			}
			if env.inst.sawPath(smuggled) {
				t.Errorf("the instance received the request hidden in the body (status %d, closed %v, %d responses on the connection); "+
					"a request with both Content-Length and Transfer-Encoding must be rejected or its connection closed after the response",
					status, closed, strings.Count(raw, "HTTP/1."))
			}
			load.check(t)
		})
	}
}

// TestHostileSmugglingAmbiguousFraming covers framings the router must refuse outright: a
// transfer coding it does not know, chunked twice, and two different Content-Lengths.
func TestHostileSmugglingAmbiguousFraming(t *testing.T) {
	env := startHostile(t, Options{}, nil)
	cases := []struct{ name, payload string }{
		{"TE chunked twice", "POST /te-twice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"TE chunked, chunked", "POST /te-list HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"TE xchunked", "POST /te-x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"TE identity", "POST /te-identity HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc"},
		{"TE with a space before the colon", "POST /te-space HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"two different Content-Lengths", "POST /cl-twice HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc"},
		{"Content-Length list", "POST /cl-list HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 40\r\n\r\nabc"},
		{"negative Content-Length", "POST /cl-neg HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\nabc"},
		{"signed Content-Length", "POST /cl-plus HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			load := startLoad(t, env.tr.url+"/load", "", "web")
			status, closed, raw := rawRequest(t, env.addr, tc.payload, 3*time.Second)
			t.Logf("status %d closed %v: %q", status, closed, firstLine(raw))
			if !rejected(status, closed, http.StatusNotImplemented) {
				t.Errorf("status %d (closed %v), want 400 (or 501 for an unknown transfer coding) or a closed connection", status, closed)
			}
			if got := env.inst.attacks(); len(got) != 0 {
				t.Errorf("the instance received %d ambiguously framed request(s), first %s %s", len(got), got[0].method, got[0].path)
			}
			load.check(t)
		})
	}
}

// TestHostileHeaderInjection sends CR, LF and NUL inside header values and obsolete line
// folding. A bare CR or a NUL is rejected; obs-fold is replaced by a space (RFC 9112 5.2
// allows either), so no injected field ever reaches the instance as a field of its own, and
// nothing the instance receives holds a CR or LF.
func TestHostileHeaderInjection(t *testing.T) {
	env := startHostile(t, Options{}, nil)
	cases := []struct {
		name, payload string
		mustReject    bool
	}{
		{"bare CR in a value", "GET /cr HTTP/1.1\r\nHost: x\r\nX-A: foo\rX-Injected: bar\r\n\r\n", true},
		{"bare CR ending a value", "GET /cr-end HTTP/1.1\r\nHost: x\r\nX-A: foo\r\rX-Injected: bar\r\n\r\n", true},
		{"NUL in a value", "GET /nul HTTP/1.1\r\nHost: x\r\nX-A: foo\x00X-Injected: bar\r\n\r\n", true},
		{"CR in a name", "GET /cr-name HTTP/1.1\r\nHost: x\r\nX-A\rX-Injected: bar\r\n\r\n", true},
		{"space before the colon", "GET /space HTTP/1.1\r\nHost: x\r\nX-Injected : bar\r\n\r\n", true},
		{"obs-fold", "GET /fold HTTP/1.1\r\nHost: x\r\nX-A: foo\r\n X-Injected: bar\r\n\r\n", false},
		{"obs-fold with a tab", "GET /fold-tab HTTP/1.1\r\nHost: x\r\nX-A: foo\r\n\tX-Injected: bar\r\n\r\n", false},
		{"obs-fold before the first field", "GET /fold-first HTTP/1.1\r\n X-Injected: bar\r\nHost: x\r\n\r\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			load := startLoad(t, env.tr.url+"/load", "", "web")
			status, closed, raw := rawRequest(t, env.addr, tc.payload, 3*time.Second)
			t.Logf("status %d closed %v: %q", status, closed, firstLine(raw))
			ok := rejected(status, closed)
			if tc.mustReject && !ok {
				t.Errorf("status %d (closed %v), want 400 or a closed connection", status, closed)
			}
			if !ok && status != http.StatusOK {
				t.Errorf("status %d, want 400, a closed connection or the folded request served", status)
			}
			for _, s := range env.inst.attacks() {
				if _, injected := s.headers["X-Injected"]; injected {
					t.Errorf("the instance saw an injected X-Injected field on %s", s.path)
				}
				for k, vv := range s.headers {
					for _, v := range vv {
						if strings.ContainsAny(k+v, "\r\n\x00") {
							t.Errorf("the instance saw %s: %q holding CR, LF or NUL", k, v)
						}
					}
				}
			}
			load.check(t)
		})
	}
	// A fold that was served reached the instance as one field with a space.
	for _, s := range env.inst.attacks() {
		if s.path == "/fold" {
			if got := s.headers.Get("X-A"); got != "foo X-Injected: bar" {
				t.Errorf("folded X-A reached the instance as %q", got)
			}
		}
	}
}

// TestHostileBareLFIsOneLineEnd: net/http reads a bare LF in the head as a line end, which
// RFC 9112 2.2 permits. The router must then agree with itself: it frames what it forwards
// with CRLF, still replaces X-Forwarded-For from an untrusted client, and a second Host
// smuggled in this way is refused.
func TestHostileBareLFIsOneLineEnd(t *testing.T) {
	env := startHostile(t, Options{}, nil)
	load := startLoad(t, env.tr.url+"/load", "", "web")

	status, closed, raw := rawRequest(t, env.addr, "GET /lf-xff HTTP/1.1\r\nHost: x\r\nX-A: foo\nX-Forwarded-For: 203.0.113.7\r\n\r\n", 3*time.Second)
	t.Logf("bare LF before X-Forwarded-For: status %d closed %v: %q", status, closed, firstLine(raw))
	for _, s := range env.inst.attacks() {
		if got := s.headers.Get("X-Forwarded-For"); strings.Contains(got, "203.0.113.7") {
			t.Errorf("an untrusted client set X-Forwarded-For %q through a bare LF", got)
		}
		if got := s.headers.Get("X-A"); strings.ContainsAny(got, "\r\n") {
			t.Errorf("X-A reached the instance holding a line break: %q", got)
		}
	}

	status, closed, raw = rawRequest(t, env.addr, "GET /lf-host HTTP/1.1\r\nHost: x\r\nX-A: foo\nHost: evil.example\r\n\r\n", 3*time.Second)
	t.Logf("bare LF before a second Host: status %d closed %v: %q", status, closed, firstLine(raw))
	if !rejected(status, closed) {
		t.Errorf("a second Host behind a bare LF: status %d (closed %v), want 400", status, closed)
	}
	if env.inst.sawPath("/lf-host") {
		t.Errorf("the instance received a request with two Host fields")
	}
	load.check(t)
}

// TestHostileOversizedHeaders: a head beyond MaxHeaderBytes gets 431 and never reaches the
// instance; one within it is served.
func TestHostileOversizedHeaders(t *testing.T) {
	env := startHostile(t, Options{MaxHeaderBytes: 8 << 10}, nil)
	load := startLoad(t, env.tr.url+"/load", "", "web")
	head := func(path string, size int) string {
		var b strings.Builder
		b.WriteString("GET " + path + " HTTP/1.1\r\nHost: x\r\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "X-Pad-%d: %s\r\n", i, strings.Repeat("a", 1000))
		}
		b.WriteString("\r\n")
		return b.String()
	}
	status, closed, raw := rawRequest(t, env.addr, head("/small", 4<<10), 3*time.Second)
	if status != http.StatusOK {
		t.Fatalf("4 KiB of headers: status %d (closed %v) %q, want 200", status, closed, firstLine(raw))
	}
	status, closed, raw = rawRequest(t, env.addr, head("/huge", 64<<10), 3*time.Second)
	t.Logf("64 KiB of headers: status %d closed %v: %q", status, closed, firstLine(raw))
	if status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers with MaxHeaderBytes 8 KiB: status %d (closed %v), want 431", status, closed)
	}
	if env.inst.sawPath("/huge") {
		t.Errorf("the instance received the oversized head")
	}
	if !env.inst.sawPath("/small") {
		t.Errorf("the instance never received the 4 KiB head")
	}
	load.check(t)
}

// TestHostileOversizedBodies: with MaxBodyBytes 1024, a declared 1 MB body is refused before
// anything reaches the instance, and a chunked body that grows past the limit is cut off with
// 413 after at most the limit was forwarded. Bodies of exactly the limit go through whole.
func TestHostileOversizedBodies(t *testing.T) {
	const limit = 1024
	env := startHostile(t, Options{}, func(tbl *Table) { tbl.Apps[0].Limits.MaxBodyBytes = limit })
	chunked := func(path string, chunks, size int) string {
		var b strings.Builder
		b.WriteString("POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		for i := 0; i < chunks; i++ {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", size, strings.Repeat("b", size))
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	bodyOf := func(path string) (seenRequest, bool) {
		for _, s := range env.inst.attacks() {
			if s.path == path {
				return s, true
			}
		}
		return seenRequest{}, false
	}

	t.Run("exact limit", func(t *testing.T) {
		load := startLoad(t, env.tr.url+"/load", "", "web")
		payload := fmt.Sprintf("POST /cl-exact HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", limit, strings.Repeat("a", limit))
		if status, _, raw := rawRequest(t, env.addr, payload, 3*time.Second); status != http.StatusOK {
			t.Fatalf("Content-Length %d: status %d %q, want 200", limit, status, firstLine(raw))
		}
		if status, _, raw := rawRequest(t, env.addr, chunked("/chunked-exact", 4, limit/4), 3*time.Second); status != http.StatusOK {
			t.Fatalf("chunked %d bytes: status %d %q, want 200", limit, status, firstLine(raw))
		}
		for _, p := range []string{"/cl-exact", "/chunked-exact"} {
			if s, ok := bodyOf(p); !ok || !s.done || s.body != limit {
				t.Errorf("%s: the instance read %d body bytes (seen %v, done %v), want %d", p, s.body, ok, s.done, limit)
			}
		}
		load.check(t)
	})

	t.Run("declared 1 MB", func(t *testing.T) {
		load := startLoad(t, env.tr.url+"/load", "", "web")
		payload := "POST /cl-big HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" + strings.Repeat("a", 4096)
		status, closed, raw := rawRequest(t, env.addr, payload, 3*time.Second)
		t.Logf("status %d closed %v: %q", status, closed, firstLine(raw))
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("Content-Length 1 MB over a %d limit: status %d (closed %v), want 413", limit, status, closed)
		}
		if _, ok := bodyOf("/cl-big"); ok {
			t.Errorf("the instance received a request whose declared body exceeds the limit")
		}
		load.check(t)
	})

	t.Run("declared 1 MB expecting 100-continue", func(t *testing.T) {
		load := startLoad(t, env.tr.url+"/load", "", "web")
		payload := "POST /cl-big-expect HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\nExpect: 100-continue\r\n\r\n"
		status, closed, raw := rawRequest(t, env.addr, payload, 3*time.Second)
		t.Logf("status %d closed %v: %q", status, closed, firstLine(raw))
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("Content-Length 1 MB with Expect: 100-continue: status %d (closed %v), want 413 at once", status, closed)
		}
		if _, ok := bodyOf("/cl-big-expect"); ok {
			t.Errorf("the instance received a request whose declared body exceeds the limit")
		}
		load.check(t)
	})

	t.Run("chunked past the limit", func(t *testing.T) {
		load := startLoad(t, env.tr.url+"/load", "", "web")
		status, closed, raw := rawRequest(t, env.addr, chunked("/chunked-big", 32, 512), 3*time.Second)
		t.Logf("status %d closed %v: %q", status, closed, firstLine(raw))
		if status != http.StatusRequestEntityTooLarge && !(status == 0 && closed) {
			t.Errorf("16 KiB chunked over a %d limit: status %d (closed %v), want 413 or a closed connection", limit, status, closed)
		}
		if s, ok := bodyOf("/chunked-big"); ok {
			eventually(t, 5*time.Second, "the instance to finish reading the cut-off body", func() bool {
				s, _ = bodyOf("/chunked-big")
				return s.done
			})
			if s.body > limit {
				t.Errorf("the instance received %d body bytes, more than the %d limit", s.body, limit)
			}
		}
		load.check(t)
	})
}

// TestHostileSlowloris opens 50 connections that trickle a request head one byte every
// 100ms. Each must be closed about ReadHeaderTimeout after it opened, none may reach the
// instance, and well-formed clients keep being served throughout.
func TestHostileSlowloris(t *testing.T) {
	const readHeaderTimeout = 300 * time.Millisecond
	env := startHostile(t, Options{ReadHeaderTimeout: readHeaderTimeout}, nil)
	load := startLoad(t, env.tr.url+"/load", "", "web")

	const n = 50
	heads := []string{
		"GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 100), // stalls in the headers
		"GET /slow-line-" + strings.Repeat("s", 100),                           // stalls in the request line
	}
	type result struct {
		closed  bool
		elapsed time.Duration
		got     string
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			c, err := net.DialTimeout("tcp", env.addr, 2*time.Second)
			if err != nil {
				results[i] = result{got: "dial: " + err.Error()}
				return
			}
			defer c.Close()
			_ = c.SetReadDeadline(start.Add(8 * time.Second))
			stop := make(chan struct{})
			defer close(stop)
			go func() { // one byte every 100ms until the router hangs up or the reader gives up
				head := heads[i%len(heads)]
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for k := 0; k < len(head); k++ {
					if _, err := c.Write([]byte{head[k]}); err != nil {
						return
					}
					select {
					case <-stop:
						return
					case <-tick.C:
					}
				}
			}()
			got, err := io.ReadAll(c) // until the router closes, or the 8s deadline
			results[i] = result{closed: !isTimeout(err), elapsed: time.Since(start), got: string(got)}
		}()
	}
	wg.Wait()
	var slowest time.Duration
	for i, r := range results {
		if !r.closed {
			t.Errorf("connection %d still open after %v (got %q)", i, r.elapsed, r.got)
			continue
		}
		// Well under the 10s default and the 13s the trickle would take, with room for a
		// loaded machine running the race detector.
		if r.elapsed < readHeaderTimeout-50*time.Millisecond || r.elapsed > 6*time.Second {
			t.Errorf("connection %d closed after %v, want about the %v ReadHeaderTimeout", i, r.elapsed, readHeaderTimeout)
		}
		if strings.HasPrefix(r.got, "HTTP/1.1 2") {
			t.Errorf("connection %d got a success for an unfinished head: %q", i, firstLine(r.got))
		}
		slowest = max(slowest, r.elapsed)
	}
	t.Logf("%d slow connections closed, the last after %v", n, slowest)
	for _, s := range env.inst.attacks() {
		t.Errorf("the instance received %s from a slow connection", s.path)
	}
	load.check(t)
}

// TestHostileMalformedRequestLines: broken request lines get a 4xx (or the protocol-level 505
// for an unknown HTTP version) or a closed connection, never reach the instance, and never
// disturb other clients.
func TestHostileMalformedRequestLines(t *testing.T) {
	// A head shorter than "PRI * HTTP/2.0" (14 bytes) opening a connection is held until
	// ReadHeaderTimeout: with cleartext HTTP/2 enabled, net/http first waits for enough bytes
	// to rule out the h2c preface. Keep that wait short here.
	env := startHostile(t, Options{MaxHeaderBytes: 8 << 10, ReadHeaderTimeout: time.Second}, nil)
	cases := []struct{ name, payload string }{
		{"method only", "GET\r\n\r\n"},
		{"no version", "GET /no-version\r\nHost: x\r\n\r\n"},
		{"HTTP/9.9", "GET /v99 HTTP/9.9\r\nHost: x\r\n\r\n"},
		{"HTTP/1.1 with trailing junk", "GET /junk HTTP/1.1 junk\r\nHost: x\r\n\r\n"},
		{"lowercase version", "GET /lower http/1.1\r\nHost: x\r\n\r\n"},
		{"NUL in the path", "GET /\x00nul HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"control character in the path", "GET /\x01ctl HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"bad percent escape", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"non-ASCII method", "G\xc3\x89T /utf8 HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"separator in the method", "GE(T /paren HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"leading space", " GET /lead HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"huge URI", "GET /" + strings.Repeat("u", 64<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"missing Host", "GET /no-host HTTP/1.1\r\n\r\n"},
		{"two Host fields", "GET /two-hosts HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
		{"malformed Host", "GET /bad-host HTTP/1.1\r\nHost: x y\r\n\r\n"},
		{"binary garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n"},
		{"h2c preface then garbage", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			load := startLoad(t, env.tr.url+"/load", "", "web")
			status, closed, raw := rawRequest(t, env.addr, tc.payload, 3*time.Second)
			t.Logf("status %d closed %v: %q", status, closed, firstLine(raw))
			if !rejected(status, closed, http.StatusHTTPVersionNotSupported) {
				t.Errorf("status %d (closed %v), want a 4xx or a closed connection", status, closed)
			}
			if got := env.inst.attacks(); len(got) != 0 {
				t.Errorf("the instance received %d malformed request(s), first %s %q", len(got), got[0].method, got[0].path)
			}
			load.check(t)
		})
	}
	if code, body := get(t, newClient(), env.tr.url+"/after"); code != http.StatusOK || body != "web" {
		t.Fatalf("after the malformed requests: %d %q", code, body)
	}
}

// TestHostileConnectIsRefused: the router is no forward proxy and cannot open a tunnel, so a
// CONNECT must be refused. A 2xx to CONNECT tells the client, and any intermediary in front of
// the router, that the connection is now a blind tunnel (RFC 9110 9.3.6, which also forbids
// Content-Length in that answer); if the router then keeps parsing the connection as HTTP,
// whatever the attacker sends "through the tunnel" becomes requests the front end never
// inspected.
func TestHostileConnectIsRefused(t *testing.T) {
	env := startHostile(t, Options{}, nil)
	load := startLoad(t, env.tr.url+"/load", "", "web")
	payload := "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n" +
		"GET /through-tunnel HTTP/1.1\r\nHost: x\r\n\r\n"
	status, closed, raw := rawExchange(t, env.addr, payload, 3*time.Second, func() bool { return env.inst.sawPath("/through-tunnel") })
	t.Logf("status %d closed %v, %d response(s): %q", status, closed, strings.Count(raw, "HTTP/1."), firstLine(raw))
	if !rejected(status, closed) {
		t.Errorf("CONNECT: status %d (closed %v), want 405 (or another 4xx): the router cannot tunnel", status, closed)
	}
	for _, s := range env.inst.attacks() {
		switch {
		case s.method == http.MethodConnect:
			t.Errorf("the instance received CONNECT %s for Host %s", s.path, s.host)
		case s.path == "/through-tunnel" && status/100 == 2:
			t.Errorf("bytes sent after a CONNECT the router answered %d reached the instance as a request", status)
		}
	}
	load.check(t)
}

// shopTable routes only shop.example.com/api to inst.
func shopTable(inst *testInstance) Table {
	tbl := appTable([]*testInstance{inst}, nil, 0)
	tbl.Apps[0].Routes = []Route{{Listener: testListen, Host: "shop.example.com", PathPrefix: "/api"}}
	return tbl
}

// TestHostileAbsoluteForm: a request in absolute form routes by the URL's authority, which
// net/http makes the request's Host, so the app chosen and the Host the instance sees always
// agree; whatever the URL names, only the table's instance is ever reached.
func TestHostileAbsoluteForm(t *testing.T) {
	t.Run("catch-all", func(t *testing.T) {
		env := startHostile(t, Options{}, nil)
		load := startLoad(t, env.tr.url+"/load", "", "web")
		status, closed, raw := rawRequest(t, env.addr, "GET http://evil.example/abs HTTP/1.1\r\nHost: shop.example.com\r\n\r\n", 3*time.Second)
		t.Logf("status %d closed %v: %q", status, closed, firstLine(raw))
		if status != http.StatusOK {
			t.Errorf("absolute form on a catch-all route: status %d, want 200 from the instance", status)
		}
		got := env.inst.attacks()
		if len(got) != 1 || got[0].path != "/abs" || got[0].host != "evil.example" {
			t.Errorf("the instance saw %+v, want one GET /abs for Host evil.example (the URL's authority)", got)
		}
		load.check(t)
	})
	t.Run("host route", func(t *testing.T) {
		inst := startRecorder(t, "shop")
		tr := startRouter(t, Options{}, shopTable(inst.testInstance))
		addr := strings.TrimPrefix(tr.url, "http://")
		load := startLoad(t, tr.url+"/api/load", "shop.example.com", "shop")
		status, _, raw := rawRequest(t, addr, "GET http://evil.example/api/x HTTP/1.1\r\nHost: shop.example.com\r\n\r\n", 3*time.Second)
		if status != http.StatusNotFound {
			t.Errorf("absolute form naming another host: status %d %q, want 404", status, firstLine(raw))
		}
		status, _, raw = rawRequest(t, addr, "GET http://shop.example.com/api/y HTTP/1.1\r\nHost: evil.example\r\n\r\n", 3*time.Second)
		if status != http.StatusOK {
			t.Errorf("absolute form naming the routed host: status %d %q, want 200", status, firstLine(raw))
		}
		got := inst.attacks()
		if len(got) != 1 || got[0].path != "/api/y" || got[0].host != "shop.example.com" {
			t.Errorf("the instance saw %+v, want one GET /api/y for Host shop.example.com", got)
		}
		load.check(t)
	})
}

// TestHostileUnknownHostOrPath: anything but shop.example.com/api gets a short plain-text 404
// that echoes nothing of the request, and never reaches the instance.
func TestHostileUnknownHostOrPath(t *testing.T) {
	inst := startRecorder(t, "shop")
	tr := startRouter(t, Options{}, shopTable(inst.testInstance))
	load := startLoad(t, tr.url+"/api/load", "shop.example.com", "shop")
	c := newClient()
	do := func(host, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("GET", tr.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s%s: %v", host, path, err)
		}
		return resp, readAll(resp)
	}
	for _, tc := range []struct{ host, path string }{
		{"other.example.com", "/api"},
		{"example.com", "/api"},
		{"a.shop.example.com", "/api"},
		{"shop.example.com.evil", "/api"},
		{"127.0.0.1", "/api"},
		{"shop.example.com", "/"},
		{"shop.example.com", "/ap"},
		{"shop.example.com", "/apix"},
		{"shop.example.com", "/API"},
		{"shop.example.com", "/static/api"},
		{"evil.example", "/api/%3Cscript%3E"},
	} {
		resp, body := do(tc.host, tc.path)
		switch {
		case resp.StatusCode != http.StatusNotFound:
			t.Errorf("%s%s: status %d, want 404", tc.host, tc.path, resp.StatusCode)
		case !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"):
			t.Errorf("%s%s: Content-Type %q, want text/plain", tc.host, tc.path, resp.Header.Get("Content-Type"))
		case resp.Header.Get("X-Content-Type-Options") != "nosniff":
			t.Errorf("%s%s: no X-Content-Type-Options: nosniff", tc.host, tc.path)
		case len(body) == 0 || len(body) > 200:
			t.Errorf("%s%s: 404 body of %d bytes, want a short message", tc.host, tc.path, len(body))
		case strings.ContainsAny(body, "<>") || strings.Contains(body, "example"):
			t.Errorf("%s%s: 404 body %q echoes the request", tc.host, tc.path, body)
		}
	}
	for _, tc := range []struct{ host, path string }{
		{"shop.example.com", "/api"},
		{"shop.example.com", "/api/v1/items"},
		{"SHOP.Example.COM", "/api/"},
		{"shop.example.com.", "/api"},
		{"shop.example.com:8080", "/api"},
	} {
		if resp, body := do(tc.host, tc.path); resp.StatusCode != http.StatusOK || body != "shop" {
			t.Errorf("%s%s: %d %q, want 200 from the instance", tc.host, tc.path, resp.StatusCode, body)
		}
	}
	if got := inst.attacks(); len(got) != 5 {
		t.Errorf("the instance saw %d requests, want only the 5 routed ones", len(got))
	}
	load.check(t)
}
