package process

import (
	"context"
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A cutover killed between starting an instance and recording it leaves a process no record
// names. The next driver over the same state dir stops it when it lists (re-adopts), and
// leaves recorded instances and other state dirs' processes alone.
func TestListStopsUnrecordedInstances(t *testing.T) {
	dir := t.TempDir()
	d := newDriver(t, dir)
	kept, _ := start(t, d, testApp(t, "serve"))

	launch := func(stateDir string) *exec.Cmd {
		spec := testApp(t, "serve")
		spec.ID = "orphan-" + spec.ID
		cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
		cmd.Env = environ(nil, spec, 0, stateDir) // PORT=0: any free port
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	orphan := launch(d.stateDir)
	other := launch(t.TempDir()) // another driver's: not ours to stop
	done := make(chan error, 1)
	go func() { done <- orphan.Wait() }()
	t.Cleanup(func() { // before testApp's check that nothing is left
		_ = syscall.Kill(-other.Process.Pid, syscall.SIGKILL)
		_ = other.Wait()
		_ = syscall.Kill(-orphan.Process.Pid, syscall.SIGKILL)
		<-done
		done <- nil
	})

	ins, err := newDriver(t, dir).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].ID != kept.ID {
		t.Fatalf("List = %v, want only the recorded %s", ins, kept.ID)
	}
	select {
	case err := <-done:
		done <- err
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("the unrecorded instance ended with %v, want killed by SIGKILL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the unrecorded instance still runs 10s after List")
	}
	if err := syscall.Kill(other.Process.Pid, 0); err != nil {
		t.Fatalf("another state dir's process was stopped: %v", err)
	}
	if st, err := d.Status(context.Background(), kept); err != nil || !st.Running {
		t.Fatalf("the recorded instance: %+v, %v; want running", st, err)
	}
}
