package engine

import (
	"context"
	"fmt"
	"github.com/cutover/cutover/internal/egress"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// TestMain doubles as the sample app: instances are this test binary re-executed with
// CUTOVER_E2E_APP set, so the tests need nothing but themselves.
func TestMain(m *testing.M) {
	if os.Getenv(sampletest.EnvSwitch) != "" { // first: instances inherit the controller's env
		os.Exit(sampleapp.Main())
	}
	if mode := os.Getenv("CUTOVER_E2E_CONTROLLER"); mode != "" {
		controllerMain(mode)
		return
	}
	code := m.Run()
	stopKube()
	os.Exit(code)
}

// rig is a whole control plane on one machine: store, process driver, router, engine.
type rig struct {
	t      testing.TB
	dir    string
	router *router.Router
	store  *store.Store
	driver *process.Driver
	extra  map[string]runtime.Driver // drivers beside the process driver
	limits Limits                    // the engine's; zero takes the defaults
	egress egress.Policy             // the server's allow list; zero allows all
	alarms AlarmReader               // reads analysis.alarms; nil: none
	cloud  CloudOpener               // opens run.ecs apps; nil: none
	eng    *Engine
	listen string
	url    string
}

func newRig(t testing.TB) *rig {
	t.Helper()
	return newRigWith(t, nil)
}

// newRigWith is newRig with more drivers beside the process driver, by name.
func newRigWith(t testing.TB, extra map[string]runtime.Driver) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), listen: sampletest.FreeAddr(t), extra: extra}
	r.url = "http://" + r.listen
	r.open()
	t.Cleanup(func() {
		r.close()
		// Leave nothing running: stop every instance the driver still knows.
		d, err := process.New(process.Options{StateDir: filepath.Join(r.dir, "instances")})
		if err != nil {
			t.Error(err)
			return
		}
		ins, _ := d.List(context.Background())
		for _, in := range ins {
			_ = d.Stop(context.Background(), in, time.Second)
		}
	})
	return r
}

func (r *rig) open() {
	if err := r.tryOpen(); err != nil {
		r.t.Fatal(err)
	}
}

// tryOpen starts the control plane over the rig's dir; on an error from New the store and
// the router are closed again and r.eng stays nil.
func (r *rig) tryOpen() error {
	t := r.t
	var err error
	if r.store, err = store.Open(filepath.Join(r.dir, "state.db")); err != nil {
		t.Fatal(err)
	}
	if r.driver, err = process.New(process.Options{StateDir: filepath.Join(r.dir, "instances")}); err != nil {
		t.Fatal(err)
	}
	r.router = router.New(router.Options{SampleInterval: 100 * time.Millisecond, DrainTimeout: 2 * time.Second})
	drivers := map[string]runtime.Driver{process.Name: r.driver}
	maps.Copy(drivers, r.extra)
	if r.eng, err = New(context.Background(), Options{Router: r.router, Drivers: drivers, Store: r.store,
		Tick: 20 * time.Millisecond, JanitorInterval: 100 * time.Millisecond, Logger: testLogger(t), Limits: r.limits, Egress: r.egress, Alarms: r.alarms, Cloud: r.cloud}); err != nil {
		r.eng = nil
		_ = r.router.Close(context.Background())
		_ = r.store.Close()
		return err
	}
	return nil
}

// close stops the control plane as a crash would leave things: instances keep running.
func (r *rig) close() {
	if r.eng != nil {
		r.eng.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = r.router.Close(ctx)
		cancel()
		_ = r.store.Close()
		r.eng = nil
	}
}

func (r *rig) spec(extra string) *spec.App {
	r.t.Helper()
	return r.parse(r.specText(extra))
}

func (r *rig) parse(y string) *spec.App {
	r.t.Helper()
	a, err := spec.Parse(strings.NewReader(y))
	if err != nil {
		r.t.Fatalf("spec: %v", err)
	}
	return a
}

// specText is the test app's spec with extra YAML appended.
func (r *rig) specText(extra string) string {
	return sampletest.Spec(r.t, r.listen, sampletest.Options{Instances: 2, DrainTimeout: "2s"}, extra)
}

// deploy starts a deployment and waits for its terminal state.
func (r *rig) deploy(version string, set map[string]string) deploy.State {
	r.t.Helper()
	s, err := r.eng.Deploy(context.Background(), "web", version, set)
	if err != nil {
		r.t.Fatalf("deploy %s: %v", version, err)
	}
	return r.wait(s.ID)
}

func (r *rig) wait(id string) deploy.State {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.eng.Wait(ctx, "web"); err != nil {
		r.t.Fatalf("wait for %s: %v", id, err)
	}
	s, err := r.eng.Deployment(id)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// load sends requests without pause and counts what each version answered.
type load struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	byVersion    map[string]int
	badByVersion map[string]int
	firstErr     string
	stop         chan struct{}
	wg           sync.WaitGroup
}

func startLoad(t *testing.T, url string, workers int) *load {
	l := &load{byVersion: map[string]int{}, badByVersion: map[string]int{}, stop: make(chan struct{})}
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c := &http.Client{Timeout: 5 * time.Second}
			deadline := time.Now().Add(2 * time.Minute)
			for time.Now().Before(deadline) {
				select {
				case <-l.stop:
					return
				default:
				}
				l.sent.Add(1)
				resp, err := c.Get(url + "/")
				if err != nil {
					l.fail("", err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				v := resp.Header.Get("X-Version")
				if resp.StatusCode != 200 {
					l.fail(v, fmt.Sprintf("status %d from %q", resp.StatusCode, v))
					continue
				}
				l.mu.Lock()
				l.byVersion[v]++
				l.mu.Unlock()
				time.Sleep(2 * time.Millisecond) // about 500 req/s per worker at most: a steady load, not a flood
			}
		}()
	}
	t.Cleanup(l.end)
	return l
}

func (l *load) fail(version, msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	l.badByVersion[version]++
	if l.firstErr == "" {
		l.firstErr = msg
	}
	l.mu.Unlock()
}

func (l *load) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

func newHTTP() *http.Client { return &http.Client{Timeout: 5 * time.Second} }

// testLogger logs to the test's output when CUTOVER_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("CUTOVER_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
