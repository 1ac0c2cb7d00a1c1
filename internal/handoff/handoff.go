// Package handoff passes a server's listening sockets to the process that replaces it, so
// the binary can be upgraded without refusing or dropping a connection. It is systemd-style
// fd passing: the new process gets the sockets as its file descriptors 3, 4, ..., their names
// in an environment variable, and a pipe on which it says it is ready. The old process keeps
// serving until then, and goes on serving if the new one fails to start.
package handoff

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	envNames = "CUTOVER_HANDOFF_NAMES" // comma-separated names of fds 3, 4, ...; the last is the ready pipe
	firstFD  = 3
	readyMsg = "ready\n"
)

// Inherited is what a process received from the one it replaces. The zero value (from a
// normal start) holds nothing.
type Inherited struct {
	files map[string]*os.File
	ready *os.File
}

// Inherit takes the files handed over by a parent that is upgrading, and clears the
// environment variable so that a later child does not see it. Without a handoff it returns
// an empty set.
func Inherit() (*Inherited, error) {
	in := &Inherited{files: map[string]*os.File{}}
	v, ok := os.LookupEnv(envNames)
	if !ok {
		return in, nil
	}
	_ = os.Unsetenv(envNames)
	names := strings.Split(v, ",")
	if len(names) == 0 || names[len(names)-1] != "ready" {
		return nil, fmt.Errorf("handoff: malformed %s=%q (the last name must be the ready pipe)", envNames, v)
	}
	for i, name := range names {
		f := os.NewFile(uintptr(firstFD+i), name)
		if f == nil {
			return nil, fmt.Errorf("handoff: fd %d (%s) is not open", firstFD+i, name)
		}
		if name == "ready" {
			in.ready = f
		} else {
			in.files[name] = f
		}
	}
	return in, nil
}

// Upgrading reports whether this process replaces another one.
func (in *Inherited) Upgrading() bool { return in.ready != nil }

// File takes the inherited file of that name, or nil. The caller owns it.
func (in *Inherited) File(name string) *os.File {
	f := in.files[name]
	delete(in.files, name)
	return f
}

// Listener takes the inherited listening socket of that name. ok is false when there is
// none, and the caller then opens its own.
func (in *Inherited) Listener(name string) (ln net.Listener, ok bool, err error) {
	f := in.File(name)
	if f == nil {
		return nil, false, nil
	}
	defer f.Close() // FileListener dups it
	ln, err = net.FileListener(f)
	if err != nil {
		return nil, true, fmt.Errorf("handoff: inherited socket %s: %w", name, err)
	}
	return ln, true, nil
}

// Ready tells the parent that this process serves, so it may stop accepting and drain, and
// closes the inherited files nobody took (sockets the new table no longer uses).
func (in *Inherited) Ready() error {
	for name, f := range in.files {
		_ = f.Close()
		delete(in.files, name)
	}
	if in.ready == nil {
		return nil
	}
	_, err := in.ready.WriteString(readyMsg)
	cerr := in.ready.Close()
	in.ready = nil
	if err = errors.Join(err, cerr); err != nil {
		return fmt.Errorf("handoff: tell the old process we are ready: %w", err)
	}
	return nil
}

func encodeNames(names []string) (string, error) {
	for _, n := range names {
		if n == "" || n == "ready" || strings.ContainsAny(n, ",\x00") {
			return "", fmt.Errorf("handoff: invalid file name %q", n)
		}
	}
	return strings.Join(append(names, "ready"), ","), nil
}

// DupFile duplicates a socket's descriptor for Start. Unlike net's File methods it leaves
// the socket in non-blocking mode: theirs make os/exec switch the shared open file to
// blocking mode, and an accept loop still running on it would then block in the kernel and
// never see its listener closed.
func DupFile(c syscall.Conn, name string) (*os.File, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("handoff: %s: %w", name, err)
	}
	var dup int
	var derr error
	if err := raw.Control(func(fd uintptr) { dup, derr = unix.Dup(int(fd)) }); err != nil {
		return nil, fmt.Errorf("handoff: %s: %w", name, err)
	}
	if derr != nil {
		return nil, fmt.Errorf("handoff: duplicate %s: %w", name, derr)
	}
	unix.CloseOnExec(dup)
	return os.NewFile(uintptr(dup), name), nil
}
