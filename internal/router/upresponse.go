package router

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

var errUpstreamHead = errors.New("malformed response head from the instance")

// readResponse parses an instance's response head into an http.Response whose Body frames
// the body (Content-Length, chunked, or up to the close), without textproto's per-line
// allocations. Hop-by-hop fields are dropped here: the router frames the client side itself.
// A response head larger than the reader's buffer per line, or 64 KiB in all, is refused.
//
// The response lives in rs and is only valid until the next head is read into it.
func readResponse(br *bufio.Reader, method string, rs *respState) (*http.Response, error) {
	budget := 64 << 10
	line, err := readUpLine(br, &budget)
	if err != nil {
		return nil, err
	}
	proto, rest, ok := bytes.Cut(line, []byte{' '})
	code, _, _ := bytes.Cut(rest, []byte{' '})
	if !ok || len(code) != 3 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(proto) != 8 {
		return nil, fmt.Errorf("%w: status line %q", errUpstreamHead, clipBytes(line))
	}
	status, err := strconv.Atoi(string(code))
	if err != nil || status < 100 {
		return nil, fmt.Errorf("%w: status %q", errUpstreamHead, code)
	}
	hc := &rs.head
	rs.resp = http.Response{StatusCode: status, ProtoMajor: 1, ProtoMinor: int(proto[7] - '0'), Header: hc.header(), ContentLength: -1}
	resp := &rs.resp
	chunked, keepAlive, closeConn := false, false, false
	conn := rs.conn[:0]
	for {
		line, err := readUpLine(br, &budget)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 || !isToken(name) || line[0] == ' ' || line[0] == '\t' {
			return nil, fmt.Errorf("%w: header line %q", errUpstreamHead, clipBytes(line))
		}
		value = bytes.Trim(value, " \t")
		key := canonicalKey(name)
		switch key {
		case "Content-Length":
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (resp.ContentLength >= 0 && n != resp.ContentLength) {
				return nil, fmt.Errorf("%w: Content-Length %q", errUpstreamHead, value)
			}
			resp.ContentLength = n
		case "Transfer-Encoding":
			if !bytes.EqualFold(value, []byte("chunked")) {
				return nil, fmt.Errorf("%w: Transfer-Encoding %q", errUpstreamHead, value)
			}
			chunked = true
			continue
		case "Connection":
			v := hc.value(key, value)
			conn = append(conn, v)
			continue
		case "Keep-Alive", "Proxy-Connection", "Te", "Trailer":
			continue
		}
		hc.add(resp.Header, key, hc.value(key, value))
	}
	for _, v := range conn {
		forEachToken(v, func(tok string) {
			switch {
			case strings.EqualFold(tok, "close"):
				closeConn = true
			case strings.EqualFold(tok, "keep-alive"):
				keepAlive = true
			case status != http.StatusSwitchingProtocols:
				resp.Header.Del(tok) // a field the instance named as hop-by-hop
			}
		})
	}
	if status == http.StatusSwitchingProtocols {
		resp.Header["Connection"] = conn // the tunnel relays the upgrade as is
	}
	resp.Close = closeConn || (resp.ProtoMinor == 0 && !keepAlive)
	switch {
	case method == http.MethodHead || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified:
		resp.Body = http.NoBody
		if method != http.MethodHead {
			resp.ContentLength = 0
		}
	case chunked:
		resp.ContentLength = -1
		delete(resp.Header, "Content-Length")
		resp.Body = newChunkedBody(br)
	case resp.ContentLength >= 0:
		rs.body = lengthBody{r: br, left: resp.ContentLength}
		resp.Body = &rs.body
	default: // delimited by the close
		resp.Close = true
		resp.Body = io.NopCloser(br)
	}
	return resp, nil
}

func readUpLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*budget -= len(line)
	if errors.Is(err, bufio.ErrBufferFull) || *budget < 0 {
		return nil, fmt.Errorf("%w: head too large", errUpstreamHead)
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
	if bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
		return nil, fmt.Errorf("%w: control character in the head", errUpstreamHead)
	}
	return line, nil
}

// lengthBody reads exactly left bytes; fewer before EOF is an error, so a short body is
// never passed off as whole.
type lengthBody struct {
	r    io.Reader
	left int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		if b.left > 0 {
			return n, io.ErrUnexpectedEOF
		}
	} else if b.left == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

func (b *lengthBody) Close() error { return nil }

// forEachToken calls fn for each comma-separated token of a header value, without allocating
// a slice for them.
func forEachToken(v string, fn func(string)) {
	for v != "" {
		var tok string
		tok, v, _ = strings.Cut(v, ",")
		if tok = strings.TrimSpace(tok); tok != "" {
			fn(tok)
		}
	}
}

func clipBytes(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// chunkedBody decodes a chunked body and then reads its trailer section up to the blank line
// that ends it, so the connection is positioned at the next message. Trailer fields are
// dropped (the router does not relay trailers).
type chunkedBody struct {
	br   *bufio.Reader
	cr   io.Reader
	done bool
}

func newChunkedBody(br *bufio.Reader) *chunkedBody {
	return &chunkedBody{br: br, cr: httputil.NewChunkedReader(br)}
}

func (c *chunkedBody) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	n, err := c.cr.Read(p)
	if err == io.EOF {
		budget := 16 << 10
		for {
			line, lerr := readUpLine(c.br, &budget)
			if lerr != nil {
				return n, lerr
			}
			if len(line) == 0 {
				break
			}
		}
		c.done = true
	}
	return n, err
}

func (c *chunkedBody) Close() error { return nil }
