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

func (w *h1writer) WriteHeader(code int) {
	if w.wrote || w.hijacked || code < 100 || code > 999 {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // informational answers are not relayed
	}
	w.wrote, w.status = true, code
	w.noBody = w.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified || code < 200
	if vv := w.h["Content-Length"]; len(vv) == 1 {
		if n, err := strconv.ParseInt(vv[0], 10, 64); err == nil && n >= 0 {
			w.length = n
		}
	}
	if w.length < 0 {
		delete(w.h, "Content-Length")
		if !w.noBody {
			if w.req.ProtoMinor >= 1 {
				w.chunked = true
			} else {
				w.closeAfter = true
			}
		}
	}
	if connectionListed(w.h["Connection"], "close") || w.c.l.closing.Load() {
		w.closeAfter = true // a closing listener tells the client, so it reconnects elsewhere
	}
	delete(w.h, "Connection")
	delete(w.h, "Transfer-Encoding")
	bw := w.c.bw
	_, _ = bw.WriteString("HTTP/1.1 ")
	_, _ = bw.WriteString(strconv.Itoa(code))
	_ = bw.WriteByte(' ')
	_, _ = bw.WriteString(http.StatusText(code))
	_, _ = bw.WriteString("\r\n")
	for k, vv := range w.h {
		for _, v := range vv {
			writeHeader(bw, k, v)
		}
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
		_, _ = bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
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
	return w.c.bw.Flush()
}
