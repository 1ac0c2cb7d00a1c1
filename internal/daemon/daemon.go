// Package daemon is cutover's composition root: it builds the store, the runtime drivers
// (process, and docker, which costs nothing until an app uses it), the router, the engine
// and the API server from one data directory, serves the API on a
// unix socket and optionally on TCP, and shuts them down in order. Only `cutover server` and
// `cutover demo` (which runs a real server in a temporary directory) import it; every other
// package gets its dependencies passed in.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cutover/cutover/internal/dnsserver"
	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsapp"
	"github.com/cutover/cutover/internal/provider/awscw"
	"github.com/cutover/cutover/internal/provider/external"
	"github.com/cutover/cutover/internal/provider/kubeapp"
	"github.com/cutover/cutover/internal/routerhub"
	"github.com/cutover/cutover/internal/spec"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cutover/cutover/internal/apiserver"
	"github.com/cutover/cutover/internal/authfail"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/pipeline"
	"github.com/cutover/cutover/internal/store"
	"github.com/cutover/cutover/internal/web"
)

const (
	// drainDeadline bounds how long the router lets connections finish at shutdown.
	drainDeadline = 30 * time.Second
	// apiShutdown bounds how long API calls in flight may finish at shutdown.
	apiShutdown = 5 * time.Second
)

// Run serves until ctx ends, then stops accepting API calls, saves and stops driving the
// deployments in progress (the next Run resumes them), drains the router for up to 30s,
// closes the store and returns nil. Instances keep running, for the next Run to re-adopt.
func Run(ctx context.Context, cfg Config) (err error) {
	cfg = cfg.filled()
	log := cfg.Logger
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	if err := checkListen(cfg.Listen, cfg.TLSCert != "", cfg.InsecureNonLoopback); err != nil {
		return err
	}
	if cfg.Listen != "" && cfg.TLSCert == "" && cfg.InsecureNonLoopback && !isLoopback(cfg.Listen) {
		log.Warn("INSECURE: the API is served without TLS on a non-loopback address; its bearer token and every request travel in clear text. Put a TLS proxy in front or listen on 127.0.0.1",
			"listen", cfg.Listen)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("restrict data dir: %w", err)
	}
	tok, err := ensureTokens(cfg.DataDir)
	if err != nil {
		return err
	}

	st, err := store.Open(filepath.Join(cfg.DataDir, "state.db"))
	if err != nil {
		return fmt.Errorf("open the store in %s: %w (is another cutover server using this data dir?)", cfg.DataDir, err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the store: %w", cerr)
		}
	}()
	drivers, closeDrivers, err := runtimeDrivers(cfg, log)
	if err != nil {
		return err
	}
	defer closeDrivers()
	dp, err := startDataPlane(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer dp.close() // after the engine stops: an embedded router drains; a router process keeps serving
	dnsTab, closeDNS, err := startDNS(cfg, log)
	if err != nil {
		return err
	}
	defer closeDNS()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The hub versions every table for routers following this server and adds their
	// counters to the local router's signals.
	hub := routerhub.New(dp.router, nil)
	eng, err := engine.New(ctx, engine.Options{Router: hub, Served: dp.served, Drivers: drivers, Store: st, Logger: log, Metrics: reg, Limits: cfg.Limits, Egress: cfg.Egress, Alarms: cloudWatchAlarms, Cloud: cloudOpener(cfg.DataDir, dnsTab)})
	if err != nil {
		return fmt.Errorf("start the engine: %w", err)
	}
	defer eng.Close() // runs before the router drains and the store closes
	pipes, err := pipeline.New(pipeline.Options{Store: st, Engine: eng, Keeper: eng, Dir: cfg.DataDir, Log: log})
	if err != nil {
		return fmt.Errorf("start the pipelines: %w", err)
	}
	defer pipes.Close() // before the engine: a run waiting on a deployment stops first
	wctx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { defer close(watched); dp.watch(wctx, eng.ResyncRouter) }()
	defer func() { stopWatch(); <-watched }()

	fails := authfail.New(authfail.Options{Delay: cfg.AuthFailDelay, Limit: cfg.AuthFailLimit, Logger: log})
	dash := web.New(web.Options{AdminToken: tok.admin, ViewerToken: tok.readOnly, Logger: log, Failures: fails})
	handler := dash.Handler(apiserver.New(apiserver.Options{Engine: eng, Router: hub, Routers: hub, Token: tok.admin, ReadOnlyToken: tok.readOnly, Logger: log,
		Metrics: promhttp.HandlerFor(prometheus.Gatherers{reg, dp.gather}, promhttp.HandlerOpts{}), Sessions: dash, Failures: fails, MaxStreams: cfg.MaxStreamsPerToken,
		Authenticated: authenticated, Pipelines: pipes}))

	srv, err := serve(cfg, handler, log)
	if err != nil {
		return err
	}
	log.Info("cutover server started", "data_dir", cfg.DataDir, "socket", cfg.Socket, "listen", cfg.Listen)
	select {
	case <-ctx.Done():
		log.Info("stopping: API closed, deployments saved, router draining; instances keep running")
	case err := <-srv.errc:
		srv.shutdown()
		return fmt.Errorf("API server: %w", err)
	}
	srv.shutdown()
	return nil
}

func (c Config) filled() Config {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	if c.Socket == "" {
		c.Socket = DefaultSocket(c.DataDir)
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = DefaultHeaderTimeout
	}
	if c.MaxUnauthConns <= 0 {
		c.MaxUnauthConns = DefaultMaxUnauthConns
	}
	if c.MaxUnauthConnsPerIP <= 0 {
		c.MaxUnauthConnsPerIP = DefaultMaxUnauthConnsPerIP
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// cloudWatchAlarms reads an app's analysis.alarms from CloudWatch, with the AWS SDK's usual
// credentials and region.
func cloudWatchAlarms(ctx context.Context, al spec.Alarms, hc *http.Client) (provider.AlarmSource, error) {
	return awscw.NewAlarms(ctx, al.Region, al.Endpoint, hc)
}

// startDNS serves the names of apps with traffic.dns on cfg.DNS, from records kept under
// the data dir; with no cfg.DNS it serves nothing and returns a nil table.
func startDNS(cfg Config, log *slog.Logger) (*dnsserver.Table, func(), error) {
	if cfg.DNS == "" {
		return nil, func() {}, nil
	}
	tab, err := dnsserver.Open(filepath.Join(cfg.DataDir, "dns"))
	if err != nil {
		return nil, nil, err
	}
	srv, err := dnsserver.Listen(cfg.DNS, tab, log)
	if err != nil {
		return nil, nil, fmt.Errorf("--dns %s: %w (ports below 1024 need root or CAP_NET_BIND_SERVICE)", cfg.DNS, err)
	}
	return tab, func() {
		if err := srv.Close(); err != nil {
			log.Warn("dns: close", "err", err)
		}
	}, nil
}

// cloudOpener opens the parts of an app that run beyond this machine: with the AWS SDK
// (ECS or Auto Scaling groups behind an ALB, Route 53 records), with a Kubernetes client
// (Deployments behind a Service selector or an HTTPRoute), with this server's own DNS
// (dnsTab, nil when it answers none), and run.external's releases, whose slots are kept
// under dataDir.
func cloudOpener(dataDir string, dnsTab *dnsserver.Table) engine.CloudOpener {
	return func(ctx context.Context, a *spec.App, hc *http.Client) (engine.CloudApp, error) {
		var c engine.CloudApp
		if a.Run.Kubernetes != nil {
			k, err := kubeapp.Open(a, hc)
			return engine.CloudApp{Traffic: k.Traffic, Groups: k.Groups}, err
		}
		switch d := a.Traffic.DNS; {
		case d != nil && dnsTab == nil:
			return c, fmt.Errorf("traffic.dns: this server answers no DNS: start it with --dns ADDR (like --dns 127.0.0.1:5353), or use traffic.route53")
		case d != nil:
			p, err := dnsserver.NewProvider(dnsTab, a.Name, d.Name, d.TTL.Duration(), nil)
			if err != nil {
				return c, fmt.Errorf("traffic.dns: %w", err)
			}
			c.Traffic = p
		default:
			aa, err := awsapp.Open(ctx, a, hc)
			if err != nil {
				return c, err
			}
			c = engine.CloudApp{Traffic: aa.Traffic, Groups: aa.Groups, Signals: aa.Signals}
		}
		if x := a.Run.External; x != nil {
			c.Groups = &external.Driver{Dir: filepath.Join(dataDir, "external"), App: a.Name, HealthPath: a.Health.Path, HealthPort: x.HealthPort, Client: hc}
		}
		return c, nil
	}
}
