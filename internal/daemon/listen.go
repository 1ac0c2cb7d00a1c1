package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/cutover/cutover/internal/apiserver"
)

// checkListen refuses a TCP address that is not loopback unless the API is served over TLS
// or the operator opted out.
func checkListen(addr string, tlsOn, insecure bool) error {
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("listen address %q: %w (want host:port, e.g. 127.0.0.1:7070)", addr, err)
	}
	if !isLoopback(addr) && !tlsOn && !insecure {
		return fmt.Errorf("listen address %q is not loopback: the API and its token would travel in clear; give --tls-cert and --tls-key, listen on 127.0.0.1, or pass --insecure-non-loopback to accept that", addr)
	}
	return nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// servers are the API's HTTP servers: the unix socket and, optionally, TCP.
type servers struct {
	list   []*http.Server
	cancel context.CancelFunc // ends every request context, so event streams return
	errc   chan error
	socket string
	log    *slog.Logger
}

func serve(cfg Config, h http.Handler, log *slog.Logger) (*servers, error) {
	base, cancel := context.WithCancel(context.Background())
	s := &servers{cancel: cancel, errc: make(chan error, 2), socket: cfg.Socket, log: log}
	unixLn, err := listenUnix(cfg.Socket)
	if err != nil {
		cancel()
		return nil, err
	}
	local := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: apiIdleTimeout,
		BaseContext: func(net.Listener) context.Context { return base },
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context { return apiserver.WithLocal(ctx) }}
	// Every listener is bound before any serves, so a client that reached the socket can
	// reach the TCP address too.
	fail := func(err error) (*servers, error) {
		_ = unixLn.Close()
		s.shutdown()
		return nil, err
	}
	if cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fail(fmt.Errorf("API listener on %s: %w", cfg.Listen, err))
		}
		ln = limitListener{Listener: ln, l: newUnauthLimit(cfg.MaxUnauthConns, cfg.MaxUnauthConnsPerIP)}
		srv := &http.Server{Handler: bodyDeadline(h, cfg.BodyTimeout), ReadHeaderTimeout: cfg.HeaderTimeout, IdleTimeout: apiIdleTimeout,
			BaseContext: func(net.Listener) context.Context { return base }, ConnContext: connContext}
		if cfg.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
			if err != nil {
				_ = ln.Close()
				return fail(fmt.Errorf("API TLS: load certificate %s and key %s: %w", cfg.TLSCert, cfg.TLSKey, err))
			}
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
		s.start(srv, ln)
		log.Info("API listening over TCP (bearer token required)", "addr", ln.Addr().String(), "tls", cfg.TLSCert != "")
	}
	s.start(local, unixLn)
	return s, nil
}

func (s *servers) start(srv *http.Server, ln net.Listener) {
	s.list = append(s.list, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
	}()
}

// shutdown stops accepting calls, lets those in flight finish for a moment, then closes.
func (s *servers) shutdown() {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), apiShutdown)
	defer cancel()
	for _, srv := range s.list {
		if err := srv.Shutdown(ctx); err != nil {
			s.log.Warn("API calls cut short at shutdown", "err", err)
			_ = srv.Close()
		}
	}
	_ = os.Remove(s.socket)
}

// listenUnix listens on path, replacing a stale socket left by a server that died, and
// refusing to steal one a live server still answers on.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("socket path %s exists and is not a socket: move it away or pass another --socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another cutover server answers on %s: stop it first, or pass another --data-dir or --socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("API socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict API socket: %w", err)
	}
	return ln, nil
}

// apiIdleTimeout closes keep-alive API connections a client left idle, so clients that
// forget theirs cannot pile up descriptors in a long-running server.
const apiIdleTimeout = 2 * time.Minute
