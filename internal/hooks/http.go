package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	userAgent = "cutover-hooks/1"
	// maxBody bounds how much of a response an HTTP check reads to match ExpectBody.
	maxBody = 1 << 20
	// defaultRetryDelay separates HTTP attempts when RetryDelay is zero.
	defaultRetryDelay = time.Second
)

// attempt is the outcome of one HTTP request.
type attempt struct {
	ok     bool
	reason string
	body   []byte
	final  bool // another attempt cannot do better: the caller gave up, or the request is malformed
}

// runHTTP makes up to 1+Retries attempts of c, each bounded by timeout, and stops at the first
// that passes.
func (r Runner) runHTTP(ctx context.Context, c HTTPCheck, timeout time.Duration) Result {
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	want := c.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	delay := c.RetryDelay
	if delay <= 0 {
		delay = defaultRetryDelay
	}
	what := method + " " + c.URL
	client := r.client()
	attempts := 1 + max(c.Retries, 0)

	var a attempt
	n := 0
	for n < attempts {
		if n > 0 && !sleep(ctx, delay) {
			a.reason = fmt.Sprintf("canceled before attempt %d (%v), last failure: %s",
				n+1, context.Cause(ctx), a.reason)
			break
		}
		n++
		a = r.attempt(ctx, client, method, c, want, timeout)
		if a.ok || a.final {
			break
		}
	}
	reason := what + ": " + a.reason
	if n > 1 {
		reason += fmt.Sprintf(" (attempt %d of %d)", n, attempts)
	}
	return Result{Passed: a.ok, Reason: reason, Output: excerpt(a.body, MaxOutput), Attempts: n}
}

// attempt makes one request of an HTTP check and judges the answer.
func (r Runner) attempt(parent context.Context, client *http.Client, method string, c HTTPCheck, want int, timeout time.Duration) attempt {
	ctx, cancel, timedOut := withTimeout(parent, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.URL, nil)
	if err != nil {
		return attempt{reason: fmt.Sprintf("invalid request: %v", err), final: true}
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return attempt{reason: transportFailure(err, timedOut(), timeout), final: parent.Err() != nil && !timedOut()}
	}
	defer func() { _ = resp.Body.Close() }() // nothing to learn from closing a read body
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode != want {
		return attempt{reason: fmt.Sprintf("status %d, want %d", resp.StatusCode, want), body: body}
	}
	if err != nil {
		reason := fmt.Sprintf("status %d, reading body: %s", resp.StatusCode, transportFailure(err, timedOut(), timeout))
		return attempt{reason: reason, body: body, final: parent.Err() != nil && !timedOut()}
	}
	if !bytes.Contains(body, []byte(c.ExpectBody)) {
		return attempt{reason: fmt.Sprintf("status %d, body does not contain %q", resp.StatusCode, c.ExpectBody), body: body}
	}
	return attempt{ok: true, reason: fmt.Sprintf("status %d", resp.StatusCode), body: body}
}

// runWebhook POSTs info as JSON to w.URL once; any 2xx passes.
func (r Runner) runWebhook(ctx context.Context, w Webhook, timeout time.Duration, info Info) Result {
	what := http.MethodPost + " " + w.URL
	payload, err := json.Marshal(info)
	if err != nil {
		return Result{Reason: fmt.Sprintf("%s: encoding body: %v", what, err)}
	}
	ctx, cancel, timedOut := withTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(payload))
	if err != nil {
		return Result{Reason: fmt.Sprintf("%s: invalid request: %v", what, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := r.client().Do(req)
	if err != nil {
		return Result{Reason: what + ": " + transportFailure(err, timedOut(), timeout), Attempts: 1}
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxOutput)) // only an excerpt for people
	res := Result{Output: string(body), Attempts: 1}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.Reason = fmt.Sprintf("%s: status %d, want 2xx", what, resp.StatusCode)
		return res
	}
	res.Passed = true
	res.Reason = fmt.Sprintf("%s: status %d", what, resp.StatusCode)
	return res
}

// transportFailure describes a failed request or body read in a few words.
func transportFailure(err error, timedOut bool, timeout time.Duration) string {
	if timedOut {
		return "timed out after " + timeout.String()
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // its message repeats the method and URL, which the reason already has
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled: " + err.Error()
	}
	return strings.TrimSpace(err.Error())
}

// sleep waits d, or less if ctx ends first; it reports whether the full wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
