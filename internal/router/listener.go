package router

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cutover/cutover/internal/handoff"
)

// listener is one bound address and the HTTP server on it. Its handler reads the current
// snapshot on every request, so table swaps apply to open keep-alive connections too.
type listener struct {
	r       *Router
	addr    string
	ln      net.Listener
	srv     *http.Server // TLS listeners, and h2c connections handed off by the fast path
	handler *listenerHandler
	tls     bool
	cert    atomic.Pointer[tls.Certificate]
	done    chan struct{}

	// The HTTP/1.1 fast path of plain listeners (h1server.go).
	h2      *chanListener
	closing atomic.Bool
	// starting counts accepted connections not yet tracked, so shutdown waits for every
	// connection accepted before the listener closed instead of dropping one unanswered.
	starting sync.WaitGroup
	mu       sync.Mutex
	conns    map[*h1conn]struct{}
}

// openListeners binds the listeners t declares that are not bound yet and reloads the
// certificates of TLS listeners that are. It returns the new, not yet serving, listeners.
func (r *Router) openListeners(t Table) ([]*listener, error) {
	var started []*listener
	for _, lc := range t.Listeners {
		isTLS := lc.CertFile != ""
		var cert *tls.Certificate
		if isTLS {
			c, err := tls.LoadX509KeyPair(lc.CertFile, lc.KeyFile)
			if err != nil {
				closeAll(started)
				return nil, fmt.Errorf("listener %s: load certificate %s and key %s: %w", lc.Addr, lc.CertFile, lc.KeyFile, err)
			}
			cert = &c
		}
		if old := r.listeners[lc.Addr]; old != nil {
			if old.tls == isTLS {
				if cert != nil {
					old.cert.Store(cert)
				}
				continue
			}
			// Switching between plain and TLS on one address needs the port: close, then rebind.
			old.shutdownNow()
			delete(r.listeners, lc.Addr)
		}
		l, err := r.bind(lc.Addr, cert)
		if err != nil {
			closeAll(started)
			return nil, err
		}
		started = append(started, l)
	}
	return started, nil
}

func (r *Router) bind(addr string, cert *tls.Certificate) (*listener, error) {
	ln, err := r.opts.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another process using it?)", addr, err)
	}
	l := &listener{r: r, addr: addr, ln: ln, tls: cert != nil, done: make(chan struct{}),
		handler: &listenerHandler{r: r, addr: addr}, conns: map[*h1conn]struct{}{}}
	var protos http.Protocols
	protos.SetHTTP1(true)
	l.srv = &http.Server{
		Handler:           l.handler,
		ReadHeaderTimeout: r.opts.ReadHeaderTimeout,
		IdleTimeout:       r.opts.IdleTimeout,
		MaxHeaderBytes:    r.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelDebug),
		Protocols:         &protos,
	}
	if cert != nil {
		l.cert.Store(cert)
		protos.SetHTTP2(true)
		l.srv.TLSConfig = &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return l.cert.Load(), nil },
		}
	} else {
		protos.SetUnencryptedHTTP2(true)
	}
	return l, nil
}

func (l *listener) serve(log *slog.Logger) {
	if !l.tls {
		// Plain: HTTP/1.1 on the fast path; net/http serves only the h2c connections it hands off.
		l.h2 = newChanListener(l.ln.Addr())
		go func() { _ = l.srv.Serve(l.h2) }()
		go l.acceptH1()
		return
	}
	go func() {
		defer close(l.done)
		if err := l.srv.ServeTLS(l.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("listener stopped", "addr", l.addr, "err", err)
		}
	}()
}

// closeRemovedListeners shuts down, in the background, listeners t no longer declares.
func (r *Router) closeRemovedListeners(t Table) {
	keep := map[string]bool{}
	for _, lc := range t.Listeners {
		keep[lc.Addr] = true
	}
	for addr, l := range r.listeners {
		if !keep[addr] {
			delete(r.listeners, addr)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), r.opts.DrainTimeout)
				defer cancel()
				_ = l.shutdown(ctx)
			}()
		}
	}
}

// shutdown stops accepting, waits for active connections to go idle until ctx ends, then
// closes the rest.
func (l *listener) shutdown(ctx context.Context) error {
	var errH1 error
	if l.h2 != nil {
		errH1 = l.shutdownH1(ctx)
	}
	err := l.srv.Shutdown(ctx)
	if err != nil {
		_ = l.srv.Close()
	}
	err = errors.Join(errH1, err)
	select {
	case <-l.done:
	default:
		_ = l.ln.Close() // never served
	}
	return err
}

func (l *listener) shutdownNow() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = l.shutdown(ctx)
}

func closeAll(ls []*listener) {
	for _, l := range ls {
		_ = l.ln.Close()
	}
}

func shutdownAll(ctx context.Context, ls []*listener) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ls))
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.shutdown(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ListenerFiles returns a duplicate of each listening socket by its table address, for a
// process that takes over serving them (the caller closes the files).
func (r *Router) ListenerFiles() (map[string]*os.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]*os.File, len(r.listeners))
	for addr, l := range r.listeners {
		sc, ok := l.ln.(syscall.Conn)
		if !ok {
			closeFiles(out)
			return nil, fmt.Errorf("listener %s (%T) cannot hand over its socket", addr, l.ln)
		}
		f, err := handoff.DupFile(sc, addr)
		if err != nil {
			closeFiles(out)
			return nil, err
		}
		out[addr] = f
	}
	return out, nil
}

func closeFiles(fs map[string]*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}

// ListenerAddr returns the address a listener is actually bound to (useful with port 0).
func (r *Router) ListenerAddr(addr string) (net.Addr, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.listeners[addr]
	if !ok {
		return nil, false
	}
	return l.ln.Addr(), true
}
