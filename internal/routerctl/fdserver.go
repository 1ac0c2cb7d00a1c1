package routerctl

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/cutover/cutover/internal/handoff"
	"github.com/cutover/cutover/internal/router"
)

// FDSocketFile is the router's second unix socket (SOCK_SEQPACKET, 0600): whoever connects
// gets one message holding duplicates of every listening socket (SCM_RIGHTS), named
// "tcp:ADDR" as an upgrade names them; then the connection stays open, without a byte more,
// until this router process exits or hands over to an upgrade. The server keeps the
// duplicates, so that the kernel queues new connections while a killed router restarts,
// and learns of the router's death from the end of the connection.
const FDSocketFile = "router-fds.sock"

// FDSocketPath is the fd-passing socket of the router serving dataDir.
func FDSocketPath(dataDir string) string { return filepath.Join(dataDir, FDSocketFile) }

// fdServer serves FDSocketFile.
type fdServer struct {
	r   *router.Router
	ln  *net.UnixListener
	log *slog.Logger

	mu    sync.Mutex
	conns map[*net.UnixConn]struct{}
	done  bool
}

func startFDServer(dataDir string, r *router.Router, in *handoff.Inherited, log *slog.Logger) (*fdServer, error) {
	path := FDSocketPath(dataDir)
	ln, ok, err := in.Listener("unixpacket:" + path)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove the stale socket %s: %w", path, err)
		}
		if ln, err = net.Listen("unixpacket", path); err != nil {
			return nil, fmt.Errorf("fd-passing socket: %w", err)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("restrict the fd-passing socket: %w", err)
		}
	}
	ul, isUnix := ln.(*net.UnixListener)
	if !isUnix {
		_ = ln.Close()
		return nil, fmt.Errorf("fd-passing socket %s is a %T, not a unix socket", path, ln)
	}
	ul.SetUnlinkOnClose(true)
	s := &fdServer{r: r, ln: ul, log: log, conns: map[*net.UnixConn]struct{}{}}
	go s.accept()
	return s, nil
}

func (s *fdServer) accept() {
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		go s.serve(c)
	}
}

// serve sends the sockets, then holds the connection until the peer closes it or close.
func (s *fdServer) serve(c *net.UnixConn) {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	files, err := s.r.ListenerFiles()
	if err != nil {
		s.log.Error("cannot pass the listening sockets", "err", err)
		return
	}
	named := make(map[string]*os.File, len(files))
	for addr, f := range files {
		named["tcp:"+addr] = f
	}
	err = handoff.SendFiles(c, named)
	closeFiles(named)
	if err != nil {
		s.log.Warn("passing the listening sockets failed", "err", err)
		return
	}
	var b [1]byte
	_, _ = c.Read(b[:]) // until the peer or close ends it
}

// close stops accepting and ends every held connection, so that the server reconnects (to
// the process that took over, after an upgrade). unlink says whether to remove the file.
func (s *fdServer) close(unlink bool) {
	s.ln.SetUnlinkOnClose(unlink)
	_ = s.ln.Close()
	s.mu.Lock()
	s.done = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
}

func closeFiles(fs map[string]*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}
