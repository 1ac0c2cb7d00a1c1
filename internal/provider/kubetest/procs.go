package kubetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is one control-plane process the harness started next to envtest's etcd and
// kube-apiserver. Its stdout and stderr go to <dir>/<name>.log.
type child struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited

	mu      sync.Mutex
	waitErr error
	stopped bool // stop was called: an exit is expected
}

// startChild runs bin with args, logging to a file in dir.
func startChild(dir, bin string, args ...string) (*child, error) {
	name := filepath.Base(bin)
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("kubetest: creating the log file of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group, so a signal to the test binary's group (Ctrl-C) and our
	// own stop both reach it, and it never outlives us by accident unnoticed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("kubetest: starting %s failed (%w); check the binary or %s", bin, err, runScript)
	}
	c := &child{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		f.Close()
		c.mu.Lock()
		c.waitErr = err
		c.mu.Unlock()
		close(c.done)
	}()
	return c, nil
}

// exited reports an unexpected exit as an error (nil while it runs or after stop).
func (c *child) exited() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	return fmt.Errorf("%s exited unexpectedly (%v)", c.name, c.waitErr)
}

// stop sends SIGTERM, waits up to 5 s, then SIGKILLs, and waits for the exit.
func (c *child) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = c.cmd.Process.Kill()
	<-c.done
}

// tail returns the last n lines of the child's log.
func (c *child) tail(n int) string {
	data, err := os.ReadFile(c.log)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", c.log, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Logs returns, for each child process (kube-controller-manager, kube-scheduler, kwok),
// whether it exited unexpectedly and the last lines of its output. Put it in a test's
// failure message when the cluster does not do what the test expects.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, ch := range c.children {
		state := "running"
		if err := ch.exited(); err != nil {
			state = err.Error()
		}
		fmt.Fprintf(&b, "---- %s (%s), tail of %s:\n%s\n", ch.name, state, ch.log, ch.tail(15))
	}
	if c.gw != nil {
		if msg := c.gw.lastErr.Load(); msg != nil {
			fmt.Fprintf(&b, "---- gateway stand-in, last error: %s\n", *msg)
		}
	}
	return b.String()
}

// childFailed returns the first unexpected exit among the children, if any.
func (c *Cluster) childFailed() error {
	for _, ch := range c.children {
		if err := ch.exited(); err != nil {
			return err
		}
	}
	return nil
}
