package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/runtime/runtimetest"
)

// testImage is the image of testdata/app, built once per run of the tests and left in the
// engine for the next run (it is small and its build is cached).
const testImage = "cutover-docker-test-app:latest"

// TestMain checks the engine answers, with a message saying how to start one, and builds
// testImage. The tests never skip: scripts/test.sh makes sure an engine runs.
func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "docker driver tests: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d, err := New(Options{Owner: "cutover-docker-tests-setup"})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Ping(ctx); err != nil {
		return fmt.Errorf("%w\n(scripts/test.sh installs and starts dockerd when it is missing)", err)
	}
	dir, err := os.MkdirTemp("", "cutover-docker-test-app-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(dir, "app"), "./testdata/app")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the test app: %v\n%s", err, out)
	}
	dockerfile := "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	old, _ := d.cli.ImageInspect(ctx, testImage)
	var out strings.Builder
	if err := d.Build(ctx, dir, "", testImage, &out); err != nil {
		return fmt.Errorf("build %s: %w", testImage, err)
	}
	// A changed test app leaves the previous image untagged: remove it, if nothing uses it.
	if now, err := d.cli.ImageInspect(ctx, testImage); err == nil && old.ID != "" && old.ID != now.ID {
		_, _ = d.cli.ImageRemove(ctx, old.ID, client.ImageRemoveOptions{})
	}
	return nil
}

func TestContract(t *testing.T) {
	began := time.Now()
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtime.Driver { return newDriver(t, newOwner(t)) },
		Reopen: func(t *testing.T, old runtime.Driver) runtime.Driver {
			return openDriver(t, old.(*Driver).owner)
		},
		App: func(t *testing.T, behaviour string) runtime.InstanceSpec {
			return runtime.InstanceSpec{App: "web", Image: testImage, Argv: []string{behaviour}}
		},
	})
	t.Logf("contract suite took %v", time.Since(began).Round(time.Millisecond))
}

// newOwner returns an owner label unique to this test.
func newOwner(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return "test-" + name + "-" + hex.EncodeToString(b)
}

// newDriver returns a driver for owner that fails t if any container of owner is left when
// the test ends (after the test's own cleanups, which run first), and removes it then.
func newDriver(t *testing.T, owner string) *Driver {
	t.Helper()
	t.Cleanup(func() { checkNoContainers(t, owner) })
	return openDriver(t, owner)
}

// openDriver returns a driver for owner, as after a restart of cutover.
func openDriver(t *testing.T, owner string) *Driver {
	t.Helper()
	d, err := New(Options{Owner: owner, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// engine returns a plain client of the engine, for looking behind the driver's back.
func engine(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func checkNoContainers(t *testing.T, owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli := engine(t)
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", labelOwner+"="+owner),
	})
	if err != nil {
		t.Errorf("list containers of %s: %v", owner, err)
		return
	}
	for _, c := range res.Items {
		t.Errorf("container %s %v (%s) of owner %s is left after the test", shortID(c.ID), c.Names, c.State, owner)
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Errorf("remove it: %v", err)
		}
	}
}
