package router

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// listenerHandler serves one listener address from whatever snapshot is current.
type listenerHandler struct {
	r    *Router
	addr string
}

func (h *listenerHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	snap := h.r.snap.Load()
	lr := snap.listeners[h.addr]
	if lr == nil {
		plain(w, http.StatusNotFound, "cutover: this listener has no routes\n")
		return
	}
	if req.Method == http.MethodConnect {
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		plain(w, http.StatusMethodNotAllowed, "cutover: CONNECT is not supported: this is a reverse proxy\n")
		return
	}
	if req.ProtoMajor == 1 && len(req.TransferEncoding) > 0 {
		// net/http drops a Content-Length sent beside Transfer-Encoding, so a request framed
		// both ways cannot be told from a plain chunked one here. Whatever the client
		// pipelined after a chunked body might have been framed differently by a proxy in
		// front: close the connection after the response rather than read it (RFC 9112 6.1).
		w.Header().Set("Connection", "close")
	}
	app, test := lr.match(req.Host, req.URL.Path)
	if app == nil {
		plain(w, http.StatusNotFound, "cutover: no app is routed for this host and path\n")
		return
	}
	if req.ContentLength > app.limits.MaxBodyBytes {
		plain(w, http.StatusRequestEntityTooLarge, "cutover: request body too large\n")
		return
	}
	ch := app.choose(req, test)
	now := start.UnixNano()
	p := ch.pool
	b := p.pick(now, nil)
	if b == nil && ch.other != nil && len(ch.other.backends) > 0 {
		// The chosen version has nobody available: fail over rather than fail the request.
		p = ch.other
		b = p.pick(now, nil)
	}
	if b == nil {
		w.Header().Set("Retry-After", "1")
		plain(w, http.StatusServiceUnavailable, "cutover: no healthy instance of "+app.name+" ("+ch.pool.role+")\n")
		return
	}
	if ch.setBucket >= 0 {
		if bs, ok := w.(bucketSetter); ok {
			bs.setBucketCookie(app.bucketName, ch.setBucket, app.rebalance)
		} else {
			w.Header().Add("Set-Cookie", bucketCookie(app.bucketName, ch.setBucket, app.rebalance))
		}
	}
	px := proxy{r: h.r, snap: snap, app: app, pool: p, w: w, req: req, start: start}
	if p == ch.pool {
		px.other = ch.other
	}
	px.serve(b)
}

func plain(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// isHop reports the fields that are meaningful for one connection only and never forwarded
// (RFC 9110 7.6.1), by canonical name, plus Content-Length and Expect: not hop-by-hop, but
// the router frames bodies itself and answers 100-continue itself.
func isHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Expect":
		return true
	}
	return false
}

// firstValue is h.Get(key) for a key already in canonical form: it skips canonicalising it.
func firstValue(h http.Header, key string) string {
	if vv := h[key]; len(vv) > 0 {
		return vv[0]
	}
	return ""
}

// connectionListed reports whether the Connection header values name key (case-insensitive).
func connectionListed(conn []string, key string) bool {
	found := false
	for _, v := range conn {
		forEachToken(v, func(tok string) { found = found || strings.EqualFold(tok, key) })
	}
	return found
}

// namesFields reports whether the Connection header values name any field to drop beyond
// the hop-by-hop ones isHop knows (close is no field): usually they name none, and the
// per-field check can be skipped.
func namesFields(conn []string) bool {
	found := false
	for _, v := range conn {
		forEachToken(v, func(tok string) {
			found = found || !(strings.EqualFold(tok, "close") || strings.EqualFold(tok, "keep-alive") || strings.EqualFold(tok, "upgrade"))
		})
	}
	return found
}

// isUpgrade reports a WebSocket (or other) HTTP/1.1 upgrade request.
func isUpgrade(r *http.Request) bool {
	return r.ProtoMajor == 1 && firstValue(r.Header, "Upgrade") != "" && connectionListed(r.Header["Connection"], "upgrade")
}

var errBodyTooLarge = errors.New("request body exceeds the limit")

// limitedBody fails with errBodyTooLarge once more than max bytes were read.
type limitedBody struct {
	r    io.Reader
	left int64
	read int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe one byte: exactly max bytes is fine, more is not.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.read += int64(n)
	return n, err
}
