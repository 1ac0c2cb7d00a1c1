package daemon

import (
	"container/list"
	"context"
	"net"
	"sync"
)

// Defaults for Config.MaxUnauthConns and Config.MaxUnauthConnsPerIP.
const (
	DefaultMaxUnauthConns      = 256
	DefaultMaxUnauthConnsPerIP = 16
)

// unauthLimit bounds the TCP connections that have not yet sent an authenticated request
// head, per client address and in total. Past either bound the oldest such connection (of
// that address, or of all) is closed to make room, so a client holding many idle or slow
// connections cannot keep a newcomer out: the newcomer authenticates on its first head and
// stops counting.
type unauthLimit struct {
	mu         sync.Mutex
	max, perIP int
	order      *list.List // of *limitedConn, oldest first
	perAddr    map[string]int
}

type limitedConn struct {
	net.Conn
	l    *unauthLimit
	addr string
	el   *list.Element // nil once authenticated or closed
}

func newUnauthLimit(max, perIP int) *unauthLimit {
	return &unauthLimit{max: max, perIP: perIP, order: list.New(), perAddr: map[string]int{}}
}

type limitListener struct {
	net.Listener
	l *unauthLimit
}

func (ln limitListener) Accept() (net.Conn, error) {
	c, err := ln.Listener.Accept()
	if err != nil {
		return nil, err
	}
	addr := c.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	lc := &limitedConn{Conn: c, l: ln.l, addr: addr}
	var evict []*limitedConn
	l := ln.l
	l.mu.Lock()
	if l.perAddr[addr] >= l.perIP {
		for e := l.order.Front(); e != nil; e = e.Next() {
			if o := e.Value.(*limitedConn); o.addr == addr {
				evict = append(evict, o)
				l.dropLocked(o)
				break
			}
		}
	}
	if l.order.Len() >= l.max {
		o := l.order.Front().Value.(*limitedConn)
		evict = append(evict, o)
		l.dropLocked(o)
	}
	lc.el = l.order.PushBack(lc)
	l.perAddr[addr]++
	l.mu.Unlock()
	for _, o := range evict {
		_ = o.Conn.Close()
	}
	return lc, nil
}

func (l *unauthLimit) dropLocked(c *limitedConn) {
	if c.el == nil {
		return
	}
	l.order.Remove(c.el)
	c.el = nil
	if l.perAddr[c.addr]--; l.perAddr[c.addr] <= 0 {
		delete(l.perAddr, c.addr)
	}
}

func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.dropLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

type limitedConnKey struct{}

// connContext is http.Server.ConnContext: it keeps the connection for authenticated.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = tc.NetConn()
	}
	if lc, ok := c.(*limitedConn); ok {
		return context.WithValue(ctx, limitedConnKey{}, lc)
	}
	return ctx
}

// authenticated stops counting the request's connection: it sent credentials.
func authenticated(ctx context.Context) {
	if lc, ok := ctx.Value(limitedConnKey{}).(*limitedConn); ok {
		lc.l.mu.Lock()
		lc.l.dropLocked(lc)
		lc.l.mu.Unlock()
	}
}
