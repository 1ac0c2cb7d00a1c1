package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// serveUpgrade proxies an HTTP/1.1 Upgrade (WebSocket) request: on 101 the client connection
// is hijacked and bytes flow both ways until either side closes or the instance is drained.
func (p *proxy) serveUpgrade(b *backend) {
	lim := p.app.limits
	b.inflight.Add(1)
	c, err := b.dial(p.req.Context(), time.Duration(lim.DialTimeout))
	if err != nil {
		b.abandon()
		p.connectFailed(b, err)
		p.w.Header().Set("Retry-After", "1")
		plain(p.w, http.StatusBadGateway, "cutover: cannot connect to "+p.app.name+" ("+p.pool.role+")\n")
		return
	}
	b.connectOK()
	b.rec.Begin()
	status, tunnelled := 0, false
	defer func() {
		if !tunnelled {
			b.end(status, time.Since(p.start), 0, 0)
		}
	}()
	if err := p.writeRequest(c.bw, true); err != nil {
		b.discard(c)
		status = p.fail(err)
		return
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(time.Duration(lim.UpstreamTimeout)))
	resp, err := readResponse(c.br, p.req.Method, &c.rs)
	if err != nil {
		b.discard(c)
		status = p.fail(err)
		return
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	status = resp.StatusCode
	if resp.StatusCode != http.StatusSwitchingProtocols {
		ok, _ := p.copyResponse(b, resp)
		b.discard(c)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		return
	}
	hj, ok := p.w.(http.Hijacker)
	if !ok {
		b.discard(c)
		status = http.StatusNotImplemented
		plain(p.w, status, "cutover: this connection cannot be upgraded\n")
		return
	}
	client, crw, err := hj.Hijack()
	if err != nil {
		b.discard(c)
		return
	}
	t := &tunnel{client: client, clientR: crw.Reader, up: c, done: make(chan struct{})}
	if err := writeSwitch(client, resp); err != nil {
		_ = client.Close()
		b.discard(c)
		return
	}
	// The exchange is recorded at the switch; the session stays in flight until it ends.
	tunnelled = true
	b.rec.End(status, time.Since(p.start), 0, 0)
	defer b.abandon()
	b.mu.Lock()
	delete(b.busy, c)
	b.tunnels[t] = struct{}{}
	b.mu.Unlock()
	b.streams.Add(1)
	t.run()
	b.streams.Add(-1)
	b.mu.Lock()
	delete(b.tunnels, t)
	b.mu.Unlock()
	c.close()
}

// writeSwitch sends the 101 response head to the hijacked client.
func writeSwitch(client net.Conn, resp *http.Response) error {
	bw := bufio.NewWriterSize(client, 1024)
	_, _ = bw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	for k, vv := range resp.Header {
		for _, v := range vv {
			writeHeader(bw, k, v)
		}
	}
	_, _ = bw.WriteString("\r\n")
	return bw.Flush()
}

// tunnel is one upgraded connection: client <-> instance.
type tunnel struct {
	client  net.Conn
	clientR *bufio.Reader // may hold bytes the client sent after its request
	up      *upConn
	down    frameTracker // instance -> client
	done    chan struct{}
	mu      sync.Mutex // guards writes to client: the pump and goAway
	closing bool
}

// run pumps both directions and returns when both have stopped.
func (t *tunnel) run() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // client -> instance
		defer wg.Done()
		_, _ = io.Copy(t.up.nc, t.clientR)
		_ = t.up.nc.SetReadDeadline(aLongTimeAgo) // client left: stop the other direction
	}()
	t.pumpDown()
	_ = t.client.Close()
	_ = t.up.nc.Close()
	wg.Wait()
	close(t.done)
}

// pumpDown copies instance -> client, keeping track of WebSocket frame boundaries.
func (t *tunnel) pumpDown() {
	buf := make([]byte, 16<<10)
	for {
		n, err := t.up.br.Read(buf)
		if n > 0 {
			t.mu.Lock()
			_, werr := t.client.Write(buf[:n])
			t.down.feed(buf[:n])
			t.mu.Unlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// goAway ends the tunnel for a drain deadline: the instance side stops, and the client gets
// a WebSocket close frame (1001, going away) when the stream sits on a frame boundary.
func (t *tunnel) goAway() {
	t.mu.Lock()
	if !t.closing {
		t.closing = true
		if t.down.atBoundary() {
			_ = t.client.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = t.client.Write(closeGoingAway)
		}
	}
	t.mu.Unlock()
	_ = t.up.nc.Close()
	_ = t.client.Close()
	<-t.done
}

// closeGoingAway is an unmasked close frame with status 1001 and reason "draining".
var closeGoingAway = []byte{0x88, 0x0a, 0x03, 0xe9, 'd', 'r', 'a', 'i', 'n', 'i', 'n', 'g'}

// frameTracker follows RFC 6455 framing over a byte stream to know where frames end.
type frameTracker struct {
	hdr     [14]byte
	hdrLen  int
	payload uint64 // bytes of the current frame's payload still to come
}

func (f *frameTracker) atBoundary() bool { return f.hdrLen == 0 && f.payload == 0 }

func (f *frameTracker) feed(p []byte) {
	for len(p) > 0 {
		if f.payload > 0 {
			k := uint64(len(p))
			if k > f.payload {
				k = f.payload
			}
			f.payload -= k
			p = p[k:]
			continue
		}
		f.hdr[f.hdrLen] = p[0]
		f.hdrLen++
		p = p[1:]
		if need := headerLen(f.hdr[:f.hdrLen]); need > 0 && f.hdrLen == need {
			f.payload = payloadLen(f.hdr[:need])
			f.hdrLen = 0
		}
	}
}

// headerLen returns the full header size once enough of it is known, else 0.
func headerLen(h []byte) int {
	if len(h) < 2 {
		return 0
	}
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h[1]&0x80 != 0 {
		n += 4 // masking key
	}
	return n
}

func payloadLen(h []byte) uint64 {
	switch l := h[1] & 0x7f; l {
	case 126:
		return uint64(h[2])<<8 | uint64(h[3])
	case 127:
		var v uint64
		for _, c := range h[2:10] {
			v = v<<8 | uint64(c)
		}
		return v
	default:
		return uint64(l)
	}
}
