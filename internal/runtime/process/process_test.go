package process

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/runtime/runtimetest"
)

// The test binary doubles as the app the driver runs and as a short-lived "cutover" that
// starts an instance and exits, selected by these variables.
const (
	envTestApp     = "CUTOVER_TEST_APP"     // behaviour: run the test app
	envTestToken   = "CUTOVER_TEST_TOKEN"   // marks every process a test starts, for leak checks
	envStarter     = "CUTOVER_TEST_STARTER" // state dir: start the instance in envStarterSpec, print it, exit
	envStarterSpec = "CUTOVER_TEST_STARTER_SPEC"
)

// subreaper reports whether orphans of this test process's descendants become its children
// (rather than init's), so tests can reap them.
var subreaper bool

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(envTestApp) != "":
		os.Exit(runTestApp(os.Getenv(envTestApp)))
	case os.Getenv(envStarter) != "":
		os.Exit(runStarter(os.Getenv(envStarter)))
	}
	const prSetChildSubreaper = 36
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	subreaper = errno == 0
	os.Exit(m.Run())
}

// runTestApp is the app of runtimetest.Harness.App, plus GET /env/{name}, which answers the
// value of an environment variable, and the behaviour "spawn", which starts a child in the app's
// process group that ignores SIGTERM and prints "child <pid>".
func runTestApp(behaviour string) int {
	release := os.Getenv(runtime.EnvVersion)
	switch behaviour {
	case "serve":
	case "crash":
		time.Sleep(200 * time.Millisecond)
		return 3
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
	case "log":
		for i := 1; i <= 10; i++ {
			fmt.Fprintf(os.Stdout, "hello from %s stdout %d\n", release, i)
			fmt.Fprintf(os.Stderr, "hello from %s stderr %d\n", release, i)
		}
	case "spawn":
		exe, _ := os.Executable()
		child := exec.Command(exe)
		child.Env = append(os.Environ(), envTestApp+"=ignore-term", runtime.EnvPort+"=0")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Printf("child %d\n", child.Process.Pid)
	default:
		fmt.Fprintf(os.Stderr, "unknown behaviour %q\n", behaviour)
		return 2
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, release) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, release) })
	mux.HandleFunc("GET /env/{name}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, os.Getenv(r.PathValue("name")))
	})
	err := http.ListenAndServe("127.0.0.1:"+os.Getenv(runtime.EnvPort), mux)
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// runStarter plays a cutover process that starts one instance and exits, leaving the
// instance to be re-adopted.
func runStarter(stateDir string) int {
	var spec runtime.InstanceSpec
	if err := json.Unmarshal([]byte(os.Getenv(envStarterSpec)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := New(Options{StateDir: stateDir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	in, err := d.Start(context.Background(), spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := json.NewEncoder(os.Stdout).Encode(in); err != nil {
		return 2
	}
	return 0
}

func TestContract(t *testing.T) {
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtime.Driver { return newDriver(t, t.TempDir()) },
		Reopen: func(t *testing.T, old runtime.Driver) runtime.Driver {
			return newDriver(t, old.(*Driver).stateDir)
		},
		App: testApp,
	})
}

func newDriver(t *testing.T, dir string) *Driver {
	t.Helper()
	d, err := New(Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testApp returns the spec of the test app with the behaviour, marked with a fresh token, and
// registers a check that no process carrying the token runs when the test ends.
func testApp(t *testing.T, behaviour string) runtime.InstanceSpec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	token := randomHex()
	t.Cleanup(func() { checkNoneLeft(t, token) })
	return runtime.InstanceSpec{
		ID:      "app-" + token,
		App:     "testapp",
		Release: "t1",
		Argv:    []string{exe},
		Env:     map[string]string{envTestApp: behaviour, envTestToken: token},
	}
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// checkNoneLeft fails t if a live process carries token in its environment, and kills it.
func checkNoneLeft(t *testing.T, token string) {
	t.Helper()
	mark := []byte(envTestToken + "=" + token + "\x00")
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "environ"))
		if err != nil || !strings.Contains(string(env), string(mark)) {
			continue
		}
		if st, err := readStat(pid); err == nil && !st.exited() {
			t.Errorf("process %d of this test still runs (state %c)", pid, st.State)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func start(t *testing.T, d *Driver, spec runtime.InstanceSpec) (runtime.Instance, handle) {
	t.Helper()
	in, err := d.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Stop(context.Background(), in, time.Second); err != nil {
			t.Errorf("cleanup: Stop: %v", err)
		}
	})
	h, err := decodeHandle(in)
	if err != nil {
		t.Fatal(err)
	}
	return in, h
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(addr, path string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return string(b), err
}

func waitServing(t *testing.T, in runtime.Instance) {
	t.Helper()
	eventually(t, in.ID+" serves", func() bool { _, err := get(in.Addr, "/"); return err == nil })
}

func status(t *testing.T, d *Driver, in runtime.Instance) runtime.Status {
	t.Helper()
	st, err := d.Status(context.Background(), in)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

// reaped reports whether h's process is gone for good: no entry, not even a zombie.
func reaped(h handle) bool {
	st, err := readStat(h.PID)
	return errors.Is(err, errNoProcess) || err == nil && st.StartTicks != h.StartTicks
}

func TestEnvPrecedence(t *testing.T) {
	t.Setenv("CUTOVER_TEST_INHERITED", "from-cutover")
	t.Setenv(runtime.EnvApp, "inherited-app")
	d := newDriver(t, t.TempDir())
	spec := testApp(t, "serve")
	spec.Env["EXTRA"] = "from-spec"
	spec.Env[runtime.EnvVersion] = "from-spec"
	spec.Env[runtime.EnvPort] = "1"
	in, _ := start(t, d, spec)
	waitServing(t, in)
	_, port, _ := net.SplitHostPort(in.Addr)
	for name, want := range map[string]string{
		"CUTOVER_TEST_INHERITED": "from-cutover", // cutover's environment
		"EXTRA":                  "from-spec",    // spec.Env
		runtime.EnvVersion:       spec.Release,   // cutover's variables win over spec.Env
		runtime.EnvPort:          port,
		runtime.EnvApp:           spec.App, // and over cutover's environment
		runtime.EnvInstance:      spec.ID,
	} {
		if got, err := get(in.Addr, "/env/"+name); err != nil || got != want {
			t.Errorf("$%s = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestStatusOfExternallyKilled(t *testing.T) {
	d := newDriver(t, t.TempDir())
	in, h := start(t, d, testApp(t, "serve"))
	waitServing(t, in)
	if err := syscall.Kill(h.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st runtime.Status
	eventually(t, "Status reports the kill", func() bool { st = status(t, d, in); return !st.Running })
	want := runtime.Status{ExitCode: -1, Signal: "SIGKILL", Reason: "killed by SIGKILL"}
	if st != want {
		t.Errorf("Status = %+v, want %+v", st, want)
	}
	if _, err := os.Stat(d.instancePath(in.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("instance file of a dead instance: %v, want it removed", err)
	}
}

func TestNoZombies(t *testing.T) {
	d := newDriver(t, t.TempDir())
	crashed, hc := start(t, d, testApp(t, "crash"))
	stopped, hs := start(t, d, testApp(t, "serve"))
	waitServing(t, stopped)
	if err := d.Stop(context.Background(), stopped, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !reaped(hs) {
		t.Errorf("stopped instance's pid %d not reaped after Stop returned", hs.PID)
	}
	eventually(t, "crash exits", func() bool { return !status(t, d, crashed).Running })
	if !reaped(hc) {
		t.Errorf("crashed instance's pid %d not reaped after Status reported the exit", hc.PID)
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d := newDriver(t, dir)
	in, h := start(t, d, testApp(t, "log"))
	for path, want := range map[string]os.FileMode{
		dir:                             0o700,
		filepath.Join(dir, logsDir):     0o700,
		filepath.Join(dir, "instances"): 0o700,
		h.Log:                           0o600,
		d.instancePath(in.ID):           0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	if h.Log != filepath.Join(dir, logsDir, in.ID+".log") {
		t.Errorf("log path %s, want under %s", h.Log, dir)
	}
}

func TestStartRejectsBadSpecs(t *testing.T) {
	d := newDriver(t, t.TempDir())
	good := testApp(t, "serve")
	for _, tc := range []struct {
		desc   string
		change func(*runtime.InstanceSpec)
	}{
		{"path in id", func(s *runtime.InstanceSpec) { s.ID = "../x" }},
		{"empty id", func(s *runtime.InstanceSpec) { s.ID = "" }},
		{"no argv", func(s *runtime.InstanceSpec) { s.Argv = nil }},
		{"no release", func(s *runtime.InstanceSpec) { s.Release = "" }},
		{"env name with =", func(s *runtime.InstanceSpec) { s.Env = map[string]string{"A=B": "c"} }},
		{"missing program", func(s *runtime.InstanceSpec) { s.Argv = []string{"/nonexistent/cutover-app"} }},
	} {
		spec := good
		spec.Env = map[string]string{envTestApp: "serve"}
		tc.change(&spec)
		if in, err := d.Start(context.Background(), spec); err == nil {
			d.Stop(context.Background(), in, time.Second)
			t.Errorf("%s: Start succeeded, want an error", tc.desc)
		}
	}
	if l, err := d.List(context.Background()); err != nil || len(l) != 0 {
		t.Errorf("List after failed starts = %v, %v; want none", l, err)
	}
}

// TestStopKillsTheGroup: a process the instance started outlives the instance's SIGTERM,
// and Stop kills it too.
func TestStopKillsTheGroup(t *testing.T) {
	if !subreaper {
		t.Skip("cannot become a child subreaper, so cannot reap the orphan")
	}
	d := newDriver(t, t.TempDir())
	in, _ := start(t, d, testApp(t, "spawn"))
	waitServing(t, in)
	var child int
	eventually(t, "the app reports its child", func() bool {
		lines, _ := d.Logs(context.Background(), in, 10)
		for _, l := range lines {
			if _, err := fmt.Sscanf(l, "child %d", &child); err == nil {
				return true
			}
		}
		return false
	})
	childStat, err := readStat(child)
	if err != nil {
		t.Fatal(err)
	}
	ch := handle{PID: child, StartTicks: childStat.StartTicks}
	// The child ignores SIGTERM only once it serves; wait until it listens somewhere.
	eventually(t, "the child ignores SIGTERM", func() bool { return sigIgnored(child, syscall.SIGTERM) })

	grace := 300 * time.Millisecond
	began := time.Now()
	if err := d.Stop(context.Background(), in, grace); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < grace {
		t.Errorf("Stop took %v, want at least the %v grace the child needs", took, grace)
	}
	if st, err := readStat(child); err == nil && st.StartTicks == ch.StartTicks && !st.exited() {
		t.Fatalf("child %d still runs after Stop", child)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(child, &ws, 0, nil); err != nil { // it is ours: we are the subreaper
		t.Fatalf("reap child: %v", err)
	}
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want SIGKILL", ws)
	}
}

// sigIgnored reports whether pid ignores sig, from the SigIgn mask of /proc/<pid>/status.
func sigIgnored(pid int, sig syscall.Signal) bool {
	f, err := os.Open(fmt.Sprintf("%s/%d/status", procRoot, pid))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}
