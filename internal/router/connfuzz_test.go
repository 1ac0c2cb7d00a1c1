package router

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// FuzzRouterConn writes arbitrary bytes as a client connection to a real router listener on
// 127.0.0.1, in front of a real instance (an httptest server whose connections are recorded
// byte for byte), then half-closes:
//
//	go test -run '^$' -fuzz '^FuzzRouterConn$' -fuzztime 60s -parallel 1 ./internal/router/
//
// Properties: the router never panics, not even inside a handler, where it would recover.
// It answers with well-formed HTTP/1.1 responses, at most one per request it read, and
// closes: nothing else comes back, and it never leaves the connection hanging. Every request
// reaching the instance is one the client sent, in order (no request hidden in a body or a
// header reaches it), framed strictly: the router's own parser accepts it (CRLF only, one
// Host, never Content-Length with Transfer-Encoding) and net/http, behind it, hands exactly
// as many requests to its handler. A well-formed request on another connection, sent
// meanwhile, is served. Input that opens with the whole HTTP/2 preface is skipped: it goes
// to net/http's h2c server, not to the parser under test.
func FuzzRouterConn(f *testing.F) {
	env := startConnFuzz(f)
	for _, s := range h1Seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if bytes.HasPrefix(raw, h2Preface) {
			return // handed to net/http's HTTP/2 server, which takes a second to hang up
		}
		env.up.startInput()
		probe := make(chan error, 1)
		c, err := net.DialTimeout("tcp", env.addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() { _, _ = c.Write(raw); _ = c.(*net.TCPConn).CloseWrite() }() // fails once the router hangs up: fine
		go func() { probe <- env.probe() }()
		got, err := io.ReadAll(c)
		reset := errors.Is(err, syscall.ECONNRESET) // a close with unread input: what was sent may be cut
		if err != nil && !reset {
			t.Fatalf("the router neither finished answering nor closed (%v); %d bytes back: %q\ninput: %q", err, len(got), clip(got), clip(raw))
		}
		sent := clientRequests(raw, env.maxHead)
		checkResponses(t, got, sent, reset, raw)
		if err := <-probe; err != nil {
			t.Fatalf("a well-formed request on another connection failed after this input: %v\ninput: %q", err, clip(raw))
		}
		if msg := env.panics.Load(); msg != nil {
			t.Fatalf("the router recovered a panic: %s\ninput: %q", *msg, clip(raw))
		}
		env.up.check(t, env.backend(t), sent, raw)
	})
}

// connFuzzEnv is FuzzRouterConn's router and instance, built once per fuzzing process.
type connFuzzEnv struct {
	up      *rawUpstream
	router  *Router
	addr    string // the router's listener
	maxHead int
	client  *http.Client
	panics  atomic.Pointer[string]
}

func startConnFuzz(f *testing.F) *connFuzzEnv {
	env := &connFuzzEnv{up: startRawUpstream(f), maxHead: 8 << 10}
	opts := Options{Logger: slog.New(&panicLog{to: &env.panics}), ReadHeaderTimeout: 2 * time.Second,
		IdleTimeout: 2 * time.Second, MaxHeaderBytes: env.maxHead, SampleInterval: time.Hour}
	r := New(opts)
	env.router = r
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Close(ctx)
	})
	tbl := Table{Listeners: []Listener{{Addr: testListen}}, Apps: []App{{
		Name: "web", Routes: []Route{{Listener: testListen}},
		Blue:   Pool{Version: "v1", Instances: []Instance{{ID: "web-1", Addr: env.up.addr}}},
		Limits: Limits{MaxBodyBytes: 4 << 10},
	}}}
	if err := r.Apply(tbl); err != nil {
		f.Fatal(err)
	}
	a, ok := r.ListenerAddr(testListen)
	if !ok {
		f.Fatal("the listener is not bound")
	}
	env.addr = a.String()
	env.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	f.Cleanup(env.client.CloseIdleConnections)
	return env
}

// backend is the router's backend for the instance.
func (env *connFuzzEnv) backend(t *testing.T) *backend {
	env.router.mu.Lock()
	defer env.router.mu.Unlock()
	b := env.router.live["web-1"]
	if b == nil {
		t.Fatal("the router has no backend web-1")
	}
	return b
}

// probe is a well-formed request on its own keep-alive connection.
func (env *connFuzzEnv) probe() error {
	req, err := http.NewRequest("GET", "http://"+env.addr+probePath, nil)
	if err != nil {
		return err
	}
	resp, err := env.client.Do(req)
	if err != nil {
		return err
	}
	body := readAll(resp)
	if resp.StatusCode != http.StatusOK || body != "instance" {
		return errors.New(resp.Status + ": " + body)
	}
	return nil
}

// panicLog records the first panic the router logs.
type panicLog struct{ to *atomic.Pointer[string] }

func (p *panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicLog) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *panicLog) WithGroup(string) slog.Handler            { return p }
func (p *panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		msg := r.Message
		r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
		p.to.CompareAndSwap(nil, &msg)
	}
	return nil
}

// sentRequest is a request as the router's own parser reads it off the client's bytes.
type sentRequest struct {
	method, uri string // uri as the router forwards it
}

// clientRequests reads raw as the router does, request by request, skipping bodies, until
// the input ends, a head is refused, or a request ends the connection. (An upgrade the
// instance declines leaves the connection carrying HTTP/1.1, RFC 9110 7.8; the fuzz
// instance declines every upgrade.) Independently of the
// parser, a request framed ambiguously (Content-Length with Transfer-Encoding, or
// Transfer-Encoding in HTTP/1.0) ends the list: RFC 9112 6.1 has the server close the
// connection after it, so nothing behind it may reach the instance.
func clientRequests(raw []byte, maxHead int) []sentRequest {
	src := bytes.NewReader(raw)
	br := bufio.NewReaderSize(src, 16<<10)
	at := func() int { return len(raw) - src.Len() - br.Buffered() }
	var out []sentRequest
	for {
		start := at()
		hr, err := readRequestHead(br, maxHead, &reqState{})
		if err != nil {
			return out
		}
		r := hr.req
		head := raw[start:at()]
		ambiguous := hasField(head, "Transfer-Encoding") && (hasField(head, "Content-Length") || r.ProtoMinor == 0)
		uri := r.RequestURI
		if !strings.HasPrefix(uri, "/") && uri != "*" {
			uri = r.URL.RequestURI()
		}
		out = append(out, sentRequest{method: r.Method, uri: uri})
		switch {
		case hr.chunked:
			_, err = io.Copy(io.Discard, newChunkedBody(br))
		case r.ContentLength > 0:
			_, err = io.CopyN(io.Discard, br, r.ContentLength)
		}
		if err != nil || hr.close || ambiguous {
			return out
		}
	}
}

// hasField reports whether a request head has a field named name, reading lines as ended by
// any LF, so a field hidden behind a bare LF counts too.
func hasField(head []byte, name string) bool {
	for _, line := range bytes.Split(head, []byte("\n"))[1:] {
		if k, _, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(strings.TrimSpace(string(k)), name) {
			return true
		}
	}
	return false
}

// checkResponses parses what the router sent back: HTTP/1.1 responses (interim 1xx ones
// aside), at most one per request sent plus a refusal, each whole, and nothing after them.
// After a reset the last one may be cut short.
func checkResponses(t *testing.T, got []byte, sent []sentRequest, reset bool, raw []byte) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(got))
	for i := 0; ; {
		if _, err := br.Peek(1); err == io.EOF {
			return
		}
		method := "GET" // a refusal of a request the client never finished
		if i < len(sent) {
			method = sent[i].method
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		if err != nil {
			if reset && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
				return
			}
			t.Fatalf("response %d is not well-formed HTTP/1.1 (%v); the router sent %q\ninput: %q", i+1, err, clip(got), clip(raw))
		}
		if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
			t.Fatalf("response %d is %s; the router sent %q", i+1, resp.Proto, clip(got))
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			continue // 100 Continue: the final response follows
		}
		if i++; i > len(sent)+1 {
			t.Fatalf("%d responses to %d requests; the router sent %q\ninput: %q", i, len(sent), clip(got), clip(raw))
		}
	}
}

func clip(b []byte) []byte {
	if len(b) > 600 {
		return append(b[:600:600], "..."...)
	}
	return b
}
