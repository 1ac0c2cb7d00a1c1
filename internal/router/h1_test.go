package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKeepAliveAfterChunkedBodies: a chunked request (with a trailer) and chunked responses
// leave both connections positioned at the next message, so keep-alive carries on.
func TestKeepAliveAfterChunkedBodies(t *testing.T) {
	in := startInstance(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+string(b)+" ")
		w.(http.Flusher).Flush() // chunked response
		_, _ = io.WriteString(w, "end\n")
	})
	tr := startRouter(t, Options{}, appTable([]*testInstance{in}, nil, 0))
	c, err := net.Dial("tcp", strings.TrimPrefix(tr.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	reqs := []string{
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"GET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
		"GET /d HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	want := []string{"POST abc end", "GET  end", "POST hi end", "GET  end"}
	for i, raw := range reqs {
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != want[i] {
			t.Fatalf("request %d: %d %q, want 200 %q", i, resp.StatusCode, body, want[i])
		}
	}
}

// TestH2CPriorKnowledgeHandedOff: a connection that opens with the HTTP/2 preface is served by
// HTTP/2 even though plain listeners serve HTTP/1.1 on their own front end.
func TestH2CPriorKnowledgeHandedOff(t *testing.T) {
	in := startInstance(t, "blue", nil)
	tr := startRouter(t, Options{}, appTable([]*testInstance{in}, nil, 0))
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Protocols: &p}}
	for i := 0; i < 3; i++ {
		start := time.Now()
		resp, err := c.Get(tr.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("h2c request %d took %v", i, time.Since(start))
		body := readAll(resp)
		if resp.ProtoMajor != 2 || body != "blue" {
			t.Fatalf("h2c: proto %d body %q", resp.ProtoMajor, body)
		}
	}
}

// TestNewInstanceWaitsForFirstProbe: an instance added to a running router is not sent
// traffic until a probe passes, so one that is still starting costs no request.
func TestNewInstanceWaitsForFirstProbe(t *testing.T) {
	up := startInstance(t, "up", nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lateAddr := ln.Addr().String()
	ln.Close() // nothing listens there yet
	tbl := appTable([]*testInstance{up}, nil, 0)
	tbl.Apps[0].Health = &HealthCheck{Path: "/", Interval: Duration(50 * time.Millisecond), Timeout: Duration(time.Second)}
	tr := startRouter(t, Options{}, tbl)
	tbl.Apps[0].Blue.Instances = append(tbl.Apps[0].Blue.Instances, Instance{ID: "late", Addr: lateAddr})
	if err := tr.Apply(tbl); err != nil {
		t.Fatal(err)
	}
	c := newClient()
	for i := 0; i < 200; i++ {
		if code, body := get(t, c, tr.url+"/"); code != 200 || body != "up" {
			t.Fatalf("request %d while the new instance is not up yet: %d %q", i, code, body)
		}
	}
	if h := tr.Health("web")["late"]; h.Healthy {
		t.Fatalf("an instance that never answered a probe reported healthy: %+v", h)
	}
	// Once it listens and passes a probe it takes traffic.
	late := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "late\n") })}
	ln, err = net.Listen("tcp", lateAddr)
	if err != nil {
		t.Fatalf("port %s was taken meanwhile: %v", lateAddr, err)
	}
	go func() { _ = late.Serve(ln) }()
	t.Cleanup(func() { _ = late.Close() })
	eventually(t, 5*time.Second, "the new instance to take traffic", func() bool {
		_, body := get(t, c, tr.url+"/")
		return body == "late"
	})
}
