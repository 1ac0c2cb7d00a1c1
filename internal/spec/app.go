package spec

import (
	"strings"
	"time"
)

// App is one app's spec: a routable service, how to run it, and how a new release of it is
// deployed. A spec file holds one App.
type App struct {
	// The app's name: lowercase letters, digits and dashes, 1-63 characters, starting and
	// ending with a letter or digit. It names the app in the CLI, the API and the router,
	// reaches instances as CUTOVER_APP, and other apps refer to it in run.endpoints.
	//
	// Required.
	// Example: web
	Name string `yaml:"app"`

	// Where the router accepts this app's production traffic: at least one route. Several
	// apps may share a listener and be told apart by host and path.
	//
	// Required.
	// Example: [{listen: "127.0.0.1:8080", host: shop.example.com}]
	Routes []Route `yaml:"routes"`

	// A second listener, host:port, where every request goes to green while a deployment is
	// under way (to blue otherwise), so that hooks and people can try a release before it
	// takes production traffic: CodeDeploy's test listener. It must differ from every
	// route's listen address.
	//
	// Default: none.
	// Example: 127.0.0.1:8081
	TestListener string `yaml:"test_listener,omitempty"`

	// How instances are started and stopped.
	//
	// Required.
	// Example: {process: {command: ["./web", "--port", "$PORT"]}, instances: 2}
	Run Run `yaml:"run"`

	// What moves production traffic, when it is not the built-in router: an AWS
	// Application Load Balancer (with run.ecs).
	//
	// Default: the built-in router, on routes.
	// Example: {alb: {load_balancer: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188", vpc: vpc-0a1b2c3d, port: 80, test_port: 8080}}
	Traffic Traffic `yaml:"traffic,omitempty"`

	// Where run.ecs and traffic.alb call AWS.
	//
	// Default: the region and endpoints of the server's AWS configuration.
	// Example: {region: eu-west-1}
	AWS AWS `yaml:"aws,omitempty"`

	// How each instance is probed; only healthy instances get traffic, and green must be
	// healthy before any traffic moves.
	//
	// Default: GET / every 1s (see the fields).
	// Example: {path: /healthz}
	Health Health `yaml:"health"`

	// How traffic moves from blue to green.
	//
	// Default: canary, 10% for 1m, then 50% for 1m, then 100%.
	// Example: {preset: Linear10PercentEvery1Minute}
	Strategy Strategy `yaml:"strategy"`

	// Checks and actions run at points of the deployment. A failing hook stops the
	// deployment: before traffic moves it fails, after that it rolls back.
	//
	// Default: none.
	// Example: [{name: smoke, at: after_test_traffic, http: {path: /smoke}}]
	Hooks []Hook `yaml:"hooks,omitempty"`

	// Judges green by the traffic the router sees, and rolls back when green does worse than
	// allowed. Writing the key, even empty, turns it on with its defaults.
	//
	// Default: off.
	// Example: {checks: [{name: errors, error_rate: {max: 1}}]}
	Analysis *Analysis `yaml:"analysis,omitempty"`

	// Which hosts the server may call on this app's behalf (HTTP hooks with a url, webhooks,
	// external checks). They run from the server's process with its network access, loopback
	// and private addresses included, so a list here keeps a spec from reaching more.
	//
	// Default: any host the server can reach.
	// Example: {allow: [hooks.example.com, 10.0.0.0/8]}
	Egress Egress `yaml:"egress,omitempty"`

	// What happens when green's observed share of production traffic over a step stays far
	// from its weight with enough requests to tell (green got none of the sticky clients,
	// say): the deployment says so in its events and in `cutover why`, the step does not
	// advance, and then, by policy, it re-balances the cohorts once and fails the step if the
	// split is still off after the deadline (rolling back), fails it after the deadline, or
	// keeps waiting, up to deadlines.deployment.
	//
	// Default: {policy: rebalance, deadline: 5m}
	// Example: {policy: wait}
	SplitCheck SplitCheck `yaml:"split_check"`

	// Takes commits of a git repository to production: a clean checkout of each commit is
	// built, tested, optionally approved, and deployed with this spec's strategy as the
	// release named by its short SHA.
	//
	// Default: none (releases come from cutover deploy).
	// Example: {source: {repo: /srv/git/web.git}, build: {command: [make]}, tests: [{name: unit, command: [make, test]}]}
	Pipeline *Pipeline `yaml:"pipeline,omitempty"`

	// Limits on how long a deployment and its waits may take.
	//
	// Default: see the fields.
	// Example: {deployment: 30m}
	Deadlines Deadlines `yaml:"deadlines"`

	// How long blue keeps running after green is promoted, so a rollback is an instant switch
	// back instead of a new deployment (CodeDeploy's termination wait). 0 stops blue as soon
	// as it has drained.
	//
	// Default: 5m.
	// Example: 30m
	KeepWarm *Duration `yaml:"keep_warm,omitempty"`

	// How long an instance taken out of service may finish the requests, streams and
	// WebSockets it has before they are cut.
	//
	// Default: 30s.
	// Example: 1m
	DrainTimeout Duration `yaml:"drain_timeout,omitempty" spec:"nonzero"`
}

// Route is one way production requests reach the app: a listener, and optionally a host and
// a path prefix on it.
type Route struct {
	// The router listener's address, host:port. An empty host listens on every interface.
	//
	// Required.
	// Example: 127.0.0.1:8080
	Listen string `yaml:"listen"`

	// Only requests for this host match: an exact lowercase name, or "*.example.com" for any
	// one-level subdomain.
	//
	// Default: any host.
	// Example: shop.example.com
	Host string `yaml:"host,omitempty"`

	// Only requests whose path starts with this prefix match; the longest matching prefix
	// wins.
	//
	// Default: /
	// Example: /api/
	Path string `yaml:"path,omitempty"`
}

// Deadlines bound every wait, so a deployment always ends: when one passes, a deployment that
// has not moved traffic fails and one that has rolls back.
type Deadlines struct {
	// The whole deployment, from its start to green serving all traffic.
	//
	// Default: 1h.
	// Example: 30m
	Deployment Duration `yaml:"deployment,omitempty" spec:"nonzero"`

	// Any approval gate (strategy.bluegreen.approval, a canary step's approval): how long
	// cutover waits for `cutover approve`.
	//
	// Default: 1h.
	// Example: 4h
	Approval Duration `yaml:"approval,omitempty" spec:"nonzero"`

	// The most any one hook may take; no hook's timeout may exceed it.
	//
	// Default: 10m.
	// Example: 5m
	Hook Duration `yaml:"hook,omitempty" spec:"nonzero"`
}

// SplitCheck says what a step does when its traffic split stays off its weight.
type SplitCheck struct {
	// rebalance: the first time green's share is found off in a step, the clients not in
	// green's cohort (those green has not served) get new cohort buckets, so the fair split
	// sends its share of them to green; the split is judged again from then on, and the
	// step fails if it is still off when the deadline has passed since it was first found
	// off. fail: the step fails once green's share has been off for the deadline. wait: it
	// keeps waiting for the share to right itself (the deployment's deadline still ends it).
	//
	// Default: rebalance
	// Example: wait
	Policy string `yaml:"policy,omitempty"`

	// How long green's share may stay off before the step fails (policies rebalance, fail).
	//
	// Default: 5m
	// Example: 2m
	Deadline Duration `yaml:"deadline,omitempty" spec:"nonzero"`
}

// Split check policies.
const (
	SplitRebalance = "rebalance"
	SplitFail      = "fail"
	SplitWait      = "wait"
)

// Defaults of the top-level fields.
const (
	defaultKeepWarm     = Duration(5 * time.Minute)
	defaultDrainTimeout = Duration(30 * time.Second)
	defaultDeployment   = Duration(time.Hour)
	defaultApproval     = Duration(time.Hour)
	defaultHookDeadline = Duration(10 * time.Minute)
)

// Default fills every unset field that has a default, as each field's doc says. It only
// fills zero values, so calling it again changes nothing. Empty maps and lists become nil.
func (a *App) Default() {
	fill(&a.Deadlines.Deployment, defaultDeployment)
	fill(&a.Deadlines.Approval, defaultApproval)
	fill(&a.Deadlines.Hook, defaultHookDeadline)
	if len(a.Routes) == 0 {
		a.Routes = nil
	}
	for i := range a.Routes {
		fill(&a.Routes[i].Path, "/")
	}
	a.Run.defaults()
	if a.Run.ASG != nil {
		a.Run.ASG.defaults()
	}
	if a.Run.External != nil {
		a.Run.External.defaults()
	}
	if a.Run.ECS != nil {
		a.Run.ECS.defaults(a.Name)
	}
	if a.Run.Kubernetes != nil {
		a.Run.Kubernetes.defaults()
	}
	a.Traffic.defaults(a.Name)
	a.Health.defaults()
	a.Strategy.defaults()
	if len(a.Hooks) == 0 {
		a.Hooks = nil
	}
	for i := range a.Hooks {
		a.Hooks[i].defaults(a)
	}
	if a.Analysis != nil {
		a.Analysis.defaults(a.Traffic.Kind() == "")
	}
	if a.KeepWarm == nil {
		k := defaultKeepWarm
		a.KeepWarm = &k
	}
	fill(&a.DrainTimeout, defaultDrainTimeout)
	if len(a.Egress.Allow) == 0 {
		a.Egress.Allow = nil
	}
	if a.Pipeline != nil {
		a.Pipeline.defaults()
	}
	fill(&a.SplitCheck.Policy, SplitRebalance)
	fill(&a.SplitCheck.Deadline, Duration(5*time.Minute))
}

// Validate reports every problem in a defaulted App (call Default first; Parse does both)
// as an *Error, or returns nil. Problems from Validate have no line; Parse adds them.
func (a *App) Validate() error {
	c := &checker{}
	if !nameRE.MatchString(a.Name) {
		if a.Name == "" {
			c.add("app", "required: the app's name (%s)", nameRules)
		} else {
			c.add("app", "%q is not a valid name: use %s", clip(a.Name), nameRules)
		}
	}
	a.validateRoutes(c)
	a.Run.validate(c, "run", a.Pipeline != nil)
	if a.Run.ASG != nil {
		a.Run.ASG.validate(c, "run.asg", a)
	}
	if a.Run.External != nil {
		a.Run.External.validate(c, "run.external", a)
	}
	if a.Run.ECS != nil {
		a.Run.ECS.validate(c, "run.ecs", a)
	}
	if a.Run.Kubernetes != nil {
		a.Run.Kubernetes.validate(c, "run.kubernetes", a)
	}
	a.Traffic.validate(c, a)
	a.AWS.validate(c)
	a.Health.validate(c, "health")
	a.Strategy.validate(c, "strategy", a.Run.Instances)
	a.validateHooks(c)
	if a.Analysis != nil {
		a.Analysis.validate(c, "analysis")
	}
	a.validateEgress(c)
	if a.Pipeline != nil {
		a.Pipeline.validate(c, a)
	}
	c.positive("deadlines.deployment", a.Deadlines.Deployment)
	c.positive("deadlines.approval", a.Deadlines.Approval)
	c.positive("deadlines.hook", a.Deadlines.Hook)
	if a.KeepWarm != nil && *a.KeepWarm < 0 {
		c.add("keep_warm", "must not be negative, got %s", *a.KeepWarm)
	}
	c.positive("drain_timeout", a.DrainTimeout)
	if p := a.SplitCheck.Policy; p != SplitRebalance && p != SplitFail && p != SplitWait {
		c.add("split_check.policy", "%q is not a policy: use %q, %q or %q", clip(p), SplitRebalance, SplitFail, SplitWait)
	}
	c.positive("split_check.deadline", a.SplitCheck.Deadline)
	return c.err()
}

func (a *App) validateRoutes(c *checker) {
	if len(a.Routes) == 0 && a.Traffic.Kind() == "" && a.Run.Kubernetes == nil { // run.kubernetes says what it needs
		c.add("routes", "required: at least one route, like {listen: \"127.0.0.1:8080\"} (or traffic.alb with run.ecs)")
	}
	seen := map[Route]int{}
	for i, r := range a.Routes {
		p := index("routes", i)
		c.hostPort(p+".listen", r.Listen)
		if r.Host != "" && !hostRE.MatchString(r.Host) {
			c.add(p+".host", "%q is not a lowercase host name or \"*.\" wildcard, like shop.example.com", clip(r.Host))
		}
		if !strings.HasPrefix(r.Path, "/") || strings.ContainsAny(r.Path, "?# \t\r\n") {
			c.add(p+".path", "%q is not a path prefix: it must start with / and hold no query, fragment or spaces", clip(r.Path))
		}
		if first, dup := seen[r]; dup {
			c.add(p, "the same listen, host and path as routes[%d]", first)
		} else {
			seen[r] = i
		}
		if a.TestListener != "" && r.Listen == a.TestListener {
			c.add("test_listener", "%q is also routes[%d].listen; the test listener needs its own address", clip(r.Listen), i)
		}
	}
	if a.TestListener != "" {
		c.hostPort("test_listener", a.TestListener)
	}
}

func (a *App) validateHooks(c *checker) {
	names := map[string]int{}
	for i := range a.Hooks {
		p := index("hooks", i)
		h := &a.Hooks[i]
		if first, dup := names[h.Name]; dup && h.Name != "" {
			c.add(p+".name", "%q is already the name of hooks[%d]; hook names must be unique", clip(h.Name), first)
		} else {
			names[h.Name] = i
		}
		h.validate(c, p, a)
	}
}

// fill sets *v to def when *v is the zero value.
func fill[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
