package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

const (
	userAgent = "cutover-health/1"
	// maxBody bounds how much of a response body a probe reads: enough for any health
	// endpoint, small enough that a misbehaving instance cannot make probes expensive.
	maxBody = 64 << 10
)

// newClient returns the HTTP client probes share. Keep-alives are off so every probe dials
// and so proves the instance still accepts connections; redirects are not followed so a 3xx is
// judged by the status range; environment proxies are ignored because probes go straight to
// the instance.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            (&net.Dialer{}).DialContext,
			DisableKeepAlives:      true,
			DisableCompression:     true,
			MaxResponseHeaderBytes: maxBody,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// probe makes one probe of t, whose Check already has its defaults, and classifies the
// outcome. Cancelling ctx aborts the probe; its result is then meaningless.
func probe(ctx context.Context, client *http.Client, t Target) Result {
	c := t.Check
	what := "GET " + c.Path
	if err := c.Validate(); err != nil {
		return Result{Reason: fmt.Sprintf("%s: invalid check: %v", what, err)}
	}

	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Addr+c.Path, nil)
	if err != nil {
		return Result{Reason: fmt.Sprintf("%s: building request for %q: %v", what, t.Addr, err)}
	}
	req.Header.Set("User-Agent", userAgent)

	resp, err := client.Do(req)
	if err != nil {
		return failure(what, err, c.Timeout)
	}
	_, bodyErr := io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close() // nothing to learn: the connection is not reused

	if resp.StatusCode < c.StatusMin || resp.StatusCode > c.StatusMax {
		return Result{Reason: fmt.Sprintf("%s: status %d, want %d-%d",
			what, resp.StatusCode, c.StatusMin, c.StatusMax)}
	}
	if bodyErr != nil {
		return failure(fmt.Sprintf("%s: %d, reading body", what, resp.StatusCode), bodyErr, c.Timeout)
	}
	return Result{OK: true, Reason: fmt.Sprintf("%s: %d", what, resp.StatusCode)}
}

// failure classifies a transport error. what names the operation for the reason.
func failure(what string, err error, timeout time.Duration) Result {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // its message repeats the whole URL; what already says enough
	}
	if isTimeout(err) {
		return Result{Reason: fmt.Sprintf("%s: timeout after %s", what, timeout)}
	}
	return Result{Hard: isHard(err), Reason: fmt.Sprintf("%s: %v", what, err)}
}

// isTimeout reports whether err is a deadline: a slow instance may still be serving, so a
// timeout is a soft failure.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}

// isHard reports whether err proves the instance is not serving: the connection was refused
// or reset, or the dial failed for a reason other than a timeout (no route, unknown host).
func isHard(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	var oerr *net.OpError
	return errors.As(err, &oerr) && oerr.Op == "dial" && !oerr.Timeout()
}
