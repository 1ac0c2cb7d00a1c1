package routerctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cutover/cutover/internal/router"
)

// callTimeout bounds every call but WaitDrained, whose deadline is its own.
const callTimeout = 10 * time.Second

// Client drives the router process serving a data directory. It keeps no connection state
// beyond idle keep-alives, so it works across restarts of either side.
type Client struct {
	socket string
	hc     *http.Client
	log    *slog.Logger
}

// NewClient talks to the router whose control socket is at socket.
func NewClient(socket string, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns: 4, IdleConnTimeout: 30 * time.Second,
	}
	return &Client{socket: socket, hc: &http.Client{Transport: tr}, log: log}
}

// ErrUnreachable wraps every failure to reach the router process at all.
var ErrUnreachable = errors.New("router process unreachable")

// errRetry is a router's answer that the same call should be sent again.
var errRetry = errors.New("router asks to retry")

// call does one request; out, if set, receives the JSON answer.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://router"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %v (is `cutover router` running? see its log beside the socket)", ErrUnreachable, c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
		return errRetry
	}
	if resp.StatusCode >= 300 {
		var e errorBody
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return fmt.Errorf("router: %s", e.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode the router's answer to %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) short() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

// Ping returns the router's status.
func (c *Client) Ping(ctx context.Context) (Status, error) {
	var s Status
	err := c.call(ctx, http.MethodGet, "/v1/ping", nil, &s)
	return s, err
}

// Apply validates, saves and serves the whole table, as router.Router.Apply does. A push
// that reaches a router process handing over to its upgrade is sent again.
func (c *Client) Apply(t router.Table) error {
	ctx, cancel := c.short()
	defer cancel()
	for {
		err := c.call(ctx, http.MethodPut, "/v1/table", t, nil)
		if !errors.Is(err, errRetry) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("push the table: the router kept handing over: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Table returns the table the router serves.
func (c *Client) Table() (router.Table, error) {
	ctx, cancel := c.short()
	defer cancel()
	var t router.Table
	err := c.call(ctx, http.MethodGet, "/v1/table", nil, &t)
	return t, err
}

// Health reports on every instance of app; empty when the router cannot be reached (the
// engine then sees no healthy instance, and waits).
func (c *Client) Health(app string) map[string]router.InstanceHealth {
	ctx, cancel := c.short()
	defer cancel()
	out := map[string]router.InstanceHealth{}
	if err := c.call(ctx, http.MethodGet, "/v1/health/"+url.PathEscape(app), nil, &out); err != nil {
		c.log.Warn("router health unavailable", "app", app, "err", err)
		return map[string]router.InstanceHealth{}
	}
	return out
}

// Signals returns app's traffic over the window; ok is false when the app is not routed or
// the router cannot be reached.
func (c *Client) Signals(app string, window time.Duration) (router.AppSignals, bool) {
	ctx, cancel := c.short()
	defer cancel()
	var w signalsWire
	path := "/v1/signals/" + url.PathEscape(app) + "?window=" + url.QueryEscape(window.String())
	if err := c.call(ctx, http.MethodGet, path, nil, &w); err != nil {
		c.log.Debug("router signals unavailable", "app", app, "err", err)
		return router.AppSignals{}, false
	}
	return fromWire(w), true
}

// Draining lists removed instances with work in progress.
func (c *Client) Draining() ([]router.DrainStatus, error) {
	ctx, cancel := c.short()
	defer cancel()
	var out []router.DrainStatus
	err := c.call(ctx, http.MethodGet, "/v1/draining", nil, &out)
	return out, err
}

// WaitDrained is router.Router.WaitDrained in the router process.
func (c *Client) WaitDrained(ctx context.Context, ids []string, deadline time.Time) (int, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(callTimeout))
	defer cancel()
	var out waitResponse
	err := c.call(ctx, http.MethodPost, "/v1/wait-drained", waitRequest{IDs: ids, Deadline: deadline}, &out)
	return out.Remaining, err
}

// Upgrade makes the router replace itself with the binary now at its path; it returns the
// new process's PID once that serves.
func (c *Client) Upgrade(ctx context.Context) (int, error) {
	var out struct {
		PID int `json:"pid"`
	}
	err := c.call(ctx, http.MethodPost, "/v1/upgrade", nil, &out)
	return out.PID, err
}

// Gather reads the router's Prometheus metrics, so the server can serve them with its own
// (it implements prometheus.Gatherer).
func (c *Client) Gather() ([]*dto.MetricFamily, error) {
	ctx, cancel := c.short()
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://router/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse the router's metrics: %w", err)
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		out = append(out, f)
	}
	return out, nil
}
