package process

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/runtime"
)

// startOrphan starts spec from a separate "cutover" process that exits at once, as a
// crashed or restarted cutover would, and returns the instance it reported.
func startOrphan(t *testing.T, stateDir string, spec runtime.InstanceSpec) (runtime.Instance, handle) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(spec)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envStarter+"="+stateDir, envStarterSpec+"="+string(b), "GORACE=atexit_sleep_ms=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("starter: %v", err)
	}
	var in runtime.Instance
	if err := json.Unmarshal(out, &in); err != nil {
		t.Fatalf("starter printed %q: %v", out, err)
	}
	h, err := decodeHandle(in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-h.PGID, syscall.SIGKILL) // in case the test failed before stopping it
		reap(h.PID)
	})
	return in, h
}

// reap waits for pid if it became this process's child (we are a subreaper) and has exited.
func reap(pid int) {
	if !subreaper {
		return
	}
	var ws syscall.WaitStatus
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if got == pid || err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAdoptOrphans: instances outlive the cutover process that started them; a new driver
// lists, serves and stops them, and sees one that dies meanwhile as ended, though its zombie
// remains (nobody waits for it: it is not this driver's child).
func TestAdoptOrphans(t *testing.T) {
	dir := t.TempDir()
	serve, hs := startOrphan(t, dir, withID(testApp(t, "serve"), "orphan-serve"))
	doomed, hd := startOrphan(t, dir, withID(testApp(t, "serve"), "orphan-doomed"))

	d := newDriver(t, dir)
	waitServing(t, serve)
	waitServing(t, doomed)
	for _, in := range []runtime.Instance{serve, doomed} {
		if st := status(t, d, in); !st.Running {
			t.Fatalf("Status of adopted instance %s = %+v, want Running", in.ID, st)
		}
	}

	if err := syscall.Kill(hd.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st runtime.Status
	eventually(t, "the killed adopted instance is seen to exit", func() bool {
		st = status(t, d, doomed)
		return !st.Running
	})
	if st.ExitCode != -1 || st.Reason == "" {
		t.Errorf("Status of an adopted instance that died = %+v, want ExitCode -1 and a Reason", st)
	}
	if subreaper { // its zombie is ours and unreaped: the driver judged it by the 'Z' state
		if s, err := readStat(hd.PID); err != nil || s.State != 'Z' {
			t.Errorf("killed instance: stat %+v, %v; want its zombie", s, err)
		}
		reap(hd.PID)
	}

	l, err := d.List(context.Background())
	if err != nil || len(l) != 1 || l[0].ID != serve.ID {
		t.Fatalf("List = %v, %v; want only %s", l, err, serve.ID)
	}
	if err := d.Stop(context.Background(), serve, 5*time.Second); err != nil {
		t.Fatalf("Stop adopted: %v", err)
	}
	if st := status(t, d, serve); st.Running || st.ExitCode != -1 {
		t.Errorf("Status after Stop of adopted = %+v, want not Running, ExitCode -1", st)
	}
	if _, err := get(serve.Addr, "/"); err == nil {
		t.Errorf("adopted instance still serves after Stop")
	}
	reap(hs.PID)
	if !reaped(hs) && subreaper {
		t.Errorf("adopted instance's pid %d still present after Stop and reaping", hs.PID)
	}
	if _, err := os.Stat(d.instancePath(serve.ID)); !os.IsNotExist(err) {
		t.Errorf("instance file after Stop: %v, want removed", err)
	}
}

func withID(spec runtime.InstanceSpec, id string) runtime.InstanceSpec {
	spec.ID = id
	return spec
}

// TestPIDReuseGuard: an instance file whose PID now belongs to a process with another start
// time is neither listed nor signalled, and is forgotten.
func TestPIDReuseGuard(t *testing.T) {
	dir := t.TempDir()
	d := newDriver(t, dir)

	// A live process the driver did not start, standing for one that got a recorded PID.
	spec := testApp(t, "serve")
	exe := spec.Argv[0]
	other := exec.Command(exe)
	other.Env = append(os.Environ(), envTestApp+"=serve", envTestToken+"="+spec.Env[envTestToken], "PORT=0")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		other.Process.Kill()
		other.Wait()
	})
	st, err := readStat(other.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	h := handle{
		PID: other.Process.Pid, PGID: other.Process.Pid, Port: 1,
		Log: d.logPath("reused"), StartTicks: st.StartTicks - 1, BootID: d.bootID,
	}
	stale := runtime.Instance{ID: "reused", App: "a", Release: "v1", Addr: "127.0.0.1:1",
		Driver: Name, Handle: mustJSON(h), StartedAt: time.Now()}
	if err := d.writeInstance(stale); err != nil {
		t.Fatal(err)
	}

	if l, err := d.List(context.Background()); err != nil || len(l) != 0 {
		t.Fatalf("List = %v, %v; want nothing", l, err)
	}
	if _, err := os.Stat(d.instancePath("reused")); !os.IsNotExist(err) {
		t.Errorf("stale instance file: %v, want removed", err)
	}
	if st := status(t, d, stale); st.Running {
		t.Errorf("Status of stale instance = %+v, want not Running", st)
	}
	if err := d.Stop(context.Background(), stale, 100*time.Millisecond); err != nil {
		t.Fatalf("Stop of stale instance: %v", err)
	}
	if s, err := readStat(other.Process.Pid); err != nil || s.exited() {
		t.Fatalf("the process that reused the PID was hurt: %+v, %v", s, err)
	}
	// A start time from another boot does not match either.
	h.StartTicks, h.BootID = st.StartTicks, "another-boot"
	if l := d.leader(h); l.state != leaderReused {
		t.Errorf("leader with another boot ID = %v, want leaderReused", l.state)
	}
}
