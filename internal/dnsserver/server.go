package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/netutil"
)

// MaxTCPConns bounds the TCP connections served at once; past it new ones wait in the
// kernel's backlog, so a flood of idle connections cannot exhaust the server.
const MaxTCPConns = 256

// Server answers the Table's names over UDP and TCP on one address.
type Server struct {
	udp, tcp *dns.Server
	addr     string
	done     chan error
	once     sync.Once
	closed   error
}

// Listen binds addr (host:port; port 0 picks one free for both UDP and TCP) and serves t
// until Close.
func Listen(addr string, t *Table, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dns: listen address %q: %w (want HOST:PORT, like 127.0.0.1:5353)", addr, err)
	}
	var pc net.PacketConn
	var ln net.Listener
	for range 20 { // port 0: the UDP port picked may be taken for TCP; pick again
		if pc, err = net.ListenPacket("udp", addr); err != nil {
			return nil, fmt.Errorf("dns: listen on udp %s: %w", addr, err)
		}
		p := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, p)); err == nil || port != "0" {
			break
		}
		pc.Close()
	}
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("dns: listen on tcp %s: %w", addr, err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if err := w.WriteMsg(Answer(req, clientAddr(w.RemoteAddr()), t.Lookup)); err != nil {
			log.Debug("dns: answer not sent", "client", w.RemoteAddr().String(), "err", err)
		}
	})
	s := &Server{
		udp:  &dns.Server{PacketConn: pc, Handler: h},
		tcp:  &dns.Server{Listener: netutil.LimitListener(ln, MaxTCPConns), Handler: h, ReadTimeout: 2 * time.Second, IdleTimeout: func() time.Duration { return 5 * time.Second }},
		addr: pc.LocalAddr().String(),
		done: make(chan error, 2),
	}
	started := make(chan struct{}, 2)
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { s.done <- srv.ActivateAndServe() }()
	}
	for range 2 { // Close may shut them down only once started
		select {
		case <-started:
		case err := <-s.done:
			pc.Close()
			ln.Close()
			return nil, fmt.Errorf("dns: serve %s: %w", s.addr, err)
		}
	}
	log.Info("dns: answering", "addr", s.addr)
	return s, nil
}

// Addr is the address served, with the port picked.
func (s *Server) Addr() string { return s.addr }

// Close stops both listeners and waits for them; closing twice returns the first result.
func (s *Server) Close() error {
	s.once.Do(func() { s.closed = s.close() })
	return s.closed
}

func (s *Server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for range 2 {
		select {
		case <-s.done:
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dns: close %s: %w", s.addr, err)
	}
	return nil
}
