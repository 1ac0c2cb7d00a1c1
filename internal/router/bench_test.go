package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// startFixedBackend is a minimal keep-alive HTTP/1.1 server that answers every request with
// a fixed small response, so benchmarks measure the router rather than the instance.
func startFixedBackend(b *testing.B, body string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
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
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkProxy measures a GET through the router at a 90/10 split, over keep-alive client
// connections, with -cpu controlling the client parallelism.
func BenchmarkProxy(b *testing.B) {
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
	req := "GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\n\r\n"
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
		for pb.Next() {
			if _, err := io.WriteString(c, req); err != nil {
				b.Error(err)
				return
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasSuffix(string(body), "\n") {
				b.Errorf("status %d body %q", resp.StatusCode, body)
				return
			}
		}
	})
}
