package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// daemon is one Run in a goroutine.
type daemon struct {
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg Config) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- Run(ctx, cfg) }()
	c := api.NewUnix(DefaultSocket(cfg.DataDir))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Apps(context.Background()); err == nil {
			break
		}
		select {
		case err := <-d.done:
			t.Fatalf("Run ended at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not answer on its socket within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { d.stop(t) })
	return d
}

// stop is SIGTERM: it cancels Run's context and wants nil back.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("Run returned %v at shutdown, want nil", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestFilesAndAuth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	listen := sampletest.FreeAddr(t)
	start(t, Config{DataDir: dir, Listen: listen})

	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, TokenFile): 0o600, DefaultSocket(dir): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	tok, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tok))
	if len(token) != 64 {
		t.Errorf("token %q: want 64 hex digits", token)
	}

	ctx := context.Background()
	_, err = api.NewTCP("http://"+listen, "", nil).Apps(ctx)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("TCP without token: %v, want 401", err)
	}
	if _, err := api.NewTCP("http://"+listen, "wrong", nil).Apps(ctx); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("TCP with a wrong token: %v, want 401", err)
	}
	if _, err := api.NewTCP("http://"+listen, token, nil).Apps(ctx); err != nil {
		t.Errorf("TCP with the token: %v", err)
	}
	if _, err := api.NewUnix(DefaultSocket(dir)).Apps(ctx); err != nil {
		t.Errorf("socket without token: %v", err)
	}
	resp, err := http.Get("http://" + listen + "/metrics")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("/metrics without token: %s, want 401", resp.Status)
		}
	}
}

func TestTokenKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	d := start(t, Config{DataDir: dir})
	first, _ := os.ReadFile(filepath.Join(dir, TokenFile))
	d.stop(t)
	start(t, Config{DataDir: dir})
	second, _ := os.ReadFile(filepath.Join(dir, TokenFile))
	if len(first) == 0 || string(first) != string(second) {
		t.Errorf("token changed across restarts: %q then %q", first, second)
	}
}

func TestRefusesNonLoopbackListen(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":7070", "10.1.2.3:7070"} {
		err := Run(context.Background(), Config{DataDir: t.TempDir(), Listen: addr})
		if err == nil || !strings.Contains(err.Error(), "insecure-non-loopback") {
			t.Errorf("Listen %q: %v, want a refusal naming --insecure-non-loopback", addr, err)
		}
	}
}

func TestLoadFile(t *testing.T) {
	for _, tc := range []struct{ desc, name, text string }{
		{"yaml", "c.yaml", "data_dir: /d\nlisten: \"\"\n"},
		{"json", "c.json", `{"data_dir": "/d", "listen": ""}`},
	} {
		path := filepath.Join(t.TempDir(), tc.name)
		if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := LoadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if f.DataDir == nil || *f.DataDir != "/d" || f.Listen == nil || *f.Listen != "" || f.Socket != nil {
			t.Errorf("%s: %+v", tc.desc, f)
		}
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(path, []byte("listn: x\n"), 0o600)
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), "known fields") {
		t.Errorf("unknown field: %v, want an error listing the known fields", err)
	}
}

// TestShutdownKeepsInstancesAndRestartAdopts is SIGTERM and a restart: Run returns nil, the
// instances keep running, and the next Run over the same data dir serves them again.
func TestShutdownKeepsInstancesAndRestartAdopts(t *testing.T) {
	dir := t.TempDir()
	route := sampletest.FreeAddr(t)
	t.Cleanup(func() { stopInstances(t, dir) })
	d := start(t, Config{DataDir: dir})
	c := api.NewUnix(DefaultSocket(dir))
	ctx := context.Background()
	if _, err := c.Apply(ctx, "web", []byte(sampletest.Spec(t, route, sampletest.Options{KeepWarm: "1s"}, "strategy: {preset: AllAtOnce}\n"))); err != nil {
		t.Fatal(err)
	}
	dep, err := c.Deploy(ctx, "web", api.DeployRequest{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	waitTerminal(t, c, dep.ID, "succeeded")
	if v := version(t, route); v != "v1" {
		t.Fatalf("before shutdown the route answered %q", v)
	}
	// /metrics carries the engine's and the router's series.
	metrics := getOverSocket(t, DefaultSocket(dir), "/metrics")
	for _, want := range []string{`cutover_deployments_started_total{app="web"} 1`,
		`cutover_deployments_ended_total{app="web",outcome="succeeded"} 1`, `cutover_router_requests_total{app="web"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	d.stop(t)
	drv, err := process.New(process.Options{StateDir: filepath.Join(dir, "instances")})
	if err != nil {
		t.Fatal(err)
	}
	ins, err := drv.List(ctx)
	if err != nil || len(ins) != 1 {
		t.Fatalf("after shutdown: instances %v (%v), want the one of v1 still running", ins, err)
	}
	if st, err := drv.Status(ctx, ins[0]); err != nil || !st.Running {
		t.Fatalf("after shutdown v1's instance: %+v %v, want running", st, err)
	}

	start(t, Config{DataDir: dir})
	apps, err := c.Apps(ctx)
	if err != nil || len(apps) != 1 || apps[0].Blue != "v1" {
		t.Fatalf("after restart: apps %+v (%v), want web with blue v1", apps, err)
	}
	if v := version(t, route); v != "v1" {
		t.Fatalf("after restart the route answered %q", v)
	}
	if after, _ := drv.List(ctx); len(after) != 1 || after[0].ID != ins[0].ID {
		t.Fatalf("after restart instances %v, want %s re-adopted, not replaced", after, ins[0].ID)
	}
}

func waitTerminal(t *testing.T, c *api.Client, id, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		d, err := c.Deployment(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Terminal {
			if d.Phase != want {
				t.Fatalf("%s ended %s: %s, want %s", id, d.Phase, d.Reason, want)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not end within 30s", id)
}

func version(t *testing.T, addr string) string {
	t.Helper()
	var last error
	for i := 0; i < 50; i++ {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + addr + "/")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return resp.Header.Get("X-Version")
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", addr, last)
	return ""
}

func stopInstances(t *testing.T, dir string) {
	d, err := process.New(process.Options{StateDir: filepath.Join(dir, "instances")})
	if err != nil {
		t.Error(err)
		return
	}
	ins, _ := d.List(context.Background())
	for _, in := range ins {
		_ = d.Stop(context.Background(), in, time.Second)
	}
}

// getOverSocket fetches path from the server's unix socket (no token needed there).
func getOverSocket(t *testing.T, socket, path string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}}}
	resp, err := c.Get("http://cutover" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestMain(m *testing.M) { sampletest.Main(m) }
