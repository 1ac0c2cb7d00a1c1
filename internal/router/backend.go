package router

import (
	"bufio"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cutover/cutover/internal/signals"
)

// maxIdlePerBackend bounds the idle upstream connections kept per instance.
const maxIdlePerBackend = 512

// backend is the live state of one instance. It outlives table swaps while the instance stays
// in the table (same ID, app and address), so health, counters and warm connections carry over.
type backend struct {
	id, app, addr, version string
	rec                    *signals.Recorder

	healthy      atomic.Bool  // from active probes (true until a probe says otherwise)
	ejectedUntil atomic.Int64 // unix nanos; passive ejection after consecutive connect errors
	connFails    atomic.Int32 // consecutive connect errors
	inflight     atomic.Int64 // requests in progress, long-lived ones included
	streams      atomic.Int64 // of which WebSockets and streaming responses
	removed      atomic.Bool  // no longer in the table: draining
	pending      atomic.Bool  // joined a running router; not picked before its first passing probe

	mu      sync.Mutex
	idle    []*upConn            // LIFO: the warmest connection first
	busy    map[*upConn]struct{} // upstream connections carrying a request now
	tunnels map[*tunnel]struct{} // hijacked WebSocket sessions
	drained chan struct{}        // closed once removed and idle
	once    sync.Once
}

func newBackend(app, version string, in Instance) *backend {
	b := &backend{
		id: in.ID, app: app, addr: in.Addr, version: version,
		rec:     signals.NewRecorder(),
		busy:    map[*upConn]struct{}{},
		tunnels: map[*tunnel]struct{}{},
		drained: make(chan struct{}),
	}
	b.healthy.Store(true)
	return b
}

// available reports whether new requests may go to b.
func (b *backend) available(now int64) bool {
	return b.healthy.Load() && !b.pending.Load() && b.ejectedUntil.Load() <= now
}

// upConn is one keep-alive HTTP/1.1 connection to an instance.
type upConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
	rs respState // reused by each response read on this connection
	rd readDeadline
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 8<<10) }}
)

// get returns an idle connection (reused=true) or dials a new one.
func (b *backend) get(ctx context.Context, dialTimeout time.Duration) (c *upConn, reused bool, err error) {
	b.mu.Lock()
	if n := len(b.idle); n > 0 {
		c = b.idle[n-1]
		b.idle[n-1] = nil
		b.idle = b.idle[:n-1]
		b.busy[c] = struct{}{}
		b.mu.Unlock()
		return c, true, nil
	}
	b.mu.Unlock()
	c, err = b.dial(ctx, dialTimeout)
	return c, false, err
}

func (b *backend) dial(ctx context.Context, timeout time.Duration) (*upConn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		return nil, err
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(nc)
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(nc)
	c := &upConn{nc: nc, br: br, bw: bw, rd: readDeadline{nc: nc}}
	b.mu.Lock()
	b.busy[c] = struct{}{}
	b.mu.Unlock()
	return c, nil
}

// put returns a healthy connection to the idle pool, or closes it when b is draining.
func (b *backend) put(c *upConn) {
	b.mu.Lock()
	delete(b.busy, c)
	if !b.removed.Load() && len(b.idle) < maxIdlePerBackend {
		b.idle = append(b.idle, c)
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	c.close()
}

// discard closes a connection that must not be reused.
func (b *backend) discard(c *upConn) {
	b.mu.Lock()
	delete(b.busy, c)
	b.mu.Unlock()
	c.close()
}

func (c *upConn) close() {
	_ = c.nc.Close()
	if c.br != nil {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.bw.Reset(nil)
		writerPool.Put(c.bw)
		c.br, c.bw = nil, nil
	}
}

// end records a finished request; the caller counted it in inflight and in the recorder.
func (b *backend) end(status int, d time.Duration, in, out int64) {
	b.rec.End(status, d, in, out)
	if b.inflight.Add(-1) == 0 && b.removed.Load() {
		b.markDrained()
	}
}

// connectFailed counts a connection error and ejects b after limit consecutive ones.
func (b *backend) connectFailed(limit int, cooldown time.Duration, now time.Time) bool {
	if int(b.connFails.Add(1)) >= limit {
		b.ejectedUntil.Store(now.Add(cooldown).UnixNano())
		b.connFails.Store(0)
		return true
	}
	return false
}

func (b *backend) connectOK() {
	if b.connFails.Load() != 0 {
		b.connFails.Store(0)
	}
}

// remove takes b out of service: new requests already cannot reach it (it is not in the
// table); idle connections close now; it counts as drained once in-flight work ends.
func (b *backend) remove() {
	b.removed.Store(true)
	b.mu.Lock()
	idle := b.idle
	b.idle = nil
	b.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
	if b.inflight.Load() == 0 {
		b.markDrained()
	}
}

func (b *backend) markDrained() { b.once.Do(func() { close(b.drained) }) }

// forceClose ends what is still in flight on b: WebSockets get a close frame, other upstream
// connections are closed. It returns how many it closed.
func (b *backend) forceClose() int {
	b.mu.Lock()
	conns := make([]*upConn, 0, len(b.busy))
	for c := range b.busy {
		conns = append(conns, c)
	}
	tunnels := make([]*tunnel, 0, len(b.tunnels))
	for t := range b.tunnels {
		tunnels = append(tunnels, t)
	}
	b.mu.Unlock()
	for _, t := range tunnels {
		t.goAway()
	}
	for _, c := range conns {
		_ = c.nc.Close()
	}
	return len(conns) + len(tunnels)
}
