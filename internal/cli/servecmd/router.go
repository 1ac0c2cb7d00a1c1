package servecmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/routerctl"
	"github.com/cutover/cutover/internal/routerfollow"
	"github.com/cutover/cutover/internal/signals"
)

func newRouterCmd() *cobra.Command {
	var (
		tablePath, statePath, metricsAddr, pprofAddr, dataDir string
		follow                                                routerfollow.Options
		drain                                                 time.Duration
		procs                                                 int
		verbose                                               bool
	)
	cmd := &cobra.Command{
		Use:   "router (--data-dir DIR | --table FILE | --follow URL --token T)",
		Short: "Run the data plane: the process that holds the listeners and moves traffic",
		Long: `Run the router, the data plane, as its own process.

With --data-dir DIR it is the router of a cutover server: ` + "`cutover server`" + ` starts it
when none runs, so you rarely type this. It serves the last table saved in
DIR/router-table.json and takes new tables from the server over DIR/router.sock (0600). It
keeps serving, with the last split, while the server is down or restarting.

With --follow URL --token T it is one more router of the cutover server at URL, on another
host: it waits for each new table over the API (a long poll resumed by version), serves it
with instance addresses on a loopback host rewritten to --upstream-host (default: the host
of URL; the instances must listen where this host reaches them) and listener hosts to
--bind when given, and reports its counters every second, so the server's analysis and
split check judge the sum of every router's traffic. It keeps serving its last table while
the server is down (and, with --state, across its own restarts). ` + "`GET /api/v1/routers`" + `
and the dashboard list the routers with their table version and lag.

With --table FILE it runs alone: it serves the routing table in FILE (JSON, see
internal/router/table.go for the fields) and reloads it on SIGHUP. A table that does not
parse or validate is reported and the current one keeps serving. Every applied table is
saved crash-safely to --state, and at start the router serves the saved table if --table
is missing.

SIGTERM or SIGINT drains and exits. With --data-dir, SIGUSR2 (or ` + "`cutover router upgrade`" + `)
upgrades without refusing a connection: the binary now at this one's path starts with the
listening sockets, and this process drains and exits once it serves.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := newLogger(cmd.ErrOrStderr(), level)
			setProcs(procs, log)
			if pprofAddr != "" {
				if err := servePprof(cmd.Context(), pprofAddr, log); err != nil {
					return err
				}
			}
			if follow.URL != "" || follow.Token != "" {
				if dataDir != "" || tablePath != "" {
					return errors.New("give --follow URL --token T (a router following a server over its API) or --data-dir or --table, not both")
				}
				if follow.Name == "" {
					follow.Name, _ = os.Hostname()
				}
				follow.Logger, follow.StatePath, follow.DrainTimeout = log, statePath, drain
				return routerfollow.Run(cmd.Context(), follow)
			}
			if dataDir != "" {
				if tablePath != "" || statePath != "" || metricsAddr != "" {
					return errors.New("give either --data-dir DIR (the router of a cutover server) or --table FILE (standalone), not both; with --data-dir the server serves the router's metrics")
				}
				return routerctl.Run(cmd.Context(), routerctl.Options{DataDir: dataDir, Logger: log, DrainTimeout: drain})
			}
			if tablePath == "" && statePath == "" {
				return errors.New("give --data-dir DIR (the router of a cutover server) or --table FILE (a standalone router)")
			}
			if statePath == "" {
				statePath = filepath.Join(filepath.Dir(tablePath), "."+filepath.Base(tablePath)+".applied")
			}
			r := router.New(router.Options{Logger: log, StatePath: statePath, DrainTimeout: drain})
			if err := applyFile(r, tablePath, statePath, log); err != nil {
				return err
			}
			if metricsAddr != "" {
				if err := serveMetrics(cmd.Context(), metricsAddr, r, log); err != nil {
					return err
				}
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			for {
				select {
				case <-hup:
					if err := applyFile(r, tablePath, "", log); err != nil {
						log.Error("reload failed; still serving the previous table", "err", err)
					}
				case <-cmd.Context().Done():
					log.Info("stopping: draining connections", "timeout", drain)
					ctx, cancel := context.WithTimeout(context.Background(), drain)
					defer cancel()
					return r.Close(ctx)
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "", "serve as the router of the cutover server using this data directory")
	f.StringVar(&tablePath, "table", "", "routing table JSON file, reloaded on SIGHUP")
	f.StringVar(&statePath, "state", "", "where the applied table is saved (default: beside --table; with --follow: not saved)")
	f.StringVar(&follow.URL, "follow", "", "follow the cutover server whose API is at this URL, e.g. http://10.0.0.1:7070")
	f.StringVar(&follow.Token, "token", "", "with --follow: the server's admin token (its DIR/token)")
	f.StringVar(&follow.Name, "name", "", "with --follow: this router's name in the server's list (default: the host name)")
	f.StringVar(&follow.UpstreamHost, "upstream-host", "", "with --follow: reach instances the table names on a loopback address at this host instead (default: the host of --follow)")
	f.StringVar(&follow.Bind, "bind", "", "with --follow: listen on this IP instead of the host in each listener address")
	f.StringVar(&metricsAddr, "metrics-addr", "", "with --table: serve Prometheus /metrics on this address, e.g. 127.0.0.1:9100")
	f.DurationVar(&drain, "drain-timeout", 30*time.Second, "how long removed instances and listeners may drain")
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug detail")
	f.IntVar(&procs, "procs", 0, "CPU threads the router uses; 0 = half the cores (at least 1), leaving the rest to the apps it fronts, unless GOMAXPROCS is set")
	f.StringVar(&pprofAddr, "pprof-addr", "", "serve Go profiling (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060")
	cmd.AddCommand(newRouterUpgradeCmd())
	return cmd
}

// applyFile loads and applies the table at path, or the saved one at fallback when path is
// missing.
func applyFile(r *router.Router, path, fallback string, log *slog.Logger) error {
	t, err := router.LoadTable(path)
	if err != nil && errors.Is(err, os.ErrNotExist) && fallback != "" {
		log.Warn("table file missing; serving the last applied table", "table", path, "state", fallback)
		t, err = router.LoadTable(fallback)
	}
	if err != nil {
		return err
	}
	if err := r.Apply(t); err != nil {
		return fmt.Errorf("apply %s: %w", path, err)
	}
	log.Info("table applied", "apps", len(t.Apps), "listeners", len(t.Listeners))
	return nil
}

func serveMetrics(ctx context.Context, addr string, r *router.Router, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(signals.NewCollector(r), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	log.Info("metrics served", "addr", ln.Addr().String())
	return nil
}

func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--pprof-addr %q: give a loopback address such as 127.0.0.1:6060 (profiles expose internals)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	log.Info("pprof served", "addr", ln.Addr().String())
	return nil
}

// setProcs sizes the router's Go scheduler. By default it takes half the machine's cores
// (at least one): on one machine the router shares the CPU with the instances it fronts, and
// measured on 2 cores one thread gives the same throughput with a much tighter tail
// (bench/RESULTS.md). An explicit --procs, or GOMAXPROCS in the environment, wins.
func setProcs(procs int, log *slog.Logger) {
	switch {
	case procs > 0:
		goruntime.GOMAXPROCS(procs)
	case os.Getenv("GOMAXPROCS") != "":
		return
	default:
		goruntime.GOMAXPROCS(max(1, goruntime.NumCPU()/2))
	}
	log.Debug("scheduler sized", "procs", goruntime.GOMAXPROCS(0))
}
