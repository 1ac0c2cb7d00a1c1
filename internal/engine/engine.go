// Package engine runs apps on one machine: it wires the deployment state machine (deploy) to
// the router, the runtime drivers, hooks, analysis and the store, and offers the operations a
// server or a test drives: apply a spec, deploy a version, send a command, roll back, ask why.
//
// It is the composition of the control plane. Nothing imports it but the server and the CLI.
// It knows drivers only as runtime.Driver values by name, plus the small optional ports it
// declares (pinger, imageBuilder); which drivers exist is the composition root's choice.
package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cutover/cutover/internal/egress"
	"github.com/cutover/cutover/internal/provider"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// Router is what the engine needs of the data plane: the in-process *router.Router, or a
// routerctl.Client driving the router process.
type Router interface {
	Apply(router.Table) error
	Health(app string) map[string]router.InstanceHealth
	Signals(app string, window time.Duration) (router.AppSignals, bool)
	WaitDrained(ctx context.Context, ids []string, deadline time.Time) (int, error)
}

var _ Router = (*router.Router)(nil)

// Options wire an Engine.
type Options struct {
	Router Router // serves the apps; owned by the caller
	// Served is the table the router serves when the engine starts (its saved table). The
	// engine's first table keeps its pools and weights for deployments in progress, so a
	// restarted control plane moves no traffic until the deployment's next step.
	Served router.Table
	// Drivers run the instances, by runtime name: "process" runs run.process, "docker" runs
	// run.docker. Each name must be what its driver writes in runtime.Instance.Driver. At
	// least one is required; a spec whose runtime has no driver here is refused by Apply.
	Drivers map[string]runtime.Driver
	Store   *store.Store // keeps apps, releases, deployments and instances
	Logger  *slog.Logger
	// Clock drives deadlines and bakes; default the wall clock.
	Clock deploy.Clock
	// Tick bounds the runner's wait between observations; default 100ms.
	Tick time.Duration
	// JanitorInterval is how often warm blues are retired and strays stopped; default 1s.
	JanitorInterval time.Duration
	// Metrics, if set, receives the engine's Prometheus metrics.
	Metrics prometheus.Registerer
	// Limits bound the apps and the history kept; zero fields take DefaultLimits.
	Limits Limits
	// Alarms, if set, gives the alarm source of an app's analysis.alarms; the client, when
	// not nil, is the egress-restricted one its calls must use. Nil: apps with alarms get
	// an inconclusive check saying the server reads no alarms.
	Alarms AlarmReader
	// Egress is the server's allow list for hooks with a url, webhooks and external checks
	// (cutover server --egress-allow); a destination must pass it and the app's
	// egress.allow. Empty allows every host.
	Egress egress.Policy
	// Cloud, if set, opens the cloud side of apps with run.ecs (the daemon's is over the
	// AWS SDK). Nil: such specs are refused at Apply, saying so.
	Cloud CloudOpener
}

// AlarmReader builds the source of CloudWatch alarm states for one app's analysis.alarms
// (the daemon's is over the AWS SDK).
type AlarmReader func(ctx context.Context, al spec.Alarms, client *http.Client) (provider.AlarmSource, error)

// Engine is the control plane of one machine.
type Engine struct {
	log     *slog.Logger
	store   *store.Store
	router  Router
	traffic *traffic
	fleet   *fleet
	runner  *deploy.Runner
	clock   deploy.Clock
	janitor time.Duration
	limits  Limits
	egress  egress.Policy
	alarms  AlarmReader
	cloud   CloudOpener
	applyMu sync.Mutex // one Apply at a time, so MaxApps holds

	mu       sync.Mutex
	specs    map[string]*spec.App // applied specs by app
	releases map[string]*spec.App // release specs by app/version
	active   map[string]*running  // deployments in progress by app
	clouds   map[string]*cloudApp // the cloud side of apps beyond this machine
	retired  map[string]bool      // app/version whose after_blue_retired hooks ran
	feed     feed
	metrics  *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type running struct {
	id   string
	cmds chan deploy.Command
	done chan struct{}
}

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// New restores the engine from the store: apps are routed again, running instances are
// re-adopted, deployments in progress resume, and background retirement starts.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.JanitorInterval <= 0 {
		opts.JanitorInterval = time.Second
	}
	if len(opts.Drivers) == 0 {
		return nil, errors.New("engine: no runtime driver given; give at least the process driver (Options.Drivers)")
	}
	e := &Engine{
		log: opts.Logger, store: opts.Store, router: opts.Router, clock: opts.Clock, janitor: opts.JanitorInterval,
		limits: opts.Limits.orDefaults(), egress: opts.Egress, alarms: opts.Alarms, cloud: opts.Cloud,
		clouds: map[string]*cloudApp{},
		specs:  map[string]*spec.App{}, releases: map[string]*spec.App{},
		active: map[string]*running{}, retired: map[string]bool{},
	}
	e.metrics = newMetrics(opts.Metrics)
	e.traffic = &traffic{r: opts.Router, apps: map[string]*routed{}, cloud: e.cloudOf}
	e.fleet = &fleet{e: e, drivers: drivers(maps.Clone(opts.Drivers)), known: map[string]runtime.Instance{}}
	e.runner = &deploy.Runner{Fleet: e.fleet, Traffic: e.traffic, Analyzer: analyzer{e}, Hooks: hookRunner{e},
		Store: stateStore{e}, Clock: opts.Clock, Log: opts.Logger, Tick: opts.Tick}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if err := e.restore(ctx, opts.Served); err != nil {
		e.cancel()
		return nil, err
	}
	e.wg.Add(1)
	go e.janitorLoop()
	return e, nil
}

// restore routes every stored app to its current blue and resumes deployments in progress.
// It applies one table: apps whose deployment is in progress keep the pools and weight the
// router serves (the resumed deployment sets them next); the others route to their blue.
func (e *Engine) restore(ctx context.Context, served router.Table) error {
	apps, err := e.store.ListApps()
	if err != nil {
		return fmt.Errorf("restore apps: %w", err)
	}
	specs := make([]*spec.App, 0, len(apps))
	inUse := map[string]bool{}
	for _, rec := range apps {
		a, err := spec.Parse(bytes.NewReader(rec.Spec))
		if err != nil {
			return fmt.Errorf("restore app %s: stored spec no longer parses: %w", rec.Name, err)
		}
		specs = append(specs, a)
		inUse[a.Run.Runtime()] = true
	}
	recorded, err := e.store.ListInstances("")
	if err != nil {
		return fmt.Errorf("restore instances: %w", err)
	}
	for _, in := range recorded {
		inUse[in.Driver] = true
	}
	if err := e.fleet.adopt(ctx, inUse, recorded); err != nil {
		return err
	}
	active, err := e.store.ActiveDeployments()
	if err != nil {
		return fmt.Errorf("restore deployments: %w", err)
	}
	states := make([]deploy.State, 0, len(active))
	inProgress := map[string]bool{}
	for _, d := range active {
		var s deploy.State
		if err := json.Unmarshal(d.State, &s); err != nil {
			return fmt.Errorf("restore deployment %s: %w", d.ID, err)
		}
		states = append(states, s)
		inProgress[s.App] = true
	}
	e.traffic.seed(served)
	for _, a := range specs {
		e.specs[a.Name] = a
		if isCloud(a) {
			if err := e.restoreCloud(ctx, a); err != nil {
				return err
			}
			continue
		}
		e.traffic.declare(a)
		if inProgress[a.Name] {
			continue
		}
		if blue, _, _ := e.blue(a.Name); blue != "" {
			eps, _ := e.fleet.Endpoints(ctx, a.Name, blue)
			e.traffic.declarePools(a.Name, eps, nil, 0)
		}
	}
	if err := e.traffic.applyAll(); err != nil {
		return fmt.Errorf("restore routes: %w", err)
	}
	for _, s := range states {
		e.log.Info("resuming deployment", "deployment", s.ID, "phase", s.Phase)
		e.start(s)
	}
	return nil
}

// Close stops driving deployments (their state is saved; a new Engine resumes them) and
// leaves instances running.
func (e *Engine) Close() {
	e.cancel()
	e.wg.Wait()
}

// Apply stores an app's spec and routes it. Deployments already running keep the plan they
// started with. A spec whose runtime this server cannot run now (no such driver, or a Docker
// engine that does not answer) is refused, and nothing changes.
func (e *Engine) Apply(a *spec.App) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.mu.Lock()
	err := e.checkAppLimit(a.Name)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	data, err := a.Marshal()
	if err != nil {
		return fmt.Errorf("apply %s: %w", a.Name, err)
	}
	if isCloud(a) {
		if err := e.applyCloud(a); err != nil {
			return fmt.Errorf("apply %s: %w", a.Name, err)
		}
	} else {
		if e.cloudOf(a.Name) != nil {
			return fmt.Errorf("apply %s: it runs on a cloud engine; an app cannot move to this machine: apply it under a new name", a.Name)
		}
		if err := e.fleet.drivers.check(a); err != nil {
			return fmt.Errorf("apply %s: %w", a.Name, err)
		}
		if err := e.traffic.setSpec(a); err != nil {
			return fmt.Errorf("apply %s: %w", a.Name, err)
		}
	}
	if err := e.store.PutApp(store.App{Name: a.Name, Spec: data}); err != nil {
		return fmt.Errorf("apply %s: %w", a.Name, err)
	}
	e.mu.Lock()
	e.specs[a.Name] = a
	e.mu.Unlock()
	return nil
}

// ErrNoApp is returned for an app that was never applied.
var ErrNoApp = errors.New("no such app")

func errNoApp(app string) error {
	return fmt.Errorf("app %q: %w; apply its spec first (cutover apply -f app.yaml)", app, ErrNoApp)
}

func (e *Engine) currentSpec(app string) (*spec.App, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.specs[app]
	if a == nil {
		return nil, errNoApp(app)
	}
	return a, nil
}

// releaseSpec is the spec a release was created with.
func (e *Engine) releaseSpec(app, version string) (*spec.App, error) {
	key := app + "/" + version
	e.mu.Lock()
	a := e.releases[key]
	e.mu.Unlock()
	if a != nil {
		return a, nil
	}
	rel, err := e.store.GetRelease(app, version)
	if err != nil {
		return nil, fmt.Errorf("release %s of %s: %w", version, app, err)
	}
	if a, err = spec.Parse(bytes.NewReader(rel.Spec)); err != nil {
		return nil, fmt.Errorf("release %s of %s: stored spec: %w", version, app, err)
	}
	e.mu.Lock()
	e.releases[key] = a
	e.mu.Unlock()
	return a, nil
}

// endpointOf is the URL other apps reach app at: its first route's listener.
func (e *Engine) endpointOf(app string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := e.specs[app]; a != nil && len(a.Routes) > 0 {
		return "http://" + a.Routes[0].Listen
	}
	return ""
}

// ResyncRouter pushes the whole table to the router again: a router process that restarted
// serves its saved table, and this makes sure it serves the engine's.
func (e *Engine) ResyncRouter() error {
	if err := e.traffic.reapply(); err != nil {
		return fmt.Errorf("push the routing table to the router: %w", err)
	}
	return nil
}
