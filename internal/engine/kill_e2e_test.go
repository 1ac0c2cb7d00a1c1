package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/runtime/process"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// controllerMain is the child-process mode of TestE2EControllerKilledMidCanary: a whole control
// plane over CUTOVER_E2E_DIR that either starts a canary and waits to be killed, or resumes
// whatever is in progress and reports how it ended.
func controllerMain(mode string) {
	t := &testing.T{}
	r := &rig{t: t, dir: os.Getenv("CUTOVER_E2E_DIR"), listen: os.Getenv("CUTOVER_E2E_LISTEN")}
	r.url = "http://" + r.listen
	r.open()
	fail := func(err error) { fmt.Println("error", err); os.Exit(1) }
	switch mode {
	case "start":
		if err := r.eng.Apply(r.spec(strings.Replace(canary, "pause: 700ms}", "pause: 3s}", 1))); err != nil {
			fail(err)
		}
		if s := r.deploy("v1", nil); s.Phase != deploy.PhaseSucceeded {
			fail(fmt.Errorf("v1 %s", s.Reason))
		}
		s, err := r.eng.Deploy(context.Background(), "web", "v2", nil)
		if err != nil {
			fail(err)
		}
		for {
			st, _ := r.eng.Deployment(s.ID)
			if st.Phase == deploy.PhaseShifting {
				fmt.Println("shifting", s.ID)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		select {} // wait for SIGKILL
	case "resume":
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := r.eng.Wait(ctx, "web"); err != nil {
			fail(err)
		}
		hist, err := r.eng.History("web")
		if err != nil {
			fail(err)
		}
		fmt.Println("ended", hist[0].ID, hist[0].Phase)
		fmt.Println("reason", hist[0].Reason)
		r.close()
		os.Exit(0)
	}
}

func TestE2EControllerKilledMidCanary(t *testing.T) {
	dir, listen := t.TempDir(), sampletest.FreeAddr(t)
	exe, _ := os.Executable()
	start := func(mode string) (*exec.Cmd, *bufio.Scanner) {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "CUTOVER_E2E_CONTROLLER="+mode, "CUTOVER_E2E_DIR="+dir, "CUTOVER_E2E_LISTEN="+listen)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, bufio.NewScanner(out)
	}
	driver, err := process.New(process.Options{StateDir: filepath.Join(dir, "instances")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ins, _ := driver.List(context.Background())
		for _, in := range ins {
			_ = driver.Stop(context.Background(), in, time.Second)
		}
	})

	// Analysis needs traffic. The router lives in the controller process here, so requests fail
	// while it is down: only the deployment's outcome and the instances are checked.
	l := startLoad(t, "http://"+listen, 2)
	defer l.end()
	first, out := start("start")
	if !out.Scan() || !strings.HasPrefix(out.Text(), "shifting ") {
		_ = first.Process.Kill()
		t.Fatalf("controller did not reach the canary: %q", out.Text())
	}
	id := strings.TrimPrefix(out.Text(), "shifting ")
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	before, _ := driver.List(context.Background())
	if len(before) != 4 {
		t.Fatalf("after the kill %d instances run, want 4 (v1 and v2, two each)", len(before))
	}

	second, out := start("resume")
	if !out.Scan() {
		t.Fatal("resumed controller said nothing")
	}
	line := out.Text()
	if out.Scan() {
		t.Log(out.Text())
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("resumed controller: %v (%s)", err, line)
	}
	if line != "ended "+id+" succeeded" {
		t.Fatalf("after the restart: %q, want %q", line, "ended "+id+" succeeded")
	}
	after, _ := driver.List(context.Background())
	if len(after) != 4 {
		t.Fatalf("after resuming %d instances run, want 4 (v2 serving, v1 warm): none lost, none leaked", len(after))
	}
	for _, in := range after {
		for _, b := range before {
			if b.ID == in.ID && string(b.Handle) != string(in.Handle) {
				t.Fatalf("instance %s was restarted instead of re-adopted", in.ID)
			}
		}
	}
}
