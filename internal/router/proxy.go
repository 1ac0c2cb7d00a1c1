package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// proxy carries one request through to an instance and the answer back.
type proxy struct {
	r     *Router
	snap  *snapshot
	app   *appRoute
	pool  *pool
	other *pool // where a request nobody in pool could take may go; nil when forced
	w     http.ResponseWriter
	req   *http.Request
	start time.Time
	body  *limitedBody // nil when the request has no body
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// aLongTimeAgo is a deadline that makes blocked I/O return at once.
var aLongTimeAgo = time.Unix(1, 0)

func (p *proxy) serve(b *backend) {
	if isUpgrade(p.req) {
		p.serveUpgrade(b)
		return
	}
	if p.req.Body != nil && p.req.Body != http.NoBody && p.req.ContentLength != 0 {
		p.body = &limitedBody{r: p.req.Body, left: p.app.limits.MaxBodyBytes}
	}
	lim := p.app.limits
	ctx := p.req.Context()
	for tries := 0; ; tries++ {
		b.inflight.Add(1)
		c, reused, err := b.get(ctx, time.Duration(lim.DialTimeout))
		if err == nil {
			b.connectOK()
			if err = p.exchange(b, c, reused); err == nil {
				return
			}
			// A stale keep-alive connection and a refused redial, or an idempotent request
			// the instance dropped without answering: the client has seen nothing yet.
		} else {
			b.abandon()
		}
		p.connectFailed(b, err)
		if tries < maxRetries && ctx.Err() == nil {
			if next := p.retryOn(b, tries == 0); next != nil {
				b = next
				continue
			}
		}
		p.w.Header().Set("Retry-After", "1")
		plain(p.w, http.StatusBadGateway, "cutover: cannot connect to "+p.app.name+" ("+p.pool.role+")\n")
		return
	}
}

// maxRetries bounds the instances a request that reached none is tried on after the first.
const maxRetries = 2

// retryOn picks where a request that reached nobody goes next: on the first retry another
// instance of the same version, then (unless the version was forced) the other version, as
// when a pool has nobody available at all. A killed or crashed instance thus costs the
// client nothing.
func (p *proxy) retryOn(failed *backend, first bool) *backend {
	now := time.Now().UnixNano()
	if first {
		if next := p.pool.pick(now, failed); next != nil {
			return next
		}
	}
	if p.other == nil || len(p.other.backends) == 0 {
		return nil
	}
	p.pool, p.other = p.other, nil
	return p.pool.pick(now, failed)
}

// exchange sends the request on c and copies the response back, recording it on b. It
// returns an error only when nothing was sent and nothing answered (a failed redial), so the
// caller may try another instance.
func (p *proxy) exchange(b *backend, c *upConn, reused bool) error {
	b.rec.Begin()
	status, out := 0, int64(0)
	defer func() {
		var in int64
		if p.body != nil {
			in = p.body.read
		}
		b.end(status, time.Since(p.start), in, out)
	}()
	resp, c, err := p.send(b, c, reused)
	if err != nil {
		var re *redialError
		if errors.As(err, &re) {
			return re.err
		}
		if p.replayable(err) {
			return err
		}
		status = p.fail(err)
		return nil
	}
	status = resp.StatusCode
	ok, n := p.copyResponse(b, resp)
	out = n
	if ok && !resp.Close {
		b.put(c)
	} else {
		b.discard(c)
	}
	if !ok {
		// The response is cut short: make the client see a broken stream, not a short one.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// replayable reports an exchange the caller may send to another instance: the instance
// closed the connection without a byte of answer, and the request is idempotent with no
// body (RFC 9110 9.2.2), so sending it again is safe even if the instance acted on it.
func (p *proxy) replayable(err error) bool {
	if p.body != nil || p.req.Context().Err() != nil || !isStale(err) {
		return false
	}
	switch p.req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// redialError is a failed dial that replaced a stale connection: nothing was sent.
type redialError struct{ err error }

func (e *redialError) Error() string { return e.err.Error() }
func (e *redialError) Unwrap() error { return e.err }

// send writes the request and reads the response head, redialling once when a reused idle
// connection turns out to have been closed by the instance before anything was answered.
func (p *proxy) send(b *backend, c *upConn, reused bool) (*http.Response, *upConn, error) {
	for {
		resp, err := p.roundTrip(c)
		if err == nil {
			return resp, c, nil
		}
		b.discard(c)
		if !reused || !isStale(err) || (p.body != nil && p.body.read > 0) || p.req.Context().Err() != nil || b.removed.Load() {
			return nil, nil, err
		}
		if c, err = b.dial(p.req.Context(), time.Duration(p.app.limits.DialTimeout)); err != nil {
			return nil, nil, &redialError{err}
		}
		reused = false
	}
}

func (p *proxy) roundTrip(c *upConn) (resp *http.Response, err error) {
	// A client that goes away cancels the wait for the instance. If that fires at all, the
	// connection carries a deadline in the past and must never return to the pool: report
	// the cancellation so the caller discards it.
	if ctx := p.req.Context(); ctx.Done() != nil { // the HTTP/1.1 fast path has no cancellation
		stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(aLongTimeAgo) })
		defer func() {
			if !stop() && err == nil {
				resp, err = nil, ctx.Err()
			}
		}()
	}
	if err := p.writeRequest(c.bw, false); err != nil {
		return nil, err
	}
	sent := p.start
	if p.body != nil {
		sent = time.Now() // an upload may have taken a while: the timeout runs from its end
	}
	c.rd.extend(sent, time.Duration(p.app.limits.UpstreamTimeout))
	resp, err = readResponse(c.br, p.req.Method, &c.rs)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = readResponse(c.br, p.req.Method, &c.rs) // skip 100 Continue and 103 Early Hints
	}
	if err != nil {
		return nil, err
	}
	if resp.Body != http.NoBody && (resp.ContentLength < 0 || resp.ContentLength > int64(c.br.Buffered())) {
		// The timeout is for the head: a body that is still to come flows at its own pace.
		c.rd.set(time.Time{})
	}
	return resp, nil
}

// fail answers the client for an exchange that produced no response, and returns the status.
func (p *proxy) fail(err error) int {
	code, msg := http.StatusBadGateway, "cutover: the instance did not answer properly\n"
	switch {
	case errors.Is(err, errBodyTooLarge):
		code, msg = http.StatusRequestEntityTooLarge, "cutover: request body too large\n"
	case errors.Is(err, errClientBody):
		code, msg = http.StatusBadRequest, "cutover: could not read the request body\n"
	case errors.Is(err, os.ErrDeadlineExceeded) && p.req.Context().Err() == nil:
		code, msg = http.StatusGatewayTimeout, "cutover: the instance did not answer in time\n"
	}
	plain(p.w, code, msg)
	return code
}

// isStale reports errors that mean the instance closed an idle connection. net.ErrClosed is
// not one: it means the router closed the connection itself (a drain deadline).
func isStale(err error) bool {
	if errors.Is(err, errClientBody) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

var errClientBody = errors.New("reading the client's request body")

// connectFailed counts a connection error against b and reports an ejection.
func (p *proxy) connectFailed(b *backend, err error) {
	lim := p.app.limits
	if b.connectFailed(lim.FailureEject, time.Duration(lim.EjectCooldown), time.Now()) {
		p.r.ejected(b, fmt.Sprintf("%d consecutive connection errors, last: %v; out of rotation for %s",
			lim.FailureEject, err, time.Duration(lim.EjectCooldown)))
	}
}
