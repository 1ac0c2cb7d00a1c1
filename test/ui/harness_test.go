package ui

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestMain is sampletest.Main (the sample app when its switch is set, the tests
// otherwise), and stops the Kubernetes control plane after the tests if one of them
// started it (see kubeCluster). sampletest.Main exits, so it cannot do the second part.
func TestMain(m *testing.M) {
	if os.Getenv(sampletest.EnvSwitch) != "" {
		sampletest.Main(m) // the sample app; it exits
	}
	code := m.Run()
	stopKube()
	os.Exit(code)
}

// server is `cutover server` run in-process over a temporary data dir, with its TCP API
// (and so the dashboard) on a free loopback port.
type server struct {
	t             *testing.T
	dir           string
	url           string // the dashboard, http://127.0.0.1:port
	route         string // the sample app's production listener
	admin, viewer string // the API tokens
	client        *api.Client
}

func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{t: t, dir: t.TempDir(), route: sampletest.FreeAddr(t)}
	listen := sampletest.FreeAddr(t)
	s.url = "http://" + listen
	t.Cleanup(func() { // last: no instance left running
		d, err := process.New(process.Options{StateDir: filepath.Join(s.dir, "instances")})
		if err != nil {
			t.Error(err)
			return
		}
		ins, _ := d.List(context.Background())
		for _, in := range ins {
			_ = d.Stop(context.Background(), in, time.Second)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("CUTOVER_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	go func() { done <- daemon.Run(ctx, daemon.Config{DataDir: s.dir, Listen: listen, Logger: log}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	s.client = api.NewUnix(daemon.DefaultSocket(s.dir))
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := s.client.Apps(context.Background())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not answer within 15s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.admin, s.viewer = s.token(daemon.TokenFile), s.token(daemon.ReadOnlyTokenFile)
	return s
}

func (s *server) token(name string) string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// waitDeployment polls the deployment until ok holds, for at most timeout.
func (s *server) waitDeployment(id, what string, timeout time.Duration, ok func(api.Deployment) bool) api.Deployment {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d, err := s.client.Deployment(context.Background(), id)
		if err != nil {
			s.t.Fatalf("deployment %s: %v", id, err)
		}
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("deployment %s was not %s within %s: %s: %s", id, what, timeout, d.Phase, d.Reason)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// chromiumPath is Debian's Chromium, or $CUTOVER_CHROMIUM. Its absence fails the test: the
// dashboard is tested in a real browser or not at all.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CUTOVER_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the dashboard test needs Chromium at %s: %v. Install it with `apt-get install -y chromium` "+
			"(scripts/test.sh does), or point CUTOVER_CHROMIUM at a Chromium binary", p, err)
	}
	return p
}

// browser is one headless Chromium process for the test, with a fresh profile.
type browser struct {
	t    *testing.T
	root context.Context // the first tab's: the browser lives as long as it
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	root, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(root); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	return &browser{t: t, root: root}
}

// tab opens a tab in a browser context of its own, with its own cookies, as another
// person's browser would have, with a viewport of width x height.
func (b *browser) tab(width, height int64) context.Context {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// do runs actions on tab with a deadline, failing the test with what was being done.
func do(t *testing.T, tab context.Context, what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) and decodes its value.
func eval[T any](t *testing.T, tab context.Context, what, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS waits until the expression is true in the page, failing the test after timeout
// with the value of show (an expression that says what the page shows instead).
func waitJS(t *testing.T, tab context.Context, what, expr, show string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("String(%s)", show)))
		t.Fatalf("%s: not within %s (%v); the page shows %q", what, timeout, err, got)
	}
}

// screenshotDir is where screenshots go: $CUTOVER_SCREENSHOTS, else docs/screenshots.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CUTOVER_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "docs", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot writes the whole page as name.png.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d KiB)", path, len(png)/1024)
}
