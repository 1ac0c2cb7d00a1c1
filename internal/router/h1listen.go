package router

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// acceptH1 is the accept loop of a plain listener on the fast path.
func (l *listener) acceptH1() {
	defer close(l.done)
	var delay time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.r.log.Warn("accept failed; retrying", "addr", l.addr, "err", err, "in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		l.starting.Add(1)
		go l.serveH1(nc)
	}
}

// track adds c to the connections shutdown waits for. A connection accepted while the
// listener was closing is tracked too: its request is answered, with Connection: close.
func (l *listener) track(c *h1conn) {
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	l.starting.Done()
}

func (l *listener) untrack(c *h1conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// idleLinger is how long a keep-alive connection must have been idle before shutdown closes
// it. A client that sends its next request meanwhile is answered with Connection: close and
// reconnects (to the process that took the sockets over, during an upgrade) instead of
// racing a close: closing a connection the moment it looks idle would cut the request a
// busy client is sending right then.
const idleLinger = 500 * time.Millisecond

// shutdownH1 stops accepting, answers each connection's next request with Connection:
// close, closes connections idle for idleLinger, and closes whatever is left when ctx ends.
func (l *listener) shutdownH1(ctx context.Context) error {
	l.closing.Store(true)
	_ = l.ln.Close()
	select { // every connection accepted before the close is tracked from here on
	case <-l.done:
		l.starting.Wait()
	case <-ctx.Done():
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		now := time.Now().UnixNano()
		l.mu.Lock()
		n := 0
		for c := range l.conns {
			if c.tunnel.Load() {
				continue // like net/http: hijacked connections are their owner's to end
			}
			if c.idle.Load() && now-c.idleSince.Load() >= int64(idleLinger) {
				_ = c.nc.Close()
			}
			n++
		}
		l.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			l.mu.Lock()
			for c := range l.conns {
				if !c.tunnel.Load() {
					_ = c.nc.Close()
				}
			}
			l.mu.Unlock()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// chanListener feeds connections handed off by the fast path (h2c) to net/http.
type chanListener struct {
	addr   net.Addr
	ch     chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (c *chanListener) push(nc net.Conn) {
	select {
	case c.ch <- nc:
	case <-c.closed:
		_ = nc.Close()
	}
}

func (c *chanListener) Accept() (net.Conn, error) {
	select {
	case nc := <-c.ch:
		return nc, nil
	case <-c.closed:
		return nil, net.ErrClosed
	}
}

func (c *chanListener) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *chanListener) Addr() net.Addr { return c.addr }
