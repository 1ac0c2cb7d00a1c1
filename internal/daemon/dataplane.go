package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/routerctl"
	"github.com/cutover/cutover/internal/signals"
)

// dataPlane is the router the engine drives: the router process (the default) or, without
// a RouterExe, a router inside this process.
type dataPlane struct {
	router engine.Router
	served router.Table        // what it serves now, for the engine's restore
	gather prometheus.Gatherer // its metrics, served with the server's
	// watch, for a router process, restarts it if it dies and pushes the engine's table.
	watch func(ctx context.Context, resync func() error)
	close func()
}

func startDataPlane(ctx context.Context, cfg Config, log *slog.Logger) (*dataPlane, error) {
	if cfg.RouterExe == "" {
		return embeddedRouter(cfg, log)
	}
	c, st, started, err := routerctl.Supervise(ctx, cfg.DataDir, cfg.RouterExe, log)
	if err != nil {
		return nil, err
	}
	if !started {
		log.Info("router process already serving; keeping it", "pid", st.PID)
	}
	served, err := c.Table()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("read the table the router serves: %w", err)
	}
	// c holds duplicates of the router's listening sockets; watch restarts a router that
	// died with them, so the kernel queues connections meanwhile (routerctl.Supervisor).
	dp := &dataPlane{router: c, served: served, gather: c, close: c.Close}
	dp.watch = c.Run
	return dp, nil
}

func embeddedRouter(cfg Config, log *slog.Logger) (*dataPlane, error) {
	path := filepath.Join(cfg.DataDir, routerctl.TableFile)
	rt := router.New(router.Options{Logger: log, StatePath: path, DrainTimeout: drainDeadline, SampleInterval: 250 * time.Millisecond})
	closeRouter := func() {
		dctx, cancel := context.WithTimeout(context.Background(), drainDeadline)
		defer cancel()
		if cerr := rt.Close(dctx); cerr != nil {
			log.Warn("router did not drain cleanly", "err", cerr)
		}
	}
	if err := restoreTable(rt, path, log); err != nil {
		closeRouter()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(signals.NewCollector(rt))
	return &dataPlane{router: rt, served: rt.Table(), gather: reg,
		watch: func(context.Context, func() error) {}, close: closeRouter}, nil
}

// restoreTable serves the last applied routing table before the engine starts, so traffic
// flows while deployments are restored. A missing table is a first start.
func restoreTable(rt *router.Router, path string, log *slog.Logger) error {
	t, err := router.LoadTable(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore the routing table: %w (move the file away to start with an empty table)", err)
	}
	if err := rt.Apply(t); err != nil {
		return fmt.Errorf("restore the routing table %s: %w", path, err)
	}
	log.Info("routing table restored", "apps", len(t.Apps), "listeners", len(t.Listeners))
	return nil
}
