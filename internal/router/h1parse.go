package router

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// h1Error is a request the HTTP/1.1 front end refuses, with the status to answer.
type h1Error struct {
	status int
	msg    string
}

func (e *h1Error) Error() string { return e.msg }

func badRequest(msg string) error { return &h1Error{http.StatusBadRequest, msg} }

var errHeadTooLarge = &h1Error{http.StatusRequestHeaderFieldsTooLarge, "request header fields too large"}

// h1Request is one parsed request head; fields not in http.Request are framing facts.
type h1Request struct {
	req       *http.Request
	chunked   bool
	expect100 bool
	close     bool // the client asked to close after this exchange
}

// readRequestHead parses a request head strictly: CRLF line ends only, no obs-fold, no bare
// CR or NUL, token field names with no space before the colon, exactly one Host for
// HTTP/1.1 (and a Host of host bytes only), one Content-Length or one "chunked"
// Transfer-Encoding but never both. What RFC 9112 lets a server either repair or reject is
// rejected: a proxy must never read a request differently from whoever is in front of it.
//
// What a connection parsed for its previous request is reused (see reqState), so a client
// that repeats its header fields, as keep-alive clients do, costs no allocation.
func readRequestHead(br *bufio.Reader, maxBytes int, st *reqState) (*h1Request, error) {
	h := st.head.header()
	budget := maxBytes
	line, err := readLine(br, &budget)
	if err != nil {
		return nil, err
	}
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	target, proto, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 || !isToken(method) {
		return nil, badRequest("malformed request line")
	}
	var minor int
	switch string(proto) {
	case "HTTP/1.1":
		minor = 1
	case "HTTP/1.0":
	default:
		if bytes.HasPrefix(proto, []byte("HTTP/")) {
			return nil, &h1Error{http.StatusHTTPVersionNotSupported, "HTTP version not supported"}
		}
		return nil, badRequest("malformed request line")
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return nil, badRequest("malformed request target")
		}
	}
	if string(target) != st.uri {
		st.uri = string(target)
	}
	st.req = http.Request{Method: methodString(method), Proto: "HTTP/1.0", ProtoMajor: 1, ProtoMinor: minor, Header: h,
		RequestURI: st.uri, ContentLength: 0, Body: http.NoBody}
	r := &st.req
	if minor == 1 {
		r.Proto = "HTTP/1.1"
	}
	if r.URL, err = parseTarget(r.Method, r.RequestURI, &st.url); err != nil {
		return nil, err
	}
	st.hr = h1Request{req: r}
	hr := &st.hr
	hosts, lengths, encodings := 0, 0, 0
	for {
		line, err := readLine(br, &budget)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, badRequest("obsolete line folding is not accepted")
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 || !isToken(name) {
			return nil, badRequest("malformed header field")
		}
		value = bytes.Trim(value, " \t")
		for _, c := range value {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return nil, badRequest("control character in a header field")
			}
		}
		key := canonicalKey(name)
		v := st.head.value(key, value)
		switch key {
		case "Host":
			hosts++
			r.Host = v
			continue // carried in r.Host, as net/http does
		case "Content-Length":
			lengths++
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || (lengths > 1 && n != r.ContentLength) || strings.IndexFunc(v, notDigit) >= 0 {
				return nil, badRequest("invalid Content-Length")
			}
			r.ContentLength = n
		case "Transfer-Encoding":
			encodings++
			if encodings > 1 || !strings.EqualFold(v, "chunked") {
				return nil, &h1Error{http.StatusNotImplemented, "only a single chunked Transfer-Encoding is supported"}
			}
			hr.chunked = true
		case "Connection":
			if connectionListed([]string{v}, "close") {
				hr.close = true
			}
		case "Expect":
			if !strings.EqualFold(v, "100-continue") {
				return nil, &h1Error{http.StatusExpectationFailed, "unsupported Expect"}
			}
			hr.expect100 = true
		}
		st.head.add(h, key, v)
	}
	switch {
	case minor == 1 && hosts != 1:
		return nil, badRequest("an HTTP/1.1 request needs exactly one Host header")
	case hosts > 1:
		return nil, badRequest("more than one Host header")
	case hr.chunked && lengths > 0:
		return nil, badRequest("both Content-Length and Transfer-Encoding: the framing is ambiguous")
	case hr.chunked && minor == 0:
		return nil, badRequest("Transfer-Encoding in an HTTP/1.0 request")
	}
	if r.URL.Host != "" { // absolute form: the target's authority is the host
		r.Host = r.URL.Host
	}
	if !validHost(r.Host) {
		return nil, badRequest("invalid Host") // RFC 9112 3.2; an instance's net/http would refuse it too
	}
	if minor == 0 && !connectionListed(h["Connection"], "keep-alive") {
		hr.close = true
	}
	if hr.chunked {
		r.ContentLength = -1
	}
	r.Close = hr.close
	return hr, nil
}

// readLine returns one CRLF-terminated line without its CRLF, charging it to budget.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*budget -= len(line)
	if *budget < 0 || errors.Is(err, bufio.ErrBufferFull) {
		return nil, errHeadTooLarge
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, badRequest("line not ended by CRLF")
	}
	line = line[:len(line)-2]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, badRequest("bare CR in the request head")
	}
	return line, nil
}

// parseTarget builds the URL of an origin-form ("/p?q"), asterisk-form ("*", OPTIONS only)
// or absolute-form ("http://host/p") target; an origin-form one is built in u.
func parseTarget(method, target string, u *url.URL) (*url.URL, error) {
	switch {
	case target == "*":
		if method != http.MethodOptions {
			return nil, badRequest("asterisk-form target with a method other than OPTIONS")
		}
		return &url.URL{Path: "*"}, nil
	case target[0] == '/':
		path, query, _ := strings.Cut(target, "?")
		*u = url.URL{Path: path, RawQuery: query}
		if strings.IndexByte(path, '%') >= 0 {
			p, err := url.PathUnescape(path)
			if err != nil {
				return nil, badRequest("invalid escape in the request path")
			}
			u.Path, u.RawPath = p, path
		}
		return u, nil
	default:
		u, err := url.ParseRequestURI(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, badRequest("malformed request target")
		}
		return u, nil
	}
}

func notDigit(r rune) bool { return r < '0' || r > '9' }

// validHost reports whether every byte of a Host value may appear in one: the bytes of
// RFC 3986 host and port, as net/http (httpguts.ValidHostHeader) accepts them.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 0x80 || !hostChars[c] {
			return false
		}
	}
	return true
}

var hostChars = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = true, true
	}
	for _, c := range "!$%&'()*+,-.:;=[]_~" {
		t[c] = true
	}
	return t
}()

func isToken(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !tokenChars[c] {
			return false
		}
	}
	return true
}

var tokenChars = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// commonKeys interns canonical forms of frequent header names: looking one up with a []byte
// key does not allocate.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Connection",
		"Content-Length", "Content-Type", "Cookie", "Transfer-Encoding", "Expect", "Upgrade", "Authorization",
		"Cache-Control", "Referer", "Origin", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
		"X-Request-Id", "If-None-Match", "If-Modified-Since", "Pragma", "Sec-Websocket-Key", "Sec-Websocket-Version",
		"Sec-Websocket-Extensions", "Sec-Websocket-Protocol", "Keep-Alive", "Te", "Trailer", "Proxy-Connection",
		"Server", "Date", "Last-Modified", "Etag", "Vary", "Set-Cookie", "Location", "Content-Encoding", "X-Version"} {
		m[k] = k
		m[strings.ToLower(k)] = k
	}
	return m
}()

func canonicalKey(b []byte) string {
	if k, ok := commonKeys[string(b)]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(string(b))
}
