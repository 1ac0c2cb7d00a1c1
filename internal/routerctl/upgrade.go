package routerctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cutover/cutover/internal/handoff"
)

// upgrade hands every socket to a new process run from the binary now at this one's path,
// and returns its PID once it serves; this process then drains and exits. On failure this
// process goes on serving.
func (p *proc) upgrade(ctx context.Context) (int, error) {
	// Tables pushed meanwhile wait: the new process reads the saved table as it starts, so
	// one applied here after that would be lost. After a handover they are refused with
	// errHandedOver, and the client sends them again (to the new process).
	p.upMu.Lock()
	defer p.upMu.Unlock()
	select {
	case <-p.upgraded:
		return 0, errors.New("an upgrade already took over; this process is draining")
	default:
	}
	exe, err := handoff.Executable()
	if err != nil {
		return 0, err
	}
	files, err := p.r.ListenerFiles()
	if err != nil {
		return 0, err
	}
	named := make(map[string]*os.File, len(files)+2)
	for addr, f := range files {
		named["tcp:"+addr] = f
	}
	defer func() {
		for _, f := range named {
			_ = f.Close()
		}
	}()
	ctl, err := handoff.DupFile(p.ctl, "control socket")
	if err != nil {
		return 0, err
	}
	named["unix:"+SocketPath(p.o.DataDir)] = ctl
	fds, err := handoff.DupFile(p.fds.ln, "fd-passing socket")
	if err != nil {
		return 0, err
	}
	named["unixpacket:"+FDSocketPath(p.o.DataDir)] = fds
	named["lock"] = p.lock
	p.log.Info("upgrading: starting a new router process with this one's sockets", "exe", exe, "sockets", len(files)+1)
	pid, err := handoff.Start(ctx, exe, p.o.Args, named, os.Stdout, os.Stderr)
	delete(named, "lock") // still ours to close at exit
	if err != nil {
		return 0, err
	}
	p.log.Info("upgrade: new router process serves", "pid", pid)
	close(p.upgraded)
	return pid, nil
}

// takeLock makes this the only router serving dataDir: an exclusive flock on router.lock,
// or the lock inherited from the process this one replaces.
func takeLock(dataDir string, in *handoff.Inherited) (*os.File, error) {
	if f := in.File("lock"); f != nil {
		return f, nil
	}
	path := filepath.Join(dataDir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the router lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another cutover router already serves %s (it holds %s); stop it first, or upgrade it with `kill -USR2 PID`", dataDir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// controlListener is the inherited control socket, or a new one (mode 0600). A socket file
// left by a dead router is removed; the lock says nobody else serves this directory.
func controlListener(path string, in *handoff.Inherited) (*net.UnixListener, error) {
	ln, ok, err := in.Listener("unix:" + path)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove the stale control socket %s: %w", path, err)
		}
		if ln, err = net.Listen("unix", path); err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("restrict the control socket: %w", err)
		}
	}
	ul, isUnix := ln.(*net.UnixListener)
	if !isUnix {
		_ = ln.Close()
		return nil, fmt.Errorf("control socket %s is a %T, not a unix socket", path, ln)
	}
	ul.SetUnlinkOnClose(true) // unless an upgrade hands it over (serve)
	return ul, nil
}
