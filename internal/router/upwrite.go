package router

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
)

// writeRequest writes the request head and body in HTTP/1.1 framing of the router's own
// choosing: the client's Content-Length and Transfer-Encoding are never passed through, so a
// request the client framed ambiguously cannot be read differently by the instance.
func (p *proxy) writeRequest(bw *bufio.Writer, upgrade bool) error {
	req := p.req
	_, _ = bw.WriteString(req.Method)
	_ = bw.WriteByte(' ')
	_, _ = bw.WriteString(requestURI(req))
	_, _ = bw.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = bw.WriteString(req.Host)
	_, _ = bw.WriteString("\r\n")
	conn := req.Header["Connection"]
	named := namesFields(conn)
	for k, vv := range req.Header {
		if isHop(k) || isForwardedHeader(k) || (named && connectionListed(conn, k)) {
			continue
		}
		for _, v := range vv {
			writeHeader(bw, k, v)
		}
	}
	p.writeForwarded(bw)
	if upgrade {
		writeHeader(bw, "Connection", "Upgrade")
		writeHeader(bw, "Upgrade", firstValue(req.Header, "Upgrade"))
	}
	switch {
	case p.body == nil:
		if req.ContentLength == 0 && (req.Method == "POST" || req.Method == "PUT" || req.Method == "PATCH") {
			writeHeader(bw, "Content-Length", "0")
		}
		_, _ = bw.WriteString("\r\n")
	case req.ContentLength > 0:
		writeHeader(bw, "Content-Length", strconv.FormatInt(req.ContentLength, 10))
		_, _ = bw.WriteString("\r\n")
		n, err := io.Copy(bw, p.body)
		if err != nil {
			return bodyErr(err)
		}
		if n != req.ContentLength {
			return errClientBody
		}
	default:
		writeHeader(bw, "Transfer-Encoding", "chunked")
		_, _ = bw.WriteString("\r\n")
		if err := p.writeChunked(bw); err != nil {
			return err
		}
	}
	return flushBatched(bw)
}

// flushBatched flushes bw after letting every other goroutine that is ready to run go
// first. The goroutines one network poll made runnable thus flush back to back, and an
// instance or client that receives from many connections is woken once per burst rather
// than once per request. Waking a receiver asleep on another CPU costs an inter-processor
// interrupt, which was the router's largest cost on the 2-core benchmark machine; yielding
// here took about a sixth off its CPU per request and a quarter off its p99 (see
// bench/RESULTS.md). With nothing else runnable the yield returns at once.
func flushBatched(bw *bufio.Writer) error {
	if bw.Buffered() > 0 {
		runtime.Gosched()
	}
	return bw.Flush()
}

// writeChunked streams a body of unknown length, flushing each piece as it arrives.
func (p *proxy) writeChunked(bw *bufio.Writer) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := p.body.Read(buf)
		if n > 0 {
			_, _ = bw.WriteString(strconv.FormatInt(int64(n), 16))
			_, _ = bw.WriteString("\r\n")
			_, _ = bw.Write(buf[:n])
			_, _ = bw.WriteString("\r\n")
			if ferr := bw.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			_, _ = bw.WriteString("0\r\n\r\n")
			return nil
		}
		if err != nil {
			return bodyErr(err)
		}
	}
}

func bodyErr(err error) error {
	if errors.Is(err, errBodyTooLarge) {
		return err
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "write" {
		return err // the instance side failed
	}
	return errors.Join(errClientBody, err)
}

func writeHeader(bw *bufio.Writer, k, v string) {
	_, _ = bw.WriteString(k)
	_, _ = bw.WriteString(": ")
	_, _ = bw.WriteString(v)
	_, _ = bw.WriteString("\r\n")
}

func requestURI(r *http.Request) string {
	if u := r.RequestURI; u != "" && (u[0] == '/' || u == "*") {
		return u
	}
	return r.URL.RequestURI()
}

func isForwardedHeader(k string) bool {
	return k == "X-Forwarded-For" || k == "X-Forwarded-Proto" || k == "X-Forwarded-Host" || k == "Forwarded"
}

// writeForwarded sets X-Forwarded-For, -Proto and -Host. Incoming values are kept (and
// appended to) only when the peer is a trusted proxy; from anyone else they are replaced.
func (p *proxy) writeForwarded(bw *bufio.Writer) {
	req := p.req
	ip := req.RemoteAddr
	if i := strings.LastIndexByte(ip, ':'); i >= 0 {
		ip = strings.Trim(ip[:i], "[]")
	}
	trusted := false
	if len(p.snap.trusted) > 0 {
		if a, err := netip.ParseAddr(ip); err == nil {
			trusted = p.snap.isTrusted(a)
		}
	}
	xff, proto, host := ip, "http", req.Host
	if req.TLS != nil {
		proto = "https"
	}
	if trusted {
		if prior := req.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + ip
		}
		if v := firstValue(req.Header, "X-Forwarded-Proto"); v != "" {
			proto = v
		}
		if v := firstValue(req.Header, "X-Forwarded-Host"); v != "" {
			host = v
		}
		if v := req.Header.Values("Forwarded"); len(v) > 0 {
			for _, f := range v {
				writeHeader(bw, "Forwarded", f)
			}
		}
	}
	writeHeader(bw, "X-Forwarded-For", xff)
	writeHeader(bw, "X-Forwarded-Proto", proto)
	if host != "" {
		writeHeader(bw, "X-Forwarded-Host", host)
	}
}
