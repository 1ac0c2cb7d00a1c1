package router

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"
)

// h1writer is the http.ResponseWriter of the fast path. It frames the body with the
// Content-Length the handler set, or chunked for HTTP/1.1 (close-delimited for 1.0).
type h1writer struct {
	c          *h1conn
	req        *http.Request
	h          http.Header
	wrote      bool
	status     int
	noBody     bool
	chunked    bool
	closeAfter bool
	hijacked   bool
	length     int64 // declared Content-Length, -1 if none
	written    int64
	num        [128]byte // formats numbers and the cohort cookie without allocating
	cookie     string    // the cohort cookie's name, when one is to be set
	bucket     int
	gen        int64 // the app's re-balance generation the cookie carries
}

func (w *h1writer) setBucketCookie(name string, bucket int, gen int64) {
	w.cookie, w.bucket, w.gen = name, bucket, gen
}

var _ interface {
	http.ResponseWriter
	http.Flusher
	http.Hijacker
} = (*h1writer)(nil)

func (w *h1writer) reset(c *h1conn, r *http.Request) {
	clear(w.h)
	*w = h1writer{c: c, req: r, h: w.h, length: -1}
}

func (w *h1writer) Header() http.Header { return w.h }

func (w *h1writer) WriteHeader(code int) { w.writeHead(code, nil) }

// writeHead writes the status line and the fields of w.h and then of up (an instance's
// response, hop-by-hop fields and those its Connection names left out), framed by the
// Content-Length either declares, else chunked for HTTP/1.1 (close-delimited for 1.0). Up's
// fields go straight from its map to the wire: nothing is merged or copied.
func (w *h1writer) writeHead(code int, up http.Header) {
	if w.wrote || w.hijacked || code < 100 || code > 999 {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // informational answers are not relayed
	}
	w.wrote, w.status = true, code
	w.noBody = w.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified || code < 200
	cl, ok := w.h["Content-Length"]
	if !ok {
		cl = up["Content-Length"]
	}
	if len(cl) == 1 {
		if n, err := strconv.ParseInt(cl[0], 10, 64); err == nil && n >= 0 {
			w.length = n
		}
	}
	if w.length < 0 && !w.noBody {
		if w.req.ProtoMinor >= 1 {
			w.chunked = true
		} else {
			w.closeAfter = true
		}
	}
	if connectionListed(w.h["Connection"], "close") || w.c.l.closing.Load() {
		w.closeAfter = true // a closing listener tells the client, so it reconnects elsewhere
	}
	bw := w.c.bw
	_, _ = bw.WriteString("HTTP/1.1 ")
	_, _ = bw.Write(strconv.AppendInt(w.num[:0], int64(code), 10))
	_ = bw.WriteByte(' ')
	_, _ = bw.WriteString(http.StatusText(code))
	_, _ = bw.WriteString("\r\n")
	for k, vv := range w.h {
		if k == "Content-Length" || k == "Connection" || k == "Transfer-Encoding" {
			continue
		}
		for _, v := range vv {
			writeHeader(bw, k, v)
		}
	}
	if w.cookie != "" {
		_, _ = bw.WriteString("Set-Cookie: ")
		_, _ = bw.Write(appendBucketCookie(w.num[:0], w.cookie, w.bucket, w.gen)) // grows past num only for a long app name
		_, _ = bw.WriteString("\r\n")
	}
	conn := up["Connection"]
	for k, vv := range up {
		if isHop(k) || (len(conn) > 0 && connectionListed(conn, k)) {
			continue // Content-Length is among them: it is written below
		}
		for _, v := range vv {
			writeHeader(bw, k, v)
		}
	}
	if w.length >= 0 {
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.Write(strconv.AppendInt(w.num[:0], w.length, 10))
		_, _ = bw.WriteString("\r\n")
	}
	if w.chunked {
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if w.closeAfter {
		_, _ = bw.WriteString("Connection: close\r\n")
	}
	_, _ = bw.WriteString("\r\n")
}

var errBodyOverrun = errors.New("response body longer than its Content-Length")

func (w *h1writer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.noBody || w.hijacked {
		return len(p), nil
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, errBodyOverrun
	}
	w.written += int64(len(p))
	bw := w.c.bw
	if w.chunked {
		if len(p) == 0 {
			return 0, nil
		}
		_, _ = bw.Write(strconv.AppendInt(w.num[:0], int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
		n, err := bw.Write(p)
		_, _ = bw.WriteString("\r\n")
		return n, err
	}
	return bw.Write(p)
}

func (w *h1writer) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = w.c.bw.Flush()
}

func (w *h1writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	w.c.tunnel.Store(true)
	_ = w.c.nc.SetReadDeadline(time.Time{}) // the tunnel reads at its own pace
	if err := w.c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	return w.c.nc, bufio.NewReadWriter(w.c.br, bufio.NewWriter(w.c.nc)), nil
}

// finish completes the response: the last chunk, and a check that a declared length was met.
func (w *h1writer) finish() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.chunked {
		_, _ = w.c.bw.WriteString("0\r\n\r\n")
	}
	if !w.noBody && w.length >= 0 && w.written != w.length {
		_ = w.c.bw.Flush()
		return errBodyOverrun
	}
	return flushBatched(w.c.bw)
}
