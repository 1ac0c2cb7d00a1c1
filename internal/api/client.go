package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to a cutover server over its unix socket (no token needed) or over TCP with
// a bearer token.
type Client struct {
	base  string // "http://cutover" for the socket, or the server's URL
	token string
	hc    *http.Client
}

// NewUnix returns a client for the server's unix socket.
func NewUnix(socket string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{base: "http://cutover", hc: &http.Client{Transport: tr}}
}

// NewTCP returns a client for baseURL (e.g. "http://127.0.0.1:7070") with a bearer token.
func NewTCP(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), token: token, hc: hc}
}

// do sends a request and decodes a JSON answer into out (unless nil); a non-2xx answer
// becomes an *Error.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("reach the cutover server: %w (is `cutover server` running?)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil {
			eb.Error.Status = resp.StatusCode
			return eb.Error
		}
		return &Error{Code: CodeInternal, Status: resp.StatusCode, Message: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, "", out)
}

func (c *Client) postJSON(ctx context.Context, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return c.do(ctx, http.MethodPost, path, body, "application/json", out)
}

func app(name string) string { return "/api/v1/apps/" + url.PathEscape(name) }

// Apps lists the apps.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var out []App
	return out, c.get(ctx, "/api/v1/apps", &out)
}

// Apply stores an app's spec (YAML); an invalid spec returns an *Error with every problem.
func (c *Client) Apply(ctx context.Context, name string, spec []byte) (App, error) {
	var out App
	return out, c.do(ctx, http.MethodPut, app(name), bytes.NewReader(spec), "application/yaml", &out)
}

// Validate checks a spec without storing it.
func (c *Client) Validate(ctx context.Context, spec []byte) (Validation, error) {
	var out Validation
	return out, c.do(ctx, http.MethodPost, "/api/v1/validate", bytes.NewReader(spec), "application/yaml", &out)
}

// App describes one app.
func (c *Client) App(ctx context.Context, name string) (App, error) {
	var out App
	return out, c.get(ctx, app(name), &out)
}

// DeleteApp stops an app's instances and forgets it.
func (c *Client) DeleteApp(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, app(name), nil, "", nil)
}

// Releases lists an app's releases.
func (c *Client) Releases(ctx context.Context, name string) ([]Release, error) {
	var out []Release
	return out, c.get(ctx, app(name)+"/releases", &out)
}

// Deploy starts a deployment.
func (c *Client) Deploy(ctx context.Context, name string, r DeployRequest) (Deployment, error) {
	var out Deployment
	return out, c.postJSON(ctx, app(name)+"/deployments", r, &out)
}

// History lists an app's deployments, newest first.
func (c *Client) History(ctx context.Context, name string) ([]Deployment, error) {
	var out []Deployment
	return out, c.get(ctx, app(name)+"/deployments", &out)
}

// Deployment reads one deployment with its events.
func (c *Client) Deployment(ctx context.Context, id string) (Deployment, error) {
	var out Deployment
	return out, c.get(ctx, "/api/v1/deployments/"+url.PathEscape(id), &out)
}

// Command sends promote, approve, pause, resume or abort to the app's deployment in progress.
func (c *Client) Command(ctx context.Context, name, command string) (Deployment, error) {
	var out Deployment
	return out, c.postJSON(ctx, app(name)+"/"+command, nil, &out)
}

// Rollback returns traffic to the previous version after a successful deployment.
func (c *Client) Rollback(ctx context.Context, name string) (Deployment, error) {
	var out Deployment
	return out, c.postJSON(ctx, app(name)+"/rollback", nil, &out)
}

// WhoAmI reads the role the client's credentials give: RoleAdmin or RoleViewer.
func (c *Client) WhoAmI(ctx context.Context) (WhoAmI, error) {
	var out WhoAmI
	return out, c.get(ctx, "/api/v1/whoami", &out)
}

// Why says what the app's latest deployment waits for.
func (c *Client) Why(ctx context.Context, name string) (Why, error) {
	var out Why
	return out, c.get(ctx, app(name)+"/why", &out)
}

// Instances lists the app's instances.
func (c *Client) Instances(ctx context.Context, name string) ([]Instance, error) {
	var out []Instance
	return out, c.get(ctx, app(name)+"/instances", &out)
}

// Logs returns the last lines of the app's instances (of version, when given).
func (c *Client) Logs(ctx context.Context, name, version string, lines int) ([]LogLine, error) {
	q := url.Values{}
	if version != "" {
		q.Set("version", version)
	}
	if lines > 0 {
		q.Set("lines", strconv.Itoa(lines))
	}
	var out []LogLine
	return out, c.get(ctx, app(name)+"/logs?"+q.Encode(), &out)
}

// Signals reads what the router saw of the app over the window.
func (c *Client) Signals(ctx context.Context, name string, window time.Duration) (Signals, error) {
	var out Signals
	return out, c.get(ctx, app(name)+"/signals?window="+url.QueryEscape(window.String()), &out)
}

// Events follows the event stream (of one app, or all when app is ""), until ctx ends.
func (c *Client) Events(ctx context.Context, appName string) (<-chan Notice, <-chan error) {
	path := "/api/v1/events"
	if appName != "" {
		path += "?app=" + url.QueryEscape(appName)
	}
	return c.stream(ctx, path)
}

// DeploymentEvents follows one deployment's events until ctx ends.
func (c *Client) DeploymentEvents(ctx context.Context, id string) (<-chan Notice, <-chan error) {
	return c.stream(ctx, "/api/v1/deployments/"+url.PathEscape(id)+"/events")
}

// stream reads server-sent events ("data: <json Notice>") into a channel; the error channel
// gets one value when the stream ends.
func (c *Client) stream(ctx context.Context, path string) (<-chan Notice, <-chan error) {
	out, errc := make(chan Notice, 64), make(chan error, 1)
	go func() {
		defer close(out)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
		if err != nil {
			errc <- err
			return
		}
		req.Header.Set("Accept", "text/event-stream")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			errc <- fmt.Errorf("follow events: %w", err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			errc <- fmt.Errorf("follow events: %s", resp.Status)
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var n Notice
			if err := json.Unmarshal([]byte(data), &n); err != nil {
				continue
			}
			select {
			case out <- n:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
		errc <- sc.Err()
	}()
	return out, errc
}
