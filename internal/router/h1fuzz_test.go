package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// h1Seeds are request heads for the HTTP/1.1 fuzz targets: well-formed ones of every shape
// the front end serves, and the hostile ones hostile_test.go sends.
var h1Seeds = []string{
	"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a/b?c=d HTTP/1.1\r\nHost: shop.example.com:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
	"HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /after-head HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
	"PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
	"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /ka2 HTTP/1.0\r\n\r\n",
	"GET http://shop.example.com/abs?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /%7Euser/a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
	"GET /close HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /te-cl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
	"POST /cl2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc",
	"POST /cl-plus HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
	"GET /lf HTTP/1.1\r\nHost: x\r\nX-A: foo\nHost: evil.example\r\n\r\n",
	"GET /cr HTTP/1.1\r\nHost: x\r\nX-A: foo\rX-Injected: bar\r\n\r\n",
	"GET /nul HTTP/1.1\r\nHost: x\r\nX-A: foo\x00bar\r\n\r\n",
	"GET /fold HTTP/1.1\r\nHost: x\r\nX-A: foo\r\n bar\r\n\r\n",
	"GET /space HTTP/1.1\r\nHost: x\r\nX-A : bar\r\n\r\n",
	"GET /two-hosts HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET /no-host HTTP/1.1\r\n\r\n",
	"GET /v HTTP/2.0\r\nHost: x\r\n\r\n",
	"GET  /double-space HTTP/1.1\r\nHost: x\r\n\r\n",
	"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
	"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}

// FuzzReadRequestHead: the strict HTTP/1.1 head parser never panics; what it refuses it
// refuses with a 4xx (or 501, 505) and a message; and what it accepts is a request net/http
// reads the same way, ending at the same byte, with the same method, target, host and body
// framing, so the router and an instance behind it can never disagree on where a request
// ends.
//
//	go test -run '^$' -fuzz '^FuzzReadRequestHead$' -fuzztime 60s -parallel 1 ./internal/router/
func FuzzReadRequestHead(f *testing.F) {
	for _, s := range h1Seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		src := bytes.NewReader(raw)
		br := bufio.NewReaderSize(src, 16<<10)
		hr, err := readRequestHead(br, 8<<10, &reqState{})
		if err != nil {
			var he *h1Error
			switch {
			case errors.As(err, &he):
				if ok := he.status >= 400 && he.status < 500 || he.status == 501 || he.status == 505; !ok || he.msg == "" {
					t.Fatalf("refused with %d %q", he.status, he.msg)
				}
			case !errors.Is(err, io.EOF):
				t.Fatalf("refused with %T %v, neither an *h1Error nor the end of the input", err, err)
			}
			return
		}
		consumed := len(raw) - src.Len() - br.Buffered()
		checkAcceptedHead(t, raw[:consumed], hr)

		gsrc := bytes.NewReader(raw)
		gbr := bufio.NewReader(gsrc)
		greq, err := http.ReadRequest(gbr)
		if err != nil {
			t.Fatalf("the router accepts a head net/http refuses (%v):\n%q", err, raw[:consumed])
		}
		r := hr.req
		if gconsumed := len(raw) - gsrc.Len() - gbr.Buffered(); gconsumed != consumed {
			t.Fatalf("the head ends at byte %d for the router, %d for net/http:\n%q", consumed, gconsumed, raw)
		}
		if greq.Method != r.Method || greq.RequestURI != r.RequestURI || greq.Host != r.Host {
			t.Fatalf("router %s %q host %q, net/http %s %q host %q", r.Method, r.RequestURI, r.Host, greq.Method, greq.RequestURI, greq.Host)
		}
		gchunked := len(greq.TransferEncoding) > 0
		if gchunked != hr.chunked || (!gchunked && greq.ContentLength != r.ContentLength) {
			t.Fatalf("body framing: router chunked %v length %d, net/http %v length %d:\n%q",
				hr.chunked, r.ContentLength, greq.TransferEncoding, greq.ContentLength, raw[:consumed])
		}
	})
}

// checkAcceptedHead checks what readRequestHead returned for an accepted head: a token
// method, a URL, framing that is chunked or a length, and header fields that are tokens
// with values free of CR, LF and NUL, Host carried apart as net/http does.
func checkAcceptedHead(t *testing.T, head []byte, hr *h1Request) {
	t.Helper()
	r := hr.req
	switch {
	case !isToken([]byte(r.Method)) || r.Method == "":
		t.Fatalf("accepted method %q:\n%q", r.Method, head)
	case r.URL == nil:
		t.Fatalf("accepted without a URL:\n%q", head)
	case hr.chunked != (r.ContentLength == -1) || r.ContentLength < -1:
		t.Fatalf("chunked %v with length %d:\n%q", hr.chunked, r.ContentLength, head)
	case len(r.Header["Host"]) > 0:
		t.Fatalf("Host left among the header fields:\n%q", head)
	case !bytes.HasSuffix(head, []byte("\r\n\r\n")):
		t.Fatalf("the head does not end with an empty line:\n%q", head)
	}
	for k, vv := range r.Header {
		if !isToken([]byte(k)) {
			t.Fatalf("accepted field name %q:\n%q", k, head)
		}
		for _, v := range vv {
			if strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("accepted %s: %q:\n%q", k, v, head)
			}
		}
	}
}

// FuzzReadRequestHeadReuse: a head parsed with the state a connection kept from earlier
// requests reads exactly as it does with a fresh state: the same method, target, host,
// fields and framing, or the same refusal. Nothing of an earlier request leaks into a later
// one through the reused request, header map, value slots or value strings.
//
//	go test -run '^$' -fuzz '^FuzzReadRequestHeadReuse$' -fuzztime 60s -parallel 1 ./internal/router/
func FuzzReadRequestHeadReuse(f *testing.F) {
	for _, s := range h1Seeds {
		f.Add([]byte(s))
	}
	earlier := []string{
		benchRequests["browser"],
		"POST /p?x=1 HTTP/1.1\r\nHost: y\r\nX-A: 1\r\nX-A: 2\r\nCookie: a=b\r\nContent-Length: 0\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fresh, freshErr := readRequestHead(bufio.NewReaderSize(bytes.NewReader(raw), 16<<10), 8<<10, &reqState{})
		for _, prior := range earlier {
			st := &reqState{}
			if _, err := readRequestHead(bufio.NewReader(strings.NewReader(prior)), 8<<10, st); err != nil {
				t.Fatalf("the earlier request %q: %v", prior, err)
			}
			reused, reusedErr := readRequestHead(bufio.NewReaderSize(bytes.NewReader(raw), 16<<10), 8<<10, st)
			if (freshErr == nil) != (reusedErr == nil) || (freshErr != nil && freshErr.Error() != reusedErr.Error()) {
				t.Fatalf("after %q: error %v, with a fresh state %v:\n%q", firstLine(prior), reusedErr, freshErr, raw)
			}
			if freshErr != nil {
				continue
			}
			a, b := fresh.req, reused.req
			same := a.Method == b.Method && a.RequestURI == b.RequestURI && a.Host == b.Host && a.Proto == b.Proto &&
				a.ContentLength == b.ContentLength && a.Close == b.Close && a.URL.String() == b.URL.String() &&
				fresh.chunked == reused.chunked && fresh.expect100 == reused.expect100 && fresh.close == reused.close &&
				len(a.Header) == len(b.Header)
			for k, vv := range a.Header {
				same = same && slices.Equal(vv, b.Header[k])
			}
			if !same {
				t.Fatalf("after %q the head reads differently:\nfresh  %+v %+v\nreused %+v %+v\n%q",
					firstLine(prior), *fresh, a.Header, *reused, b.Header, raw)
			}
		}
	})
}
