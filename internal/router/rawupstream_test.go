package router

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// probePath is the path of FuzzRouterConn's well-formed requests.
const probePath = "/__cutover_fuzz_probe"

// rawUpstream is an instance that records every byte the router sends it, per connection,
// and every request its net/http server hands to the handler, so the two can be compared:
// what the router forwards must read the same to its own strict parser and to net/http.
type rawUpstream struct {
	addr    string
	handled atomic.Int64 // requests handed to the handler, probes included

	mu    sync.Mutex
	conns []*rawConn
	seen  []sentRequest // requests other than probes since startInput, in order
	// What scan and handled counted at startInput: an input is checked on its own, even
	// after one that failed half-way.
	baseHeads, baseHandled int64
	retired                int // heads on connections scan dropped
}

func startRawUpstream(f *testing.F) *rawUpstream {
	u := &rawUpstream{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.handled.Add(1)
		if r.URL.Path != probePath {
			u.mu.Lock()
			u.seen = append(u.seen, sentRequest{method: r.Method, uri: r.RequestURI})
			u.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "instance\n")
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	srv.Listener = &rawListener{Listener: ln, up: u}
	srv.Start()
	f.Cleanup(srv.Close)
	u.addr = ln.Addr().String()
	return u
}

// startInput forgets the requests of the previous input.
func (u *rawUpstream) startInput() {
	heads, _ := u.scan()
	u.mu.Lock()
	u.seen = nil
	u.baseHeads, u.baseHandled = int64(heads), u.handled.Load()
	u.mu.Unlock()
}

// check waits (at most 5s) until every byte the router sent the instance has been read:
// the router has nothing in flight, and each connection is either in its idle pool (so
// every request on it was answered, hence read whole) or has been read to its end. Then
// net/http must have handed to the handler every request the router's strict parser finds
// in those bytes, which it must not refuse; and the requests the handler saw must be, in
// order, among those sent.
func (u *rawUpstream) check(t *testing.T, b *backend, sent []sentRequest, raw []byte) {
	t.Helper()
	deadline, spins := time.Now().Add(5*time.Second), 0
	u.acceptBarrier(t)
	for !u.atRest(b) {
		if time.Now().After(deadline) {
			t.Fatalf("the router's connections to the instance never came to rest after input %q", clip(raw))
		}
		pause(&spins)
	}
	for {
		heads, bad := u.scan()
		if bad != "" {
			t.Fatalf("the router sent the instance a request its own parser refuses: %s\ninput: %q", bad, clip(raw))
		}
		u.mu.Lock()
		forwarded, handled := int64(heads)-u.baseHeads, u.handled.Load()-u.baseHandled
		u.mu.Unlock()
		if forwarded == handled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the router forwarded %d requests, net/http handed %d to the handler: the instance refused what the router accepted. Input: %q",
				forwarded, handled, clip(raw))
		}
		pause(&spins)
	}
	u.mu.Lock()
	seen := u.seen
	u.mu.Unlock()
	j := 0
	for _, s := range seen {
		for j < len(sent) && sent[j] != s {
			j++
		}
		if j == len(sent) {
			t.Fatalf("the instance received %s %q, which is not a request the client sent (in order): sent %q, instance saw %q\ninput: %q",
				s.method, s.uri, sent, seen, clip(raw))
		}
		j++
	}
}

// acceptBarrier returns once the instance's server has accepted every connection dialled
// before the call: it dials one more and waits for it, as a listener accepts in order.
func (u *rawUpstream) acceptBarrier(t *testing.T) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", u.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	me, spins := nc.LocalAddr().String(), 0
	for deadline := time.Now().Add(5 * time.Second); ; pause(&spins) {
		u.mu.Lock()
		conns := u.conns
		u.mu.Unlock()
		for i := len(conns) - 1; i >= 0; i-- {
			if conns[i].RemoteAddr().String() == me {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the instance's server did not accept a connection within 5s")
		}
	}
}

// pause yields between two polls of a condition that is usually met within microseconds:
// the first hundred times it only lets other goroutines run, then it sleeps 100µs.
func pause(spins *int) {
	if *spins++; *spins < 100 {
		runtime.Gosched()
		return
	}
	time.Sleep(100 * time.Microsecond)
}

// atRest reports whether b has nothing in flight and every connection to the instance is
// in b's idle pool or has been read to its end.
func (u *rawUpstream) atRest(b *backend) bool {
	b.mu.Lock()
	busy := len(b.busy) + len(b.tunnels)
	pooled := map[string]bool{}
	for _, c := range b.idle {
		pooled[c.nc.LocalAddr().String()] = true
	}
	b.mu.Unlock()
	if busy > 0 {
		return false
	}
	u.mu.Lock()
	conns := u.conns
	u.mu.Unlock()
	for _, c := range conns {
		if !c.ended.Load() && !pooled[c.RemoteAddr().String()] {
			return false
		}
	}
	return true
}

// scan parses what each connection received since the last scan and returns the number of
// request heads read so far on all connections, and the first refusal, if any. Connections
// read to their end are parsed one last time and dropped, their heads kept in the count.
func (u *rawUpstream) scan() (heads int, bad string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	live := u.conns[:0]
	for _, c := range u.conns {
		ended := c.ended.Load() // before the scan: nothing arrives after it
		n, b := c.scan()
		if bad == "" {
			bad = b
		}
		if ended && b == "" {
			u.retired += n
			continue
		}
		heads += n
		live = append(live, c)
	}
	clear(u.conns[len(live):])
	u.conns = live
	return heads + u.retired, bad
}

// rawListener records its connections with their reads.
type rawListener struct {
	net.Listener
	up *rawUpstream
}

func (l *rawListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &rawConn{Conn: nc}
	l.up.mu.Lock()
	l.up.conns = append(l.up.conns, c)
	l.up.mu.Unlock()
	return c, nil
}

// rawConn is one connection from the router, with the bytes not yet parsed by scan.
type rawConn struct {
	net.Conn
	mu      sync.Mutex
	in      []byte      // received, from the start of the first request not yet complete
	heads   int         // complete requests before in
	pending bool        // in starts with a complete head whose body has not all arrived
	bad     string      // the first thing the strict parser refused
	ended   atomic.Bool // read to its end, or closed by the server
}

func (c *rawConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in = append(c.in, p[:n]...)
	c.mu.Unlock()
	if err != nil && !isTimeout(err) { // net/http interrupts its own reads with a past deadline
		c.ended.Store(true)
	}
	return n, err
}

func (c *rawConn) Close() error {
	c.ended.Store(true)
	return c.Conn.Close()
}

// scan consumes the complete requests in c.in. An OPTIONS * request is not counted: net/http
// answers it itself, without the handler.
func (c *rawConn) scan() (heads int, bad string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.bad == "" {
		c.pending = false
		src := bytes.NewReader(c.in)
		br := bufio.NewReaderSize(src, 64<<10)
		hr, err := readRequestHead(br, 1<<20, &reqState{})
		if err != nil {
			var he *h1Error
			if errors.As(err, &he) {
				c.bad = fmt.Sprintf("%s in %q", he.msg, clip(c.in))
			}
			break
		}
		head := c.in[:len(c.in)-src.Len()-br.Buffered()]
		if hasField(head, "Content-Length") && hasField(head, "Transfer-Encoding") {
			c.bad = fmt.Sprintf("both Content-Length and Transfer-Encoding in %q", head)
			break
		}
		counted := hr.req.Method != http.MethodOptions || hr.req.RequestURI != "*"
		c.pending = counted
		switch {
		case hr.chunked:
			_, err = io.Copy(io.Discard, newChunkedBody(br))
		case hr.req.ContentLength > 0:
			_, err = io.CopyN(io.Discard, br, hr.req.ContentLength)
		}
		if err != nil {
			break // the body has not all arrived
		}
		c.pending = false
		if counted {
			c.heads++
		}
		c.in = c.in[len(c.in)-src.Len()-br.Buffered():]
	}
	heads = c.heads
	if c.pending {
		heads++
	}
	return heads, c.bad
}
