package routerctl_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/routerctl"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// rig is a router process started from its own copy of the cutover binary, which a test
// may replace to upgrade it, in front of a blue and a green backend.
type rig struct {
	t           *testing.T
	dir, exe    string
	listen      string
	blue, green *httptest.Server
	c           *routerctl.Client
}

var built string // the cutover binary, built once per test run

func TestMain(m *testing.M) { sampletest.BinaryMain(m) }

func newRig(t *testing.T) *rig {
	t.Helper()
	built = sampletest.Cutover(t)
	r := &rig{t: t, dir: t.TempDir(), listen: sampletest.FreeAddr(t)}
	r.exe = filepath.Join(r.dir, "bin", "cutover")
	if err := os.MkdirAll(filepath.Dir(r.exe), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, built, r.exe)
	r.blue, r.green = backend(t, "blue"), backend(t, "green")
	c, st, started, err := routerctl.Ensure(context.Background(), r.dir, r.exe, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !started || st.PID <= 0 {
		t.Fatalf("Ensure on an empty dir: started=%v pid=%d, want a new process", started, st.PID)
	}
	r.c = c
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := routerctl.Stop(ctx, r.dir); err != nil {
			t.Errorf("stop the router: %v", err)
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(r.dir, routerctl.LogFile))
			t.Logf("router log:\n%s", log)
		}
	})
	return r
}

func backend(t *testing.T, version string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Version", version)
		_, _ = io.WriteString(w, version+"\n")
	}))
	t.Cleanup(s.Close)
	return s
}

func (r *rig) table(greenWeight int) router.Table {
	inst := func(s *httptest.Server, id string) router.Pool {
		return router.Pool{Version: id, Instances: []router.Instance{{ID: id + "-1", Addr: s.Listener.Addr().String()}}}
	}
	return router.Table{
		Listeners: []router.Listener{{Addr: r.listen}},
		Apps: []router.App{{Name: "web", Routes: []router.Route{{Listener: r.listen}}, GreenWeight: greenWeight,
			Blue: inst(r.blue, "blue"), Green: inst(r.green, "green")}},
	}
}

func (r *rig) get() (string, error) {
	resp, err := http.Get("http://" + r.listen + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.Header.Get("X-Version"), nil
}

func (r *rig) pid() int {
	r.t.Helper()
	st, err := r.c.Ping(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return st.PID
}

// waitGone waits until pid has exited (or is a zombie), for at most 40s.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after 40s", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	tmp := to + ".tmp"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil { // a running binary cannot be written in place
		t.Fatal(err)
	}
}

// runRouter runs `cutover router args...` to its end and returns its output.
func runRouter(t *testing.T, exe string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, append([]string{"router"}, args...)...).CombinedOutput()
	return string(out), err
}
