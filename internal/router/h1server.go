package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The HTTP/1.1 front end serves plain listeners without net/http's per-request machinery (a
// background read per request, a context, header snapshots, sorted header writes), which
// cost the router more CPU than the proxying itself. It parses strictly (h1parse.go) and
// hands each request to the same handler and proxy as net/http does for h2c and TLS, through
// a small http.ResponseWriter. A connection that opens with the HTTP/2 preface is handed to
// net/http (h2c).

var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// h1conn is one client connection on the fast path.
type h1conn struct {
	l    *listener
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	st   reqState // the parsed request, reused across requests
	body h1Body
	w    h1writer
	rd   readDeadline
	idle atomic.Bool
	// idleSince is when the connection last went idle (Unix nanoseconds).
	idleSince atomic.Int64
	tunnel    atomic.Bool // hijacked: owned by a WebSocket tunnel, which drain closes properly
	remote    string
}

var (
	h1ReaderPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}
	h1WriterPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 8<<10) }}
)

func (l *listener) serveH1(nc net.Conn) {
	c := &h1conn{l: l, nc: nc, remote: nc.RemoteAddr().String()}
	c.w.h = http.Header{}
	c.br = h1ReaderPool.Get().(*bufio.Reader)
	c.br.Reset(nc)
	c.bw = h1WriterPool.Get().(*bufio.Writer)
	c.bw.Reset(nc)
	c.rd.nc = nc
	c.idleSince.Store(time.Now().UnixNano())
	c.idle.Store(true)
	l.track(c)
	handedOff := false
	defer func() {
		l.untrack(c)
		if !handedOff && !c.w.hijacked {
			_ = nc.Close()
		}
		if !handedOff {
			c.br.Reset(nil)
			h1ReaderPool.Put(c.br)
		}
		c.bw.Reset(nil)
		h1WriterPool.Put(c.bw)
	}()
	opts := &l.r.opts
	c.rd.set(time.Now().Add(opts.ReadHeaderTimeout))
	if isH2, err := c.sniffH2(); err != nil {
		return
	} else if isH2 {
		handedOff = true
		l.h2.push(&prefixedConn{Conn: nc, r: c.br})
		return
	}
	var idleAt time.Time // when the last response ended
	for first := true; ; first = false {
		if !first {
			c.rd.extend(idleAt, opts.IdleTimeout)
			if _, err := c.br.Peek(1); err != nil {
				return
			}
			if !c.headBuffered() {
				// The rest of the head is still to come: it gets ReadHeaderTimeout from now,
				// which is what holds a slowloris client off.
				c.rd.set(time.Now().Add(opts.ReadHeaderTimeout))
			}
		}
		c.idle.Store(false)
		if !c.serveOne() {
			return
		}
		// Idle until the next request; a closing listener answers it with Connection: close
		// (returning here would cut the next request of a client told to keep the
		// connection), or shutdown closes the connection once it has been idle a while.
		idleAt = time.Now()
		c.idleSince.Store(idleAt.UnixNano())
		c.idle.Store(true)
	}
}

// headBuffered reports whether a whole request head is already in the read buffer, so
// parsing it reads nothing from the client.
func (c *h1conn) headBuffered() bool {
	b, _ := c.br.Peek(c.br.Buffered())
	return bytes.Contains(b, []byte("\r\n\r\n"))
}

// sniffH2 reads just enough to tell the HTTP/2 preface from an HTTP/1 request line.
func (c *h1conn) sniffH2() (bool, error) {
	for n := 1; ; {
		if _, err := c.br.Peek(n); err != nil {
			return false, err
		}
		m := min(c.br.Buffered(), len(h2Preface))
		b, _ := c.br.Peek(m)
		if !bytes.Equal(b, h2Preface[:m]) {
			return false, nil
		}
		if m == len(h2Preface) {
			return true, nil
		}
		n = m + 1
	}
}

// serveOne handles one request; it reports whether the connection may carry another.
func (c *h1conn) serveOne() (keep bool) {
	hr, err := readRequestHead(c.br, c.l.r.opts.MaxHeaderBytes, &c.st)
	if err != nil {
		var he *h1Error
		if errors.As(err, &he) {
			c.refuse(he)
		}
		return false
	}
	r := hr.req
	r.RemoteAddr = c.remote
	c.body = h1Body{c: c}
	body := &c.body
	switch {
	case hr.chunked:
		body.r = newChunkedBody(c.br)
	case r.ContentLength > 0:
		body.r = io.LimitReader(c.br, r.ContentLength)
	default:
		body.done = true
	}
	if !body.done {
		// The body streams at the client's pace; the head's deadline no longer applies. A
		// request without a body reads nothing more until the next head, which sets its own.
		c.rd.set(time.Time{})
		body.expect100 = hr.expect100
		r.Body = body
	}
	w := &c.w
	w.reset(c, r)
	if !c.handle(w, r) || w.hijacked {
		return false
	}
	if err := w.finish(); err != nil {
		return false
	}
	return !hr.close && !w.closeAfter && body.done
}

// handle runs the handler; a panic with http.ErrAbortHandler (a response cut short) closes
// the connection, as net/http does.
func (c *h1conn) handle(w *h1writer, r *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				c.l.r.log.Error("panic serving a request", "addr", c.l.addr, "panic", v)
			}
			ok = false
		}
	}()
	c.l.handler.ServeHTTP(w, r)
	return true
}

// refuse answers a request the parser rejected and closes.
func (c *h1conn) refuse(e *h1Error) {
	msg := "cutover: " + e.msg + "\n"
	_, _ = c.bw.WriteString("HTTP/1.1 " + strconv.Itoa(e.status) + " " + http.StatusText(e.status) +
		"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(msg)) + "\r\n\r\n" + msg)
	_ = c.bw.Flush()
}

// h1Body is a request body on the fast path. It sends 100 Continue before the first read
// when the client asked for it, and notes when the body was read to its end, so the
// connection can carry the next request.
type h1Body struct {
	c         *h1conn
	r         io.Reader
	expect100 bool
	done      bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.expect100 {
		b.expect100 = false
		if !b.c.w.wrote {
			_, _ = b.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := b.c.bw.Flush(); err != nil {
				return 0, err
			}
		}
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.done = true
	}
	return n, err
}

func (b *h1Body) Close() error { return nil }

// prefixedConn replays what was read while sniffing before the rest of the connection.
type prefixedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *prefixedConn) Read(b []byte) (int, error) { return p.r.Read(b) }
