package router

import (
	"io"
	"net/http"
	"strings"
)

// copyResponse writes the instance's response head and body to the client. Bodies of unknown
// length and event streams are flushed as each piece arrives, so SSE and chunked streaming
// reach the client at once. It reports whether the body was copied whole, and its size.
func (p *proxy) copyResponse(b *backend, resp *http.Response) (bool, int64) {
	stream := resp.ContentLength < 0 || strings.HasPrefix(firstValue(resp.Header, "Content-Type"), "text/event-stream")
	if hw, ok := p.w.(*h1writer); ok {
		hw.writeHead(resp.StatusCode, resp.Header)
	} else {
		h := p.w.Header()
		conn := resp.Header["Connection"]
		for k, vv := range resp.Header {
			if (isHop(k) && k != "Content-Length") || (len(conn) > 0 && connectionListed(conn, k)) {
				continue
			}
			// Copied: resp's slices are reused by the connection's next response, and
			// net/http may still read this header after the connection went back to the pool.
			h[k] = append(h[k], vv...) // after the router's own fields, e.g. Set-Cookie
		}
		p.w.WriteHeader(resp.StatusCode)
	}
	if stream {
		b.streams.Add(1)
		defer b.streams.Add(-1)
	}
	n, ok := copyBody(p.w, resp.Body, stream)
	_ = resp.Body.Close()
	return ok, n
}

// copyBody copies src to w, flushing after every write when stream is set.
func copyBody(w http.ResponseWriter, src io.Reader, stream bool) (int64, bool) {
	var flusher http.Flusher
	if stream {
		flusher, _ = w.(http.Flusher)
		if flusher != nil {
			flusher.Flush() // send the head now: the first event may be a while
		}
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var total int64
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, false
			}
			total += int64(n)
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr == io.EOF {
			return total, true
		}
		if rerr != nil {
			return total, false
		}
	}
}

// abandon undoes begin for a request that never reached b.
func (b *backend) abandon() {
	if b.inflight.Add(-1) == 0 && b.removed.Load() {
		b.markDrained()
	}
}
