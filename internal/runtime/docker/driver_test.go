package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/runtime"
)

var testCtx = context.Background()

// startApp starts testdata/app with behaviour on d and stops it when the test ends.
func startApp(t *testing.T, d *Driver, id, behaviour string, mutate ...func(*runtime.InstanceSpec)) runtime.Instance {
	t.Helper()
	spec := runtime.InstanceSpec{ID: id, App: "web", Release: "v1", Image: testImage, Argv: []string{behaviour}}
	for _, m := range mutate {
		m(&spec)
	}
	in, err := d.Start(testCtx, spec)
	if err != nil {
		t.Fatalf("Start(%s): %v", id, err)
	}
	t.Cleanup(func() {
		if err := d.Stop(testCtx, in, time.Second); err != nil {
			t.Errorf("cleanup: Stop(%s): %v", id, err)
		}
	})
	return in
}

// poll calls cond until it reports true, failing t with its last message after timeout.
func poll(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getBody(t *testing.T, addr, path string) string {
	t.Helper()
	var body string
	poll(t, 20*time.Second, func() (bool, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err == nil && resp.StatusCode == 200, fmt.Sprintf("GET %s%s = %d %q %v", addr, path, resp.StatusCode, b, err)
	})
	return body
}

func waitEnded(t *testing.T, d *Driver, in runtime.Instance, timeout time.Duration) runtime.Status {
	t.Helper()
	var st runtime.Status
	poll(t, timeout, func() (bool, string) {
		var err error
		st, err = d.Status(testCtx, in)
		return err == nil && !st.Running, fmt.Sprintf("Status = %+v, %v; want not running", st, err)
	})
	return st
}

func TestOOMKilledSaysOutOfMemory(t *testing.T) {
	d := newDriver(t, newOwner(t))
	in := startApp(t, d, "oom", "alloc", func(s *runtime.InstanceSpec) {
		s.Container = &runtime.ContainerSpec{MemoryBytes: 16 << 20}
	})
	st := waitEnded(t, d, in, 60*time.Second)
	if st.Signal != "SIGKILL" || st.ExitCode != -1 || st.Reason != "killed: out of memory (limit 16 MiB)" {
		t.Fatalf("Status of an OOM-killed container = %+v, want SIGKILL, -1, %q", st, "killed: out of memory (limit 16 MiB)")
	}
	if err := d.Stop(testCtx, in, time.Second); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Status(testCtx, in); err != nil || !strings.Contains(st.Reason, "out of memory") {
		t.Errorf("Status after Stop = %+v, %v; want it to still say out of memory", st, err)
	}
	if logs, err := d.Logs(testCtx, in, 5); err != nil || len(logs) == 0 || !strings.HasPrefix(logs[0], "allocated ") {
		t.Errorf("Logs after Stop = %q, %v; want the app's last lines", logs, err)
	}
}

func TestOtherOwnersAreNeverTouched(t *testing.T) {
	mine, theirs := newDriver(t, newOwner(t)), newDriver(t, newOwner(t))
	other := startApp(t, theirs, "shared-id", "serve")
	getBody(t, other.Addr, "/")
	crashed := startApp(t, theirs, "crashed", "crash")
	waitEnded(t, theirs, crashed, 20*time.Second)

	listed, err := mine.List(testCtx)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 0 {
		t.Fatalf("List = %+v, want none: every container belongs to another owner", listed)
	}
	for _, in := range []runtime.Instance{other, crashed, {ID: other.ID, App: other.App, Release: other.Release}} {
		if _, err := mine.Status(testCtx, in); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("Status(%s) of another owner's instance: err = %v, want ErrNotFound", in.ID, err)
		}
		if _, err := mine.Logs(testCtx, in, 10); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("Logs(%s) of another owner's instance: err = %v, want ErrNotFound", in.ID, err)
		}
		if err := mine.Stop(testCtx, in, time.Second); err != nil {
			t.Errorf("Stop(%s) of another owner's instance: %v, want nil (unknown)", in.ID, err)
		}
	}
	// The other owner's instances are untouched: one serves, the ended one was not reaped.
	if st, err := theirs.Status(testCtx, other); err != nil || !st.Running {
		t.Errorf("their instance after my Stop: Status = %+v, %v; want Running", st, err)
	}
	getBody(t, other.Addr, "/")
	ins, err := engine(t).ContainerInspect(testCtx, theirs.containerName(crashed.ID), client.ContainerInspectOptions{})
	if err != nil || ins.Container.State.ExitCode != 3 {
		t.Errorf("their crashed container after my List: %v; want it kept, exit code 3", err)
	}
	// The same instance ID runs for both owners at once.
	mineToo := startApp(t, mine, "shared-id", "serve")
	if mineToo.Addr == other.Addr {
		t.Errorf("two owners' instances share the address %s", other.Addr)
	}
}

func TestPublishedOnLoopbackOnly(t *testing.T) {
	d := newDriver(t, newOwner(t))
	in := startApp(t, d, "loopback", "serve")
	getBody(t, in.Addr, "/")
	host, _, err := net.SplitHostPort(in.Addr)
	if err != nil || host != "127.0.0.1" {
		t.Errorf("Addr = %s, want 127.0.0.1:<port>", in.Addr)
	}
	h, _ := decodeHandle(in)
	ins, err := engine(t).ContainerInspect(testCtx, h.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bindings := ins.Container.NetworkSettings.Ports[network.MustParsePort("8080/tcp")]
	if len(bindings) == 0 {
		t.Fatalf("port 8080/tcp is not published: %v", ins.Container.NetworkSettings.Ports)
	}
	for _, b := range bindings {
		if b.HostIP.String() != "127.0.0.1" || net.JoinHostPort("127.0.0.1", b.HostPort) != in.Addr {
			t.Errorf("binding %s:%s, want only %s", b.HostIP, b.HostPort, in.Addr)
		}
	}
}

func TestEnvCommandAndPort(t *testing.T) {
	d := newDriver(t, newOwner(t))
	in := startApp(t, d, "env", "", func(s *runtime.InstanceSpec) {
		s.Argv = nil // the image's entrypoint, given its argument by Entrypoint
		s.Env = map[string]string{"PORT": "1", "GREETING": "hi", "ARG": "${CUTOVER_INSTANCE}:$PORT:$GREETING:$UNSET"}
		s.Container = &runtime.ContainerSpec{Port: 9090, Entrypoint: []string{"/app", "serve"}}
	})
	for name, want := range map[string]string{
		"PORT": "9090", "GREETING": "hi", "CUTOVER_APP": "web", "CUTOVER_VERSION": "v1", "CUTOVER_INSTANCE": "env",
	} {
		if got := getBody(t, in.Addr, "/env/"+name); got != want {
			t.Errorf("$%s in the container = %q, want %q", name, got, want)
		}
	}
	// Argv is expanded like the process driver's, without a shell; Env values are not.
	in2 := startApp(t, d, "expand", "$MODE", func(s *runtime.InstanceSpec) {
		s.Env = map[string]string{"MODE": "serve"}
	})
	if got := getBody(t, in2.Addr, "/"); got != "v1" {
		t.Errorf("app started with Argv [$MODE] answers %q, want v1", got)
	}
}

func TestStartReplacesAnEndedContainerOfTheSameID(t *testing.T) {
	d := newDriver(t, newOwner(t))
	first := startApp(t, d, "again", "crash")
	waitEnded(t, d, first, 20*time.Second)
	second := startApp(t, d, "again", "serve")
	getBody(t, second.Addr, "/")
	if st, err := d.Status(testCtx, first); err != nil || st.Running || st.ExitCode != 3 {
		t.Errorf("Status of the first, replaced container = %+v, %v; want exited with 3", st, err)
	}
	if _, err := d.Start(testCtx, runtime.InstanceSpec{ID: "again", App: "web", Release: "v1", Image: testImage}); err == nil ||
		!strings.Contains(err.Error(), "already running") {
		t.Errorf("Start of a running ID: err = %v, want already running", err)
	}
}

func TestStartErrors(t *testing.T) {
	d := newDriver(t, newOwner(t))
	_, err := d.Start(testCtx, runtime.InstanceSpec{ID: "bad", App: "web", Release: "v1", Image: "cutover-no-such-image:v0"})
	if err == nil || !strings.Contains(err.Error(), "cutover-no-such-image:v0") {
		t.Errorf("Start with a missing image: err = %v, want it named", err)
	}
	_, err = d.Start(testCtx, runtime.InstanceSpec{ID: "bad", App: "web", Release: "v1", Image: testImage,
		Container: &runtime.ContainerSpec{Entrypoint: []string{"/no-such-program"}}})
	if err == nil || !strings.Contains(err.Error(), "no-such-program") {
		t.Errorf("Start with a missing entrypoint: err = %v, want it named", err)
	}
	_, err = d.Start(testCtx, runtime.InstanceSpec{ID: "bad", App: "web", Release: "v1"})
	if err == nil || !strings.Contains(err.Error(), "image: must name an image") {
		t.Errorf("Start without an image: err = %v, want the image named", err)
	}
}

func TestUnreachableEngine(t *testing.T) {
	d, err := New(Options{Owner: "x", Host: "unix:///nonexistent/docker.sock"})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Ping(testCtx)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Docker engine at unix:///nonexistent/docker.sock") ||
		!strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Errorf("Ping = %v, want an error naming the address and DOCKER_HOST", err)
	}
	if _, err := d.List(testCtx); err == nil || !strings.Contains(err.Error(), "cannot reach the Docker engine") {
		t.Errorf("List = %v, want cannot reach the Docker engine", err)
	}
	if _, err := New(Options{Owner: "x", Host: "http://example.com"}); err == nil {
		t.Error("New with an http:// host succeeded, want an error")
	}
	if _, err := New(Options{Host: "unix:///var/run/docker.sock"}); err == nil {
		t.Error("New without an Owner succeeded, want an error")
	}
}

func TestContainerRemovedBehindTheDriversBack(t *testing.T) {
	owner := newOwner(t)
	d := newDriver(t, owner)
	in := startApp(t, d, "removed", "serve")
	getBody(t, in.Addr, "/")
	h, _ := decodeHandle(in)
	if _, err := engine(t).ContainerRemove(testCtx, h.ContainerID, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	// Also what a restarted cutover sees of an instance an earlier one stopped.
	for _, d := range []*Driver{d, openDriver(t, owner)} {
		st, err := d.Status(testCtx, in)
		if err != nil || st.Running || st.ExitCode != -1 || !strings.Contains(st.Reason, "container "+shortID(h.ContainerID)+" is gone") {
			t.Errorf("Status of an instance whose container was removed = %+v, %v; want ended, container gone", st, err)
		}
		if _, err := d.Logs(testCtx, in, 10); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("Logs of an instance whose container was removed: err = %v, want ErrNotFound", err)
		}
		if err := d.Stop(testCtx, in, time.Second); err != nil {
			t.Errorf("Stop of an instance whose container was removed: %v", err)
		}
	}
	// Without a handle, there is no trace of it.
	if _, err := d.Status(testCtx, runtime.Instance{ID: in.ID}); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Status by ID alone: err = %v, want ErrNotFound", err)
	}
}

func TestRemoteHosts(t *testing.T) {
	for host, want := range map[string]string{
		"tcp://engine.internal":        "tcp://engine.internal:2375",
		"tcp://10.0.0.5:2376":          "tcp://10.0.0.5:2376",
		"tcp://[fd00::5]":              "tcp://[fd00::5]:2375",
		"unix:///run/user/docker.sock": "unix:///run/user/docker.sock",
	} {
		d, err := New(Options{Owner: "x", Host: host})
		if err != nil {
			t.Errorf("New(%s): %v", host, err)
			continue
		}
		if got := d.cli.DaemonHost(); got != want {
			t.Errorf("New(%s) talks to %s, want %s", host, got, want)
		}
		remote := !strings.HasPrefix(host, "unix:")
		if remote && d.bindIP != "0.0.0.0" || !remote && (d.bindIP != "127.0.0.1" || d.addrHost != "127.0.0.1") {
			t.Errorf("New(%s) publishes on %s and reaches instances at %s", host, d.bindIP, d.addrHost)
		}
		d.Close()
	}
}
