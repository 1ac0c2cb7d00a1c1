package router

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testInstance is a real HTTP server on 127.0.0.1 standing in for an app instance. By default
// it answers "<name>\n"; handler replaces that.
type testInstance struct {
	name string
	srv  *httptest.Server
	hits atomic.Int64
}

func (in *testInstance) addr() string { return in.srv.Listener.Addr().String() }

func startInstance(t *testing.T, name string, handler http.HandlerFunc) *testInstance {
	t.Helper()
	in := &testInstance{name: name}
	if handler == nil {
		handler = func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, name+"\n") }
	}
	in.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.hits.Add(1)
		handler(w, r)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in.srv.Listener = ln
	in.srv.Start()
	t.Cleanup(in.srv.Close)
	return in
}

// testRouter is a Router with one plain listener on 127.0.0.1 and helpers to reach it.
type testRouter struct {
	*Router
	listen string // the table's listener address
	url    string // http://host:port actually bound
}

const testListen = "127.0.0.1:0"

func startRouter(t *testing.T, opts Options, tbl Table) *testRouter {
	t.Helper()
	r := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Close(ctx)
	})
	if err := r.Apply(tbl); err != nil {
		t.Fatalf("apply: %v", err)
	}
	tr := &testRouter{Router: r}
	if len(tbl.Listeners) > 0 {
		tr.listen = tbl.Listeners[0].Addr
		tr.url = "http://" + tr.bound(t, tr.listen)
	}
	return tr
}

// bound returns the host:port a table listener is bound to.
func (tr *testRouter) bound(t *testing.T, listen string) string {
	t.Helper()
	a, ok := tr.ListenerAddr(listen)
	if !ok {
		t.Fatalf("listener %s not bound", listen)
	}
	return a.String()
}

// appTable is a one-app table on testListen with the given pools and green weight (basis points).
func appTable(blue, green []*testInstance, weight int) Table {
	return Table{
		Listeners: []Listener{{Addr: testListen}},
		Apps: []App{{
			Name: "web", Routes: []Route{{Listener: testListen}},
			Blue: pool0("v1", blue), Green: pool0("v2", green), GreenWeight: weight,
		}},
	}
}

func pool0(version string, ins []*testInstance) Pool {
	p := Pool{Version: version}
	for _, in := range ins {
		p.Instances = append(p.Instances, Instance{ID: in.name, Addr: in.addr()})
	}
	return p
}

// newClient returns a keep-alive client with a bounded timeout and no cookie jar.
func newClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
	}
}

// get fetches url and returns status and trimmed body.
func get(t *testing.T, c *http.Client, url string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// eventually polls cond every 10ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readAll reads and closes a response body, trimmed.
func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}
