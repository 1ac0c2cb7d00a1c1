package router

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
)

// The benchmarks speak raw HTTP/1.1 on both sides of the router (a fixed request from the
// client, a fixed response from the instance), so their time and allocations are the
// router's own, not a Go HTTP client's or server's.

// startFixedBackend is a minimal keep-alive HTTP/1.1 instance that answers every bodiless
// request with a fixed small response.
func startFixedBackend(b *testing.B, body string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					if err := skipHead(br); err != nil {
						return
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// skipHead reads one message head up to its blank line and returns its Content-Length.
func skipHead(br *bufio.Reader) error {
	_, err := readRawHead(br)
	return err
}

func readRawHead(br *bufio.Reader) (contentLength int, err error) {
	contentLength = -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			return contentLength, nil
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			contentLength, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
}

// benchRequests: what wrk sends (no cookie: the router sets a cohort cookie on every
// response), and what a browser sends (with the cookie it was given).
var benchRequests = map[string]string{
	"wrk": "GET / HTTP/1.1\r\nHost: bench\r\n\r\n",
	"browser": "GET /app/items?page=2 HTTP/1.1\r\nHost: bench\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\n" +
		"Accept: text/html,application/xhtml+xml\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n" +
		"Cookie: session=abc123; cutover-bucket-bench=4242\r\nX-Request-Id: 5f0c2b7e\r\nConnection: keep-alive\r\n\r\n",
}

// BenchmarkProxy measures a GET through the router at a 90/10 split, over keep-alive client
// connections, with -cpu controlling the client parallelism. allocs/op is the router's.
func BenchmarkProxy(b *testing.B) {
	for _, name := range []string{"wrk", "browser"} {
		b.Run(name, func(b *testing.B) { benchProxy(b, benchRequests[name]) })
	}
}

func benchProxy(b *testing.B, reqs string) {
	req := []byte(reqs)
	blue, green := startFixedBackend(b, "blue\n"), startFixedBackend(b, "green\n")
	tbl := Table{
		Listeners: []Listener{{Addr: testListen}},
		Apps: []App{{Name: "bench", Routes: []Route{{Listener: testListen}},
			Blue:        Pool{Version: "v1", Instances: []Instance{{ID: "b", Addr: blue}}},
			Green:       Pool{Version: "v2", Instances: []Instance{{ID: "g", Addr: green}}},
			GreenWeight: 1000}},
	}
	r := New(Options{})
	defer r.Close(b.Context())
	if err := r.Apply(tbl); err != nil {
		b.Fatal(err)
	}
	addr, _ := r.ListenerAddr(testListen)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		body := make([]byte, 64)
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			status, err := br.Peek(12)
			if err != nil || !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
				b.Errorf("status line %q: %v", status, err)
				return
			}
			n, err := readRawHead(br)
			if err != nil || n <= 0 || n > len(body) {
				b.Errorf("response head: Content-Length %d, %v", n, err)
				return
			}
			if _, err := io.ReadFull(br, body[:n]); err != nil || body[n-1] != '\n' {
				b.Errorf("body %q: %v", body[:n], err)
				return
			}
		}
	})
}
