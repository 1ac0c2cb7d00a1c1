package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// fuzzApp is the app the API fuzzer's control plane always has. Its command does not exist,
// so a deployment the fuzzer manages to start fails at once without running anything.
const fuzzApp = "fz"

// fuzzSpec is fuzzApp's spec, routed on listen.
func fuzzSpec(listen string) string {
	return fmt.Sprintf(`app: %s
routes:
  - listen: %s
run:
  process:
    command: ["/nonexistent/cutover-fuzz/never-starts"]
  instances: 1
  stop_grace: 1s
health:
  startup_grace: 2s
keep_warm: 0s
drain_timeout: 1s
deadlines:
  deployment: 20s
`, fuzzApp, listen)
}

// fuzzRig is a whole control plane (store, process driver, router, engine) behind the API
// handler, built once per fuzzing process. Requests go to the handler in memory: the fuzzer
// is after the API's decisions, not net/http's.
type fuzzRig struct {
	h      http.Handler
	eng    *engine.Engine
	st     *store.Store
	listen string // fuzzApp's route
	dirty  bool   // an input failed before the rig was reset
}

func newFuzzRig(tb testing.TB) *fuzzRig {
	tb.Helper()
	dir := tb.TempDir()
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	drv, err := process.New(process.Options{StateDir: filepath.Join(dir, "instances")})
	if err != nil {
		tb.Fatal(err)
	}
	rt := router.New(router.Options{SampleInterval: 100 * time.Millisecond, DrainTimeout: time.Second})
	eng, err := engine.New(context.Background(), engine.Options{Router: rt, Drivers: map[string]runtime.Driver{process.Name: drv}, Store: st,
		Tick: 10 * time.Millisecond, JanitorInterval: time.Hour, Logger: testLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	r := &fuzzRig{h: New(Options{Engine: eng, Router: rt, Token: testToken, Logger: testLogger()}),
		eng: eng, st: st}
	tb.Cleanup(func() {
		eng.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = rt.Close(ctx)
		cancel()
		_ = st.Close()
	})
	r.reset(tb)
	return r
}

// reset brings the control plane back to fuzzApp alone, freshly applied, with no history.
// It routes fuzzApp on a new port each time: a port just given up can be taken by anyone's
// next connection before the router binds it again.
func (r *fuzzRig) reset(tb testing.TB) {
	tb.Helper()
	r.settle(tb)
	apps, err := r.eng.Apps()
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range apps {
		if err := r.eng.Delete(context.Background(), a.Name); err != nil {
			tb.Fatalf("reset: %v", err)
		}
	}
	r.listen = sampletest.FreeAddr(tb)
	a, err := spec.Parse(strings.NewReader(fuzzSpec(r.listen)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.eng.Apply(a); err != nil {
		tb.Fatalf("reset: apply %s: %v", fuzzApp, err)
	}
}

// settle waits, at most 20s, until no app has a deployment in progress.
func (r *fuzzRig) settle(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		apps, err := r.eng.Apps()
		if err != nil {
			tb.Fatal(err)
		}
		busy := ""
		for _, a := range apps {
			if a.Active != "" {
				busy = a.Name
			}
		}
		if busy == "" {
			return
		}
		if err := r.eng.Wait(ctx, busy); err != nil {
			tb.Fatalf("the deployment of %s never ended: %v", busy, err)
		}
	}
}

// state renders everything a request could change: every app with its spec, blue version,
// deployment in progress, releases and deployments.
func (r *fuzzRig) state(tb testing.TB) string {
	tb.Helper()
	apps, err := r.eng.Apps()
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for _, a := range apps {
		data, err := a.Spec.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&b, "app %s blue=%q active=%q\n%s", a.Name, a.Blue, a.Active, data)
		rels, err := r.eng.Releases(a.Name)
		if err != nil {
			tb.Fatal(err)
		}
		for _, rel := range rels {
			fmt.Fprintf(&b, "  release %d %s\n", rel.Number, rel.Version)
		}
		hist, err := r.eng.History(a.Name)
		if err != nil {
			tb.Fatal(err)
		}
		for _, d := range hist {
			fmt.Fprintf(&b, "  deployment %s %s %s\n", d.ID, d.Phase, d.Plan.GreenVersion)
		}
	}
	return b.String()
}

// storedSpecsParse checks that every spec the store holds for app, the app's own and each
// release's, reads back as a valid spec: what the API accepted must survive a restart.
func (r *fuzzRig) storedSpecsParse(t *testing.T, app string) {
	t.Helper()
	a, err := r.st.GetApp(app)
	if err != nil {
		t.Fatalf("the accepted app %q is not in the store: %v", app, err)
	}
	if _, err := spec.Parse(bytes.NewReader(a.Spec)); err != nil {
		t.Fatalf("the stored spec of %q does not parse back: %v\n%s", app, err, a.Spec)
	}
	rels, err := r.st.ListReleases(app)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range rels {
		if _, err := spec.Parse(bytes.NewReader(rel.Spec)); err != nil {
			t.Fatalf("release %s of %s was stored with a spec that does not parse back (a restart cannot load it): %v\n%s",
				rel.Version, app, err, rel.Spec)
		}
	}
}

// loopbackOnly reports whether every address a spec would have the router listen on is on
// 127.0.0.1, so an accepted spec binds nothing the tests may not.
func loopbackOnly(a *spec.App) bool {
	addrs := []string{a.TestListener}
	for _, rt := range a.Routes {
		addrs = append(addrs, rt.Listen)
	}
	for _, addr := range addrs {
		if addr == "" {
			continue
		}
		if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
			return false
		}
	}
	return true
}
