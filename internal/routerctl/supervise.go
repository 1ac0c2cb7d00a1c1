package routerctl

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cutover/cutover/internal/handoff"
	"github.com/cutover/cutover/internal/router"
)

// watchInterval is how often Run checks that the router answers when nothing else told it.
const watchInterval = time.Second

// Supervisor is the server's side of the router process: a Client whose Apply keeps the
// held sockets in step with the table, and Run, which restarts the router when it dies.
//
// It holds duplicates of the router's listening sockets, received over FDSocketFile. When
// the router dies, the kernel keeps queueing new connections on them (the backlog) and the
// new router inherits them as an upgrade does, so a kill -9 refuses no connection; only
// requests the dead process was serving fail. A socket the table drops is dropped here
// before the table is pushed, so the port is freed. When the server is down nothing holds
// them: a router that dies then refuses connections until the server starts it again.
type Supervisor struct {
	*Client
	dataDir, exe string
	log          *slog.Logger

	mu   sync.Mutex
	held map[string]*os.File // by handoff name, "tcp:ADDR"
	tls  map[string]bool     // whether each listener of the last table pushed serves TLS
}

// Supervise returns the supervisor of the router serving dataDir, starting one if none
// answers (see Ensure), and takes duplicates of its listening sockets.
func Supervise(ctx context.Context, dataDir, exe string, log *slog.Logger) (s *Supervisor, st Status, started bool, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, st, started, err := Ensure(ctx, dataDir, exe, nil, log)
	if err != nil {
		return nil, st, false, err
	}
	s = &Supervisor{Client: c, dataDir: dataDir, exe: exe, log: log, held: map[string]*os.File{}}
	if err := s.refresh(); err != nil {
		log.Warn("could not take the router's listening sockets; a router crash will refuse connections until it is restarted", "err", err)
	}
	return s, st, started, nil
}

// Apply pushes the table, first dropping the sockets it no longer declares or switches
// between plain and TLS (the router frees or rebinds their ports), then takes the router's
// sockets again.
func (s *Supervisor) Apply(t router.Table) error {
	prev := s.lastTLS()
	keep := map[string]bool{}
	tls := map[string]bool{}
	for _, l := range t.Listeners {
		tls[l.Addr] = l.CertFile != ""
		was, known := prev[l.Addr]
		keep["tcp:"+l.Addr] = !known || was == tls[l.Addr]
	}
	s.mu.Lock()
	s.tls = tls
	for n, f := range s.held {
		if !keep[n] {
			_ = f.Close()
			delete(s.held, n)
		}
	}
	s.mu.Unlock()
	err := s.Client.Apply(t)
	if rerr := s.refresh(); rerr != nil {
		s.log.Warn("could not take the router's listening sockets", "err", rerr)
	}
	return err
}

// lastTLS is the TLS state of the listeners of the table last pushed, or of the table the
// router serves before the first push.
func (s *Supervisor) lastTLS() map[string]bool {
	s.mu.Lock()
	prev := s.tls
	s.mu.Unlock()
	if prev != nil {
		return prev
	}
	prev = map[string]bool{}
	if t, err := s.Client.Table(); err == nil {
		for _, l := range t.Listeners {
			prev[l.Addr] = l.CertFile != ""
		}
	}
	return prev
}

// Held lists the addresses whose sockets the supervisor holds.
func (s *Supervisor) Held() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.held))
	for n := range s.held {
		out = append(out, strings.TrimPrefix(n, "tcp:"))
	}
	return out
}

// Close drops the held sockets.
func (s *Supervisor) Close() {
	s.replace(map[string]*os.File{})
}

func (s *Supervisor) replace(files map[string]*os.File) {
	s.mu.Lock()
	old := s.held
	s.held = files
	s.mu.Unlock()
	closeFiles(old)
}

// dial connects to the router's fd-passing socket and receives its sockets.
func (s *Supervisor) dial() (*net.UnixConn, map[string]*os.File, error) {
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: FDSocketPath(s.dataDir), Net: "unixpacket"})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(callTimeout))
	files, err := handoff.RecvFiles(c)
	if err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, files, nil
}

func (s *Supervisor) refresh() error {
	c, files, err := s.dial()
	if err != nil {
		return err
	}
	_ = c.Close()
	s.replace(files)
	return nil
}

// hold takes the sockets, then waits until the router process ends the connection (it died,
// stopped or handed over to an upgrade) or ctx ends.
func (s *Supervisor) hold(ctx context.Context) error {
	c, files, err := s.dial()
	if err != nil {
		return err
	}
	s.replace(files)
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	defer c.Close()
	var b [1]byte
	_, err = c.Read(b[:])
	return err
}

// dups duplicates the held sockets for a new router process (the caller closes them).
func (s *Supervisor) dups() map[string]*os.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*os.File, len(s.held))
	for n, f := range s.held {
		raw, err := f.SyscallConn()
		if err != nil {
			continue
		}
		var dup int
		derr := raw.Control(func(fd uintptr) { dup, err = unix.Dup(int(fd)) })
		if derr != nil || err != nil {
			continue
		}
		unix.CloseOnExec(dup)
		out[n] = os.NewFile(uintptr(dup), n)
	}
	return out
}

// Run restarts the router process when it stops answering, handing it the held sockets,
// and runs resync (which pushes the engine's table) whenever the process changed, until ctx
// ends. It learns of a death at once from the fd-passing connection, and checks every
// second besides.
func (s *Supervisor) Run(ctx context.Context, resync func() error) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	ended := make(chan struct{}, 1)
	holding := false
	last := 0
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := s.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("router process not answering; starting it again", "err", err)
			held := s.dups()
			_, st, _, err = ensure(ctx, s.dataDir, s.exe, nil, held, s.log)
			closeFiles(held)
			if err != nil {
				s.log.Error("router process could not be started; will retry", "err", err)
			}
		}
		if err == nil && st.PID != last {
			if last != 0 { // restarted or upgraded: make sure it serves the engine's table
				if err := resync(); err != nil {
					s.log.Error("could not push the table to the router; will retry", "err", err)
				} else {
					s.log.Info("router process changed; table pushed", "pid", st.PID, "was", last)
					last = st.PID
				}
			} else {
				last = st.PID
			}
		}
		if err == nil && !holding {
			holding = true
			go func() {
				if herr := s.hold(ctx); herr != nil && ctx.Err() == nil {
					s.log.Debug("fd-passing connection ended", "err", herr)
				}
				ended <- struct{}{}
			}()
		}
		select {
		case <-ctx.Done():
			if holding {
				<-ended
			}
			return
		case <-ended:
			holding = false
		case <-t.C:
		}
	}
}
