package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
	"github.com/cutover/cutover/internal/store"
)

const (
	testToken       = "s3cret-token"
	testViewerToken = "viewer-token"
)

// rig is a whole control plane (store, process driver, router, engine) behind the API
// handler on an httptest server, with the real client pointed at it.
type rig struct {
	t      *testing.T
	dir    string
	listen string // the app's route
	eng    *engine.Engine
	srv    *httptest.Server
	client *api.Client
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), listen: sampletest.FreeAddr(t)}
	st, err := store.Open(filepath.Join(r.dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	drv, err := process.New(process.Options{StateDir: filepath.Join(r.dir, "instances")})
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Options{SampleInterval: 100 * time.Millisecond, DrainTimeout: 2 * time.Second})
	if r.eng, err = engine.New(context.Background(), engine.Options{Router: rt, Drivers: map[string]runtime.Driver{process.Name: drv}, Store: st,
		Tick: 20 * time.Millisecond, JanitorInterval: 100 * time.Millisecond, Logger: testLogger()}); err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(New(Options{Engine: r.eng, Router: rt, Token: testToken, ReadOnlyToken: testViewerToken, Logger: testLogger(),
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "cutover_up 1") })}))
	r.client = api.NewTCP(r.srv.URL, testToken, nil)
	t.Cleanup(func() {
		r.srv.CloseClientConnections()
		r.srv.Close()
		r.eng.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = rt.Close(ctx)
		cancel()
		_ = st.Close()
		ins, _ := drv.List(context.Background())
		for _, in := range ins {
			_ = drv.Stop(context.Background(), in, time.Second)
		}
	})
	return r
}

// specText is the sample app's spec with extra YAML appended.
func (r *rig) specText(extra string) []byte {
	return []byte(sampletest.Spec(r.t, r.listen, sampletest.Options{}, extra))
}

func (r *rig) apply(extra string) {
	r.t.Helper()
	if _, err := r.client.Apply(context.Background(), "web", r.specText(extra)); err != nil {
		r.t.Fatalf("apply: %v", err)
	}
}

// waitFor polls the deployment through the API until ok holds, for at most 40s.
func (r *rig) waitFor(id, what string, ok func(api.Deployment) bool) api.Deployment {
	r.t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		d, err := r.client.Deployment(context.Background(), id)
		if err != nil {
			r.t.Fatalf("deployment %s: %v", id, err)
		}
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("deployment %s never became %s: %s: %s", id, what, d.Phase, d.Reason)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func terminal(d api.Deployment) bool { return d.Terminal }

// deploy starts a deployment of version and waits for it to succeed.
func (r *rig) deploy(version string) api.Deployment {
	r.t.Helper()
	d, err := r.client.Deploy(context.Background(), "web", api.DeployRequest{Version: version})
	if err != nil {
		r.t.Fatalf("deploy %s: %v", version, err)
	}
	d = r.waitFor(d.ID, "terminal", terminal)
	if d.Phase != "succeeded" {
		r.t.Fatalf("deploy %s: %s: %s", version, d.Phase, d.Reason)
	}
	return d
}

// apiErr asserts err is an *api.Error with the status and code.
func apiErr(t *testing.T, err error, status int, code string) *api.Error {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want a %d %s api error, got %v", status, code, err)
	}
	if ae.Status != status || ae.Code != code {
		t.Fatalf("want %d %s, got %d %s: %s", status, code, ae.Status, ae.Code, ae.Message)
	}
	return ae
}

// testLogger logs to stderr when CUTOVER_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("CUTOVER_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestMain(m *testing.M) { sampletest.Main(m) }
