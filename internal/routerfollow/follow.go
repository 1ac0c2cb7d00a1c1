// Package routerfollow runs a router that follows a cutover server over its API: `cutover
// router --follow URL --token T` on another host. It waits for each new table (a long poll
// resumed by epoch and version), applies it with the addresses rewritten for its host,
// reports its counters every second so the server's analysis sees the sum of every router,
// and keeps serving its last table while the server is gone.
package routerfollow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/router"
)

// Options configure a following router.
type Options struct {
	// URL is the server's API, e.g. http://10.0.0.1:7070; Token its admin token.
	URL, Token string
	// Name identifies this router in the server's list (default: the host name).
	Name string
	// UpstreamHost replaces a loopback host in instance addresses: the server's instances
	// listen on its host, which this router reaches by another address (default: the
	// host of URL).
	UpstreamHost string
	// Bind, if set, replaces the host of every listener address (e.g. 0.0.0.0).
	Bind string
	// StatePath, if set, keeps the last applied table, served at start until the server
	// answers.
	StatePath    string
	DrainTimeout time.Duration
	ReportEvery  time.Duration // default 1s
	Wait         time.Duration // the long poll, default 30s
	Logger       *slog.Logger
	Started      time.Time // default now
}

// Run follows the server until ctx ends, then drains.
func Run(ctx context.Context, o Options) error {
	if err := o.fill(); err != nil {
		return err
	}
	r := router.New(router.Options{Logger: o.Logger, StatePath: o.StatePath, DrainTimeout: o.DrainTimeout})
	if o.StatePath != "" {
		if t, err := router.LoadTable(o.StatePath); err == nil {
			if err := r.Apply(t); err != nil {
				o.Logger.Warn("the saved table does not apply; waiting for the server's", "state", o.StatePath, "err", err)
			} else {
				o.Logger.Info("serving the saved table until the server answers", "state", o.StatePath, "apps", len(t.Apps))
			}
		}
	}
	c := api.NewTCP(o.URL, o.Token, &http.Client{Timeout: o.Wait + 15*time.Second})
	f := &follower{o: o, r: r, c: c}
	done := make(chan struct{})
	go func() { defer close(done); f.reportLoop(ctx) }()
	f.watchLoop(ctx)
	<-done
	dctx, cancel := context.WithTimeout(context.Background(), o.DrainTimeout)
	defer cancel()
	return r.Close(dctx)
}

func (o *Options) fill() error {
	if o.URL == "" || o.Token == "" {
		return errors.New("--follow URL and --token T are both required: the server's API address and its admin token")
	}
	u, err := urlHost(o.URL)
	if err != nil {
		return err
	}
	if o.UpstreamHost == "" {
		o.UpstreamHost = u
	}
	if o.Bind != "" {
		if _, err := netip.ParseAddr(o.Bind); err != nil {
			return fmt.Errorf("--bind %q: give an IP address to listen on, like 0.0.0.0 or 10.0.0.2", o.Bind)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.ReportEvery <= 0 {
		o.ReportEvery = time.Second
	}
	if o.Wait <= 0 {
		o.Wait = 30 * time.Second
	}
	if o.Started.IsZero() {
		o.Started = time.Now()
	}
	return nil
}

// follower is one following router's state.
type follower struct {
	o Options
	r *router.Router
	c *api.Client

	applied struct {
		epoch   int64
		version uint64
	}
	seen struct {
		epoch   int64
		version uint64
	}
}

// watchLoop waits for tables and applies them; errors back off up to 5s and are logged
// once per outage.
func (f *follower) watchLoop(ctx context.Context) {
	backoff, down := time.Duration(0), false
	for ctx.Err() == nil {
		if backoff > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
		}
		t, err := f.c.RouterTable(ctx, f.seen.epoch, f.seen.version, f.o.Wait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !down {
				f.o.Logger.Warn("the server does not answer; serving the last table", "server", f.o.URL, "err", err)
				down = true
			}
			backoff = min(max(2*backoff, 250*time.Millisecond), 5*time.Second)
			continue
		}
		if down {
			f.o.Logger.Info("the server answers again", "server", f.o.URL)
			down = false
		}
		backoff = 0
		if t.Epoch == f.seen.epoch && t.Version == f.seen.version {
			continue
		}
		f.seen.epoch, f.seen.version = t.Epoch, t.Version
		if err := f.apply(t); err != nil {
			f.o.Logger.Error("the server's table does not apply here; still serving the previous one", "version", t.Version, "err", err)
			continue
		}
		f.applied = f.seen
		f.o.Logger.Info("table applied", "epoch", t.Epoch, "version", t.Version)
	}
}

func (f *follower) apply(t api.RouterTable) error {
	var tb router.Table
	if err := json.Unmarshal(t.Table, &tb); err != nil {
		return fmt.Errorf("decode the table: %w", err)
	}
	return f.r.Apply(Rewrite(tb, f.o.Bind, f.o.UpstreamHost))
}

// urlHost is the host of an http(s) URL.
func urlHost(raw string) (string, error) {
	u, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil || (u.URL.Scheme != "http" && u.URL.Scheme != "https") || u.URL.Hostname() == "" {
		return "", fmt.Errorf("--follow %q: give the server's API URL, like http://10.0.0.1:7070", raw)
	}
	return u.URL.Hostname(), nil
}

// Rewrite adapts the server's table to this host: listener hosts become bind (when set), and
// instance addresses on a loopback host become upstream (the server's host as seen from here).
func Rewrite(t router.Table, bind, upstream string) router.Table {
	moved := map[string]string{}
	t.Listeners = append([]router.Listener(nil), t.Listeners...)
	if bind != "" {
		for i := range t.Listeners {
			if _, port, err := net.SplitHostPort(t.Listeners[i].Addr); err == nil {
				n := net.JoinHostPort(bind, port)
				moved[t.Listeners[i].Addr] = n
				t.Listeners[i].Addr = n
			}
		}
	}
	apps := make([]router.App, len(t.Apps))
	for i, a := range t.Apps {
		a.Routes = append([]router.Route(nil), a.Routes...)
		for j := range a.Routes {
			if n, ok := moved[a.Routes[j].Listener]; ok {
				a.Routes[j].Listener = n
			}
		}
		if n, ok := moved[a.TestListener]; ok {
			a.TestListener = n
		}
		a.Blue.Instances = upstreams(a.Blue.Instances, upstream)
		a.Green.Instances = upstreams(a.Green.Instances, upstream)
		apps[i] = a
	}
	t.Apps = apps
	return t
}

func upstreams(ins []router.Instance, upstream string) []router.Instance {
	out := make([]router.Instance, len(ins))
	for i, in := range ins {
		if host, port, err := net.SplitHostPort(in.Addr); err == nil && upstream != "" {
			if ip, err := netip.ParseAddr(host); (err == nil && ip.IsLoopback()) || host == "localhost" {
				in.Addr = net.JoinHostPort(upstream, port)
			}
		}
		out[i] = in
	}
	return out
}
