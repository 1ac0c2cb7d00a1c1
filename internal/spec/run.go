package spec

import (
	"strings"
	"time"
)

// Run says how instances of a release are started and stopped. Exactly one runtime is set:
// process (local child processes), docker (containers), ecs (ECS task sets behind an ALB),
// asg (Auto Scaling groups behind an ALB), external (releases run elsewhere, behind DNS) or
// kubernetes (Deployments in a cluster). A release keeps the runtime it was deployed with,
// so an app can move between process and docker with an ordinary deployment.
type Run struct {
	// Runs each instance as a local child process.
	//
	// Required unless docker, ecs, asg, external or kubernetes is set.
	// Example: {command: ["./web", "--port", "$PORT"]}
	Process *Process `yaml:"process,omitempty"`

	// Runs each instance as a Docker container.
	//
	// Required unless process, ecs, asg, external or kubernetes is set.
	// Example: {image: "web:$CUTOVER_VERSION", port: 8080, memory: 256m}
	Docker *Docker `yaml:"docker,omitempty"`

	// Runs each release as an ECS task set behind traffic.alb.
	//
	// Required unless process, docker, asg, external or kubernetes is set.
	// Example: {cluster: prod, image: "web:$CUTOVER_VERSION", subnets: [subnet-0a1b2c3d], security_groups: [sg-0a1b2c3d]}
	ECS *ECS `yaml:"ecs,omitempty"`

	// Runs each release as an EC2 Auto Scaling group with its own launch template, behind
	// traffic.alb.
	//
	// Required unless process, docker, ecs, external or kubernetes is set.
	// Example: {ami: $CUTOVER_VERSION, subnets: [subnet-0a1b2c3d], security_groups: [sg-0a1b2c3d]}
	ASG *ASG `yaml:"asg,omitempty"`

	// Releases cutover does not start, each at its own endpoint, behind traffic.route53 or
	// traffic.dns.
	//
	// Required unless process, docker, ecs, asg or kubernetes is set.
	// Example: {endpoint: web-$CUTOVER_VERSION.internal.example.com}
	External *External `yaml:"external,omitempty"`

	// Runs each release as a Kubernetes Deployment behind traffic.service_selector or
	// traffic.gateway_api.
	//
	// Required unless process, docker, ecs, asg or external is set.
	// Example: {namespace: shop, image: "registry.example.com/web:$CUTOVER_VERSION", port: 8080}
	Kubernetes *Kubernetes `yaml:"kubernetes,omitempty"`

	// How many instances of each release run; the router balances requests over the healthy
	// ones. From 1 to 100.
	//
	// Default: 1.
	// Example: 3
	Instances int `yaml:"instances,omitempty" spec:"nonzero"`

	// How long an instance has to exit after SIGTERM before it is killed with SIGKILL.
	//
	// Default: 10s.
	// Example: 30s
	StopGrace Duration `yaml:"stop_grace,omitempty" spec:"nonzero"`

	// Other apps' router endpoints given to every instance as environment variables, for
	// services that call each other: variable name -> app name. cutover sets the variable to
	// http://ADDRESS, where ADDRESS is the listen address of that app's first route. In a
	// container on a bridge network 127.0.0.1 is the container itself: give such apps a route
	// on an address the container reaches (the host's address on the bridge, say).
	//
	// Default: none.
	// Example: {USERS_ENDPOINT: users}
	Endpoints map[string]string `yaml:"endpoints,omitempty"`
}

// Process runs each instance as a child process of cutover, started from an argument list and
// never through a shell. Besides env and run.endpoints, every instance gets these variables:
//
//   - PORT: the port the instance must listen on; cutover picks a free one per instance.
//   - CUTOVER_APP: the app's name.
//   - CUTOVER_VERSION: the release the instance runs, e.g. v2.
//
// $NAME and ${NAME} in command are replaced from that environment ("$PORT" becomes the
// port), by cutover itself.
type Process struct {
	// The program and its arguments, one list item each. The program is looked up in PATH
	// unless it contains a slash, and a relative path is taken from dir.
	//
	// Required.
	// Example: ["./web", "--port", "$PORT"]
	Command []string `yaml:"command,flow"`

	// The working directory of the process. A relative directory is taken from the working
	// directory of `cutover server`, not from the spec file's: the spec reaches the server as
	// text, without the file's location. Prefer an absolute path.
	//
	// Default: .
	// Example: ./build
	Dir string `yaml:"dir,omitempty"`

	// Extra environment variables, name -> value. PORT, CUTOVER_APP and CUTOVER_VERSION are
	// set by cutover and cannot be set here.
	//
	// Default: none.
	// Example: {LOG_LEVEL: info, DB_PASSWORD: s3cret}
	Env map[string]string `yaml:"env,omitempty"`

	// Names of variables in env whose values are secret. Instances get the real values; the
	// API, the CLI and cutover's log show them as `******`, and wherever a value of 4
	// characters or more appears in output cutover records or serves (hook output, the last
	// log lines of an instance in a deployment's events, `cutover logs`), it is replaced by
	// `******` too. Hook env variables of the same names are secret as well. Do not pass a
	// secret as $NAME in command: arguments are visible to every local user (ps).
	//
	// Default: none.
	// Example: [DB_PASSWORD]
	SecretEnv []string `yaml:"secret_env,omitempty,flow"`
}

// Health is how cutover probes each instance: GET path on the instance's port, passing on any
// 2xx or 3xx answer within timeout. An instance becomes healthy after healthy_threshold passes
// in a row and unhealthy after unhealthy_threshold failures in a row.
type Health struct {
	// The path probed.
	//
	// Default: /
	// Example: /healthz
	Path string `yaml:"path,omitempty"`

	// The time between two probes of one instance.
	//
	// Default: 1s.
	// Example: 2s
	Interval Duration `yaml:"interval,omitempty" spec:"nonzero"`

	// How long one probe may take.
	//
	// Default: 1s.
	// Example: 500ms
	Timeout Duration `yaml:"timeout,omitempty" spec:"nonzero"`

	// Passing probes in a row that make an instance healthy. At least 1.
	//
	// Default: 2.
	// Example: 3
	HealthyThreshold int `yaml:"healthy_threshold,omitempty" spec:"nonzero"`

	// Failing probes in a row that make an instance unhealthy. At least 1.
	//
	// Default: 2.
	// Example: 3
	UnhealthyThreshold int `yaml:"unhealthy_threshold,omitempty" spec:"nonzero"`

	// How long green's instances have, from their start, to become healthy. If they are not
	// by then, the deployment fails without green ever taking traffic.
	//
	// Default: 60s.
	// Example: 5m
	StartupGrace Duration `yaml:"startup_grace,omitempty" spec:"nonzero"`
}

// The runtimes: the keys of Run that select one, exactly one of which is set.
const (
	RuntimeProcess = "process"
	RuntimeDocker  = "docker"
)

var runtimes = []string{RuntimeProcess, RuntimeDocker, RuntimeECS, RuntimeASG, RuntimeExternal, RuntimeKubernetes}

// Runtime names the runtime the spec selects, RuntimeProcess or RuntimeDocker ("" if none).
func (r *Run) Runtime() string {
	switch {
	case r.Docker != nil:
		return RuntimeDocker
	case r.Process != nil:
		return RuntimeProcess
	case r.ECS != nil:
		return RuntimeECS
	case r.ASG != nil:
		return RuntimeASG
	case r.External != nil:
		return RuntimeExternal
	case r.Kubernetes != nil:
		return RuntimeKubernetes
	}
	return ""
}

// Env is the environment the spec gives instances (run.process.env or run.docker.env); nil
// if none. The map is the spec's own: do not change it.
func (r *Run) Env() map[string]string {
	switch {
	case r.Docker != nil:
		return r.Docker.Env
	case r.Process != nil:
		return r.Process.Env
	}
	return nil
}

// SecretEnv lists the secret names of the runtime's env (run.process.secret_env or
// run.docker.secret_env).
func (r *Run) SecretEnv() []string {
	switch {
	case r.Docker != nil:
		return r.Docker.SecretEnv
	case r.Process != nil:
		return r.Process.SecretEnv
	}
	return nil
}

const maxInstances = 100

func (r *Run) defaults() {
	fill(&r.Instances, 1)
	fill(&r.StopGrace, Duration(10*time.Second))
	if len(r.Endpoints) == 0 {
		r.Endpoints = nil
	}
	if p := r.Process; p != nil {
		fill(&p.Dir, ".")
		if len(p.Command) == 0 {
			p.Command = nil
		}
		if len(p.Env) == 0 {
			p.Env = nil
		}
		if len(p.SecretEnv) == 0 {
			p.SecretEnv = nil
		}
	}
	if d := r.Docker; d != nil {
		d.defaults()
	}
}

// validate checks the run section; built says a pipeline builds the image (run.docker
// names neither image nor build then).
func (r *Run) validate(c *checker, path string, built bool) {
	c.exactlyOne(path, runtimes, []bool{r.Process != nil, r.Docker != nil, r.ECS != nil, r.ASG != nil, r.External != nil, r.Kubernetes != nil})
	if p := r.Process; p != nil {
		pp := join(path, "process")
		if len(p.Command) == 0 || p.Command[0] == "" {
			c.add(pp+".command", "required: the program and its arguments, like [\"./web\", \"--port\", \"$PORT\"]")
		}
		c.env(pp+".env", p.Env)
		c.secretEnv(pp+".secret_env", p.SecretEnv, p.Env)
	}
	if d := r.Docker; d != nil {
		d.validate(c, join(path, "docker"), built)
	}
	if !(r.Instances >= 1 && r.Instances <= maxInstances) {
		c.add(path+".instances", "must be between 1 and %d, got %d", maxInstances, r.Instances)
	}
	c.positive(path+".stop_grace", r.StopGrace)
	for _, name := range sortedKeys(r.Endpoints) {
		p := keyPath(path+".endpoints", name)
		c.envName(p, name)
		if _, clash := r.Env()[name]; clash {
			c.add(p, "%s is also set in run.%s.env; use one or the other", name, r.Runtime())
		}
		if app := r.Endpoints[name]; !nameRE.MatchString(app) {
			c.add(p, "%q is not an app name (%s)", clip(app), nameRules)
		}
	}
}

func (h *Health) defaults() {
	fill(&h.Path, "/")
	fill(&h.Interval, Duration(time.Second))
	fill(&h.Timeout, Duration(time.Second))
	fill(&h.HealthyThreshold, 2)
	fill(&h.UnhealthyThreshold, 2)
	fill(&h.StartupGrace, Duration(60*time.Second))
}

func (h *Health) validate(c *checker, path string) {
	if !strings.HasPrefix(h.Path, "/") {
		c.add(path+".path", "%q must start with /", clip(h.Path))
	}
	c.positive(path+".interval", h.Interval)
	c.positive(path+".timeout", h.Timeout)
	c.positive(path+".startup_grace", h.StartupGrace)
	if h.HealthyThreshold < 1 {
		c.add(path+".healthy_threshold", "must be at least 1, got %d", h.HealthyThreshold)
	}
	if h.UnhealthyThreshold < 1 {
		c.add(path+".unhealthy_threshold", "must be at least 1, got %d", h.UnhealthyThreshold)
	}
}
