package routerctl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/cutover/cutover/internal/handoff"
	"github.com/cutover/cutover/internal/router"
)

// CohortFile is the name, in the data dir, of the apps' shared cohort counters.
const CohortFile = "router-cohorts"

// Options configure the router process.
type Options struct {
	DataDir string
	Logger  *slog.Logger
	// DrainTimeout bounds draining of removed instances, and of this process's connections
	// when it stops or hands over to an upgrade; default 30s.
	DrainTimeout time.Duration
	// Args is the command line an upgrade runs (the new binary at this one's path); default
	// os.Args[1:].
	Args []string
	// UpgradeTimeout bounds how long the new process may take to serve; default 30s.
	UpgradeTimeout time.Duration
}

func (o *Options) fill() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.Args == nil {
		o.Args = os.Args[1:]
	}
	if o.UpgradeTimeout <= 0 {
		o.UpgradeTimeout = 30 * time.Second
	}
}

// proc is one router process.
type proc struct {
	o       Options
	log     *slog.Logger
	r       *router.Router
	lock    *os.File
	ctl     *net.UnixListener
	fds     *fdServer
	started time.Time

	upMu     sync.RWMutex  // held by an upgrade; table pushes take it shared
	upgraded chan struct{} // closed when a new process took over
}

// Run is `cutover router --data-dir DIR`: it serves the saved table of DIR and the control
// socket until ctx ends (then it drains and returns) or until an upgrade hands its sockets
// to a new process (then it drains the connections it has and returns).
func Run(ctx context.Context, o Options) error {
	o.fill()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	in, err := handoff.Inherit()
	if err != nil {
		return err
	}
	p := &proc{o: o, log: o.Logger, started: time.Now(), upgraded: make(chan struct{})}
	if p.lock, err = takeLock(o.DataDir, in); err != nil {
		return err
	}
	defer p.lock.Close()
	p.r = router.New(router.Options{
		Logger: o.Logger, StatePath: filepath.Join(o.DataDir, TableFile),
		CohortFile:   filepath.Join(o.DataDir, CohortFile),
		DrainTimeout: o.DrainTimeout, SampleInterval: 250 * time.Millisecond,
		Listen: func(network, addr string) (net.Listener, error) {
			if ln, ok, err := in.Listener(network + ":" + addr); ok {
				return ln, err
			}
			return net.Listen(network, addr)
		},
	})
	if err := p.restore(); err != nil {
		_ = p.r.Close(context.Background())
		return err
	}
	if p.ctl, err = controlListener(SocketPath(o.DataDir), in); err != nil {
		_ = p.r.Close(context.Background())
		return err
	}
	if p.fds, err = startFDServer(o.DataDir, p.r, in, o.Logger); err != nil {
		_ = p.ctl.Close()
		_ = p.r.Close(context.Background())
		return err
	}
	srv := &http.Server{Handler: newHandler(&control{r: p.r, status: p.status, upgrade: p.upgrade, gate: p.gate}),
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(p.ctl) }()
	upgrading := in.Upgrading()
	if err := in.Ready(); err != nil {
		p.log.Error("could not tell the previous router we serve; it will time out and keep serving too", "err", err)
	}
	p.log.Info("router serving", "pid", os.Getpid(), "socket", SocketPath(o.DataDir), "took_over", upgrading)
	return p.serve(ctx, srv)
}

// serve waits for a stop or an upgrade, then drains.
func (p *proc) serve(ctx context.Context, srv *http.Server) error {
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	defer signal.Stop(usr2)
	for done := false; !done; {
		select {
		case <-usr2:
			uctx, cancel := context.WithTimeout(context.Background(), p.o.UpgradeTimeout)
			if _, err := p.upgrade(uctx); err != nil {
				p.log.Error("upgrade failed; still serving", "err", err)
			}
			cancel()
		case <-p.upgraded:
			p.log.Info("a new router process took over; draining this one's connections", "timeout", p.o.DrainTimeout)
			p.ctl.SetUnlinkOnClose(false) // the socket file is the new process's now
			p.fds.close(false)            // the server reconnects, to the new process
			done = true
		case <-ctx.Done():
			p.log.Info("stopping: draining connections", "timeout", p.o.DrainTimeout)
			p.fds.close(true)
			done = true
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(sctx)
	cancel()
	dctx, cancel := context.WithTimeout(context.Background(), p.o.DrainTimeout)
	defer cancel()
	return p.r.Close(dctx)
}

// gate lets a table push through unless an upgrade is under way (it waits) or done (it is
// refused with errHandedOver). The caller runs release when the push is applied.
func (p *proc) gate() (release func(), err error) {
	p.upMu.RLock()
	select {
	case <-p.upgraded:
		p.upMu.RUnlock()
		return nil, errHandedOver
	default:
		return p.upMu.RUnlock, nil
	}
}

func (p *proc) status() Status {
	return Status{PID: os.Getpid(), Started: p.started, Apps: len(p.r.Table().Apps)}
}

// restore serves the saved table; a missing one is a first start.
func (p *proc) restore() error {
	path := filepath.Join(p.o.DataDir, TableFile)
	t, err := router.LoadTable(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore the routing table: %w (move %s away to start with an empty table)", err, path)
	}
	if err := p.r.Apply(t); err != nil {
		return fmt.Errorf("restore the routing table %s: %w", path, err)
	}
	p.log.Info("routing table restored", "apps", len(t.Apps), "listeners", len(t.Listeners))
	return nil
}
