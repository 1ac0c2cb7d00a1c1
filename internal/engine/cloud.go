package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/spec"
)

// CloudApp is the part of an app that runs beyond this machine: the traffic provider that
// moves its production weights (an ALB) and the group driver that runs its releases (ECS).
type CloudApp struct {
	Traffic provider.TrafficProvider
	Groups  provider.GroupDriver
	// Signals gives the per-release metrics cloudwatch checks judge; nil when there are none.
	Signals provider.SignalSource
}

// CloudOpener opens the cloud side of an app whose spec runs beyond this machine (run.ecs
// with traffic.alb); client, when not nil, is the egress-restricted one its calls must use.
// The daemon's is over the AWS SDK.
type CloudOpener func(ctx context.Context, a *spec.App, client *http.Client) (CloudApp, error)

// cloudApp drives one app's releases as groups behind a traffic provider. It gives the
// runner the same Fleet and Traffic it has for local instances: a release is one group,
// seen as one endpoint whose address is its backend (a target group). Releases take turns
// in the provider's two slots, as CodeDeploy alternates target groups: green goes to the
// slot blue is not in, and the weights written are mapped to the slots.
type cloudApp struct {
	app string
	CloudApp

	mu      sync.Mutex
	groups  map[string]provider.Group // by version
	listed  bool
	wrote   provider.Written
	greenIn provider.Slot // the slot of the green share last written
	primary string        // the group ref last made primary
	testIn  provider.Slot // the slot the test route was last pointed at
	// testRoute is set when the spec has a test route (traffic.alb.test_port): it follows
	// green while a deployment runs and the live release between deployments.
	testRoute bool
	now       func() time.Time
	// batch is strategy.rolling.batch when releases replace each other in place (run.asg),
	// else 0; replacing holds those updates by green version, alias the blue versions whose
	// group green runs now.
	batch     int
	replacing map[string]*replacement
	alias     map[string]bool
	// ensured is when each version's group was last ensured, and at what count: the runner
	// asks every tick, and a cloud API should hear it at most every reensureEvery.
	ensured map[string]ensureMemo
}

type ensureMemo struct {
	count int
	at    time.Time
}

// reensureEvery is how often a release's group, once ensured at a count, is ensured again
// (it repairs a group deleted behind cutover's back; Observe reports it gone sooner).
const reensureEvery = 5 * time.Second

func newCloudApp(app string, c CloudApp) *cloudApp {
	return &cloudApp{app: app, CloudApp: c, groups: map[string]provider.Group{}, now: time.Now, replacing: map[string]*replacement{}, alias: map[string]bool{},
		ensured: map[string]ensureMemo{}}
}

// hasTestRoute reports whether a's provider has a test route.
func hasTestRoute(a *spec.App) bool {
	return a.Traffic.ALB != nil && a.Traffic.ALB.TestPort != 0 || a.Traffic.ServiceSelector != nil
}

// isCloud reports whether a spec runs beyond this machine.
func isCloud(a *spec.App) bool {
	return a.Run.ECS != nil || a.Run.ASG != nil || a.Run.External != nil || a.Run.Kubernetes != nil
}

// releaseArtifact is what a cloud release of version runs or is reached at: its image (ECS,
// Kubernetes),
// its AMI (ASG), its endpoint (external); "" for an app on this machine. An artifact the
// version cannot make is an error that says what to deploy instead.
func releaseArtifact(a *spec.App, version string) (string, error) {
	switch {
	case a.Run.ECS != nil:
		return a.Run.ECS.ImageFor(a.Name, version), nil
	case a.Run.Kubernetes != nil:
		return a.Run.Kubernetes.ImageFor(a.Name, version), nil
	case a.Run.ASG != nil:
		if err := a.Run.ASG.CheckAMI(a.Name, version); err != nil {
			return "", err
		}
		return a.Run.ASG.AMIFor(a.Name, version), nil
	case a.Run.External != nil:
		e := a.Run.External.EndpointFor(version, nil)
		if !spec.ValidEndpoint(e) {
			return "", fmt.Errorf("run.external.endpoint: version %s makes the endpoint %q, not an IP address or a host name (set the missing ${NAME} with --set NAME=VALUE)", version, e)
		}
		return e, nil
	}
	return "", nil
}

// cloudOf is app's cloud side, nil for an app on this machine.
func (e *Engine) cloudOf(app string) *cloudApp {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clouds[app]
}

// openCloud opens and prepares a's cloud side: the provider creates or adopts what it owns
// (refusing what it does not) and the groups of earlier releases are listed.
func (e *Engine) openCloud(ctx context.Context, a *spec.App) (*cloudApp, error) {
	if e.cloud == nil {
		return nil, fmt.Errorf("run.%s: this server drives no cloud engine (it was built without one)", a.Run.Runtime())
	}
	c, err := e.cloud(ctx, a, e.outboundClient(a))
	if err != nil {
		return nil, fmt.Errorf("run.%s: %w", a.Run.Runtime(), err)
	}
	if err := c.Traffic.Prepare(ctx); err != nil {
		return nil, fmt.Errorf("traffic.%s: prepare: %w", a.Traffic.Kind(), err)
	}
	ca := newCloudApp(a.Name, c)
	ca.testRoute = hasTestRoute(a)
	if inPlace(a) {
		ca.batch = a.Strategy.Rolling.Batch
	}
	if err := ca.refresh(ctx); err != nil {
		return nil, err
	}
	return ca, nil
}

func (c *cloudApp) refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.listed {
		return nil
	}
	gs, err := c.Groups.List(ctx, c.app)
	if err != nil {
		return fmt.Errorf("list %s's groups: %w", c.app, err)
	}
	for _, g := range gs {
		c.groups[g.Version] = g
	}
	c.listed = true
	return nil
}

func (c *cloudApp) endpoint(g provider.Group) deploy.Endpoint {
	return deploy.Endpoint{ID: c.app + "-" + g.Version + "@" + string(g.Slot), Addr: g.Backend.Ref, Version: g.Version}
}

// freeSlot is the slot no other release's group is in.
func (c *cloudApp) freeSlot(version string) (provider.Slot, error) {
	used := map[provider.Slot]string{}
	for v, g := range c.groups {
		if v != version {
			used[g.Slot] = v
		}
	}
	for _, s := range []provider.Slot{provider.Green, provider.Blue} {
		if used[s] == "" {
			return s, nil
		}
	}
	return "", fmt.Errorf("both target groups serve other releases (%s in blue, %s in green); wait for the warm one to retire or roll back first",
		used[provider.Blue], used[provider.Green])
}

// reclaimIdleSlot frees the slot of a release kept warm after an earlier deployment, for a
// new release: the load balancer, read back, sends it no traffic, so the live release is the
// one a rollback needs now. full is the error to return when both slots serve traffic.
func (c *cloudApp) reclaimIdleSlot(ctx context.Context, version string, full error) (provider.Slot, error) {
	o, err := c.Traffic.Observe(ctx)
	if err != nil {
		return "", fmt.Errorf("%w (and the load balancer cannot be read: %v)", full, err)
	}
	var idle provider.Slot
	switch {
	case o.Drift != "":
		return "", fmt.Errorf("%w (and the load balancer holds weights cutover did not write: %s)", full, o.Drift)
	case o.GreenBP == 0:
		idle = provider.Green
	case o.GreenBP == provider.MaxBP:
		idle = provider.Blue
	default:
		return "", full
	}
	c.mu.Lock()
	var warm provider.Group
	for v, g := range c.groups {
		if g.Slot == idle && v != version {
			warm = g
		}
	}
	c.mu.Unlock()
	if warm.Version == "" {
		return idle, nil
	}
	if err := c.Groups.Retire(ctx, warm); err != nil {
		return "", fmt.Errorf("retire %s (kept warm in the %s target group) to make room for %s: %w", warm.Version, idle, version, err)
	}
	c.mu.Lock()
	delete(c.groups, warm.Version)
	c.mu.Unlock()
	return idle, nil
}

func (c *cloudApp) Ensure(ctx context.Context, a *spec.App, version string, count int) ([]deploy.Endpoint, error) {
	if err := c.refresh(ctx); err != nil {
		return nil, err
	}
	if eps, ok, err := c.ensureInPlace(a, version); ok {
		return eps, err
	}
	c.mu.Lock()
	g, ok := c.groups[version]
	if m := c.ensured[version]; ok && m.count == count && c.now().Sub(m.at) < reensureEvery {
		c.mu.Unlock()
		return []deploy.Endpoint{c.endpoint(g)}, nil
	}
	slot := g.Slot
	var err error
	if !ok {
		slot, err = c.freeSlot(version)
	}
	c.mu.Unlock()
	if err != nil {
		if slot, err = c.reclaimIdleSlot(ctx, version, err); err != nil {
			return nil, err
		}
	}
	artifact, err := releaseArtifact(a, version)
	if err != nil {
		return nil, err
	}
	r := provider.Release{App: c.app, Version: version, Slot: slot, Image: artifact}
	if g, err = c.Groups.EnsureRelease(ctx, r, count); err != nil {
		return nil, err
	}
	if err := c.Traffic.Bind(ctx, slot, g.Backend); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.groups[version] = g
	c.ensured[version] = ensureMemo{count: count, at: c.now()}
	c.mu.Unlock()
	return []deploy.Endpoint{c.endpoint(g)}, nil
}

func (c *cloudApp) group(version string) (provider.Group, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[version]
	return g, ok
}

func (c *cloudApp) Endpoints(version string) []deploy.Endpoint {
	if g, ok := c.group(version); ok {
		return []deploy.Endpoint{c.endpoint(g)}
	}
	return nil
}

// Observe reports a release's group as its desired count of instances (the engine counts
// healthy instances against run.instances): all healthy once the driver reports the group
// stable at that count, all gone when the driver no longer has it.
func (c *cloudApp) Observe(ctx context.Context, version string) ([]deploy.InstanceObs, error) {
	if obs, ok := c.observeReplacing(version); ok {
		return obs, nil
	}
	g, ok := c.group(version)
	if !ok {
		return nil, nil
	}
	obs := deploy.InstanceObs{ID: c.endpoint(g).ID}
	st, err := c.Groups.Observe(ctx, g)
	switch {
	case errors.Is(err, provider.ErrNotFound):
		obs.Exited, obs.Reason = true, err.Error()
	case err != nil:
		return nil, err
	case st.Crashed:
		obs.Exited, obs.Reason = true, strings.Join(st.Failures, "; ")
	case len(st.Failures) > 0:
		obs.Reason = strings.Join(st.Failures, "; ")
	case st.Stable && st.Desired > 0:
		obs.Healthy = true
	default:
		obs.Reason = fmt.Sprintf("%d of %d running, %d healthy; not steady yet", st.Running, st.Desired, st.Healthy)
	}
	out := []deploy.InstanceObs{obs}
	for i := 2; i <= st.Desired; i++ {
		o := obs
		o.ID = fmt.Sprintf("%s/%d", obs.ID, i)
		out = append(out, o)
	}
	return out, nil
}

func (c *cloudApp) Stop(ctx context.Context, version string) error {
	if ok, err := c.stopInPlace(ctx, version); ok {
		return err
	}
	g, ok := c.group(version)
	if !ok {
		return nil
	}
	if err := c.Groups.Retire(ctx, g); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.groups, version)
	delete(c.ensured, version)
	c.mu.Unlock()
	return nil
}

func (c *cloudApp) Scale(ctx context.Context, version string, count int) error {
	g, ok := c.group(version)
	if !ok {
		return nil
	}
	c.mu.Lock()
	delete(c.ensured, version)
	c.mu.Unlock()
	return c.Groups.Scale(ctx, g, count)
}

func (c *cloudApp) versions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.groups))
	for v := range c.groups {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// applyCloudTimeout bounds the preparation of a load balancer at apply.
const applyCloudTimeout = time.Minute

// applyCloud opens a cloud app's provider and driver (again, for a spec applied anew) and
// prepares what they own. An app cannot move between this machine and a cloud engine.
func (e *Engine) applyCloud(a *spec.App) error {
	e.mu.Lock()
	_, local := e.specs[a.Name]
	_, cloud := e.clouds[a.Name]
	e.mu.Unlock()
	if local && !cloud {
		return fmt.Errorf("run.%s: %s runs on this machine; an app cannot move to a cloud engine: apply it under a new name", a.Run.Runtime(), a.Name)
	}
	ctx, cancel := context.WithTimeout(e.ctx, applyCloudTimeout)
	defer cancel()
	ca, err := e.openCloud(ctx, a)
	if err != nil {
		return err
	}
	ca.now = e.clock.Now
	e.mu.Lock()
	if prev := e.clouds[a.Name]; prev != nil {
		ca.keep(prev)
	}
	e.clouds[a.Name] = ca
	e.mu.Unlock()
	return nil
}

// restoreCloud re-adopts a cloud app after a restart: its provider's objects and its
// groups, found by owner tags and external IDs.
func (e *Engine) restoreCloud(ctx context.Context, a *spec.App) error {
	ca, err := e.openCloud(ctx, a)
	if err != nil {
		return fmt.Errorf("restore app %s: %w", a.Name, err)
	}
	ca.now = e.clock.Now
	e.clouds[a.Name] = ca // e.mu is not needed: restore runs before anything else
	return nil
}

// keep carries what the previous opening of the app knew (the last write, the primary).
func (c *cloudApp) keep(prev *cloudApp) {
	prev.mu.Lock()
	defer prev.mu.Unlock()
	c.wrote, c.greenIn, c.primary, c.testIn = prev.wrote, prev.greenIn, prev.primary, prev.testIn
}
