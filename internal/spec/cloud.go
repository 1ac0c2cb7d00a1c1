package spec

import (
	"regexp"
	"strings"
	"time"
)

// ECS runs each release as an ECS task set of one service with the EXTERNAL deployment
// controller (CodeDeploy's ECS blue/green, driven by cutover): one task definition revision
// per release, its task set registered in its slot's target group of traffic.alb, scaled to
// run.instances tasks. Every task gets PORT (container_port), CUTOVER_APP and
// CUTOVER_VERSION. Requires traffic.alb.
type ECS struct {
	// The ECS cluster's name; it must exist.
	//
	// Required.
	// Example: prod
	Cluster string `yaml:"cluster"`

	// The service's name. cutover creates it (EXTERNAL controller) when it does not exist and
	// refuses an existing one with another deployment controller.
	//
	// Default: the app's name.
	// Example: web
	Service string `yaml:"service,omitempty"`

	// The container image of a release; $CUTOVER_VERSION (or ${CUTOVER_VERSION}) is replaced
	// by the version deployed.
	//
	// Required.
	// Example: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:$CUTOVER_VERSION
	Image string `yaml:"image"`

	// The container's name in the task definition.
	//
	// Default: the app's name.
	// Example: web
	Container string `yaml:"container,omitempty"`

	// The port the container serves on; the target groups send traffic there.
	//
	// Default: 8080.
	// Example: 8000
	ContainerPort int `yaml:"container_port,omitempty" spec:"nonzero"`

	// Fargate task CPU units.
	//
	// Default: 256
	// Example: 512
	CPU string `yaml:"cpu,omitempty"`

	// Fargate task memory in MiB.
	//
	// Default: 512
	// Example: 1024
	Memory string `yaml:"memory,omitempty"`

	// The subnets of the tasks (awsvpc networking).
	//
	// Required.
	// Example: [subnet-0a1b2c3d]
	Subnets []string `yaml:"subnets,flow"`

	// The security groups of the tasks.
	//
	// Required.
	// Example: [sg-0a1b2c3d]
	SecurityGroups []string `yaml:"security_groups,flow"`

	// The IAM role ECS uses to pull the image (from a private ECR repository) and send the
	// logs: the task definition's executionRoleArn.
	//
	// Default: none (a public image only).
	// Example: arn:aws:iam::123456789012:role/ecsTaskExecutionRole
	ExecutionRole string `yaml:"execution_role,omitempty"`

	// The IAM role the app's own AWS calls run as: the task definition's taskRoleArn.
	//
	// Default: none.
	// Example: arn:aws:iam::123456789012:role/web
	TaskRole string `yaml:"task_role,omitempty"`
}

var roleARNRE = bounded(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`, 2048)

// Traffic says what moves production traffic between blue and green when it is not the
// built-in router.
type Traffic struct {
	// An existing Application Load Balancer: cutover creates or adopts (by its owner tag
	// cutover.owner, refusing listeners and target groups without it) the production listener,
	// an optional test listener and two target groups, <app>-blue and <app>-green, and moves
	// the production listener's forward weights. routes and test_listener must then be empty.
	//
	// Default: none (the built-in router serves routes).
	// Example: {load_balancer: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188", vpc: vpc-0a1b2c3d, port: 80}
	ALB *ALB `yaml:"alb,omitempty"`

	// Two weighted records in a Route 53 hosted zone (set identifiers blue and green), one
	// per release's endpoint (run.external): the classic DNS cutover.
	//
	// Default: none.
	// Example: {zone: Z0123456789ABCDEFGHIJ, name: www.example.com, ttl: 60s}
	Route53 *Route53 `yaml:"route53,omitempty"`

	// Weighted answers from cutover's own DNS server (`cutover server --dns ADDR`), for
	// people without Route 53: each client, by its source address, gets the blue or the
	// green release's endpoint (run.external), and keeps getting it at one weight. A server
	// started without --dns refuses the app at apply.
	//
	// Default: none.
	// Example: {name: web.example.test, ttl: 30s}
	DNS *LocalDNS `yaml:"dns,omitempty"`

	// Blue/green by Kubernetes Service selector (run.kubernetes): the production Service
	// selects green's pods at once, a preview Service selects green before that.
	//
	// Default: none.
	// Example: {service: web, port: 80}
	ServiceSelector *ServiceSelector `yaml:"service_selector,omitempty"`

	// Weighted steps on a Gateway API HTTPRoute (run.kubernetes): its backendRefs to the
	// Services APP-blue and APP-green get the weights.
	//
	// Default: none.
	// Example: {gateway: infra/edge, hostnames: [web.example.com]}
	GatewayAPI *GatewayAPI `yaml:"gateway_api,omitempty"`
}

// ALB is the load balancer side of traffic.alb.
type ALB struct {
	// The load balancer's ARN.
	//
	// Required.
	// Example: arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188
	LoadBalancer string `yaml:"load_balancer"`

	// The VPC of the target groups.
	//
	// Required.
	// Example: vpc-0a1b2c3d
	VPC string `yaml:"vpc"`

	// The production listener's port.
	//
	// Required.
	// Example: 443
	Port int `yaml:"port"`

	// The test listener's port: it forwards only to green while a deployment is under way
	// and to the live release between deployments (CodeDeploy's test listener). HTTP hooks
	// reach green there; every hook sees its URL as $CUTOVER_TEST_URL
	// (http://LOAD-BALANCER-DNS:PORT). 0 for none.
	//
	// Default: none.
	// Example: 8443
	TestPort int `yaml:"test_port,omitempty"`

	// How long after the listener reads back the written weights clients are assumed to
	// see them (ALB rule changes are not effective at once). A step's pause starts then.
	//
	// Default: 5s.
	// Example: 10s
	Settle Duration `yaml:"settle,omitempty" spec:"nonzero"`

	// How long a step waits for the listener to hold the weights cutover wrote, converged
	// and settled, before it fails with the load balancer's reason.
	//
	// Default: 5m.
	// Example: 2m
	VerifyTimeout Duration `yaml:"verify_timeout,omitempty" spec:"nonzero"`
}

// AWS is where the AWS parts of a spec (run.ecs, traffic.alb) are called. Credentials come
// the usual AWS way: the server's environment, shared config and credentials files, an
// instance or task role.
type AWS struct {
	// The AWS region.
	//
	// Default: the server's AWS_REGION (or its shared config).
	// Example: eu-west-1
	Region string `yaml:"region,omitempty"`

	// An AWS-compatible endpoint to call instead of AWS's (an emulator such as moto_server,
	// a VPC endpoint) for ECS and ELBv2. egress.allow applies to it.
	//
	// Default: AWS's endpoints for the region.
	// Example: http://127.0.0.1:5000
	Endpoint string `yaml:"endpoint,omitempty"`
}

// RuntimeECS names run.ecs.
const RuntimeECS = "ecs"

// ImageFor is the image of version: $CUTOVER_APP and $CUTOVER_VERSION replaced.
func (e *ECS) ImageFor(app, version string) string {
	return (&Docker{Image: e.Image}).ImageFor(app, version)
}

var (
	arnELBRE = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{1,16}$`)
	awsIDRE  = bounded(`^[A-Za-z0-9][A-Za-z0-9_.:/-]*$`, 255)
	ecsName  = bounded(`^[A-Za-z0-9_-]+$`, 255)
)

func (e *ECS) defaults(app string) {
	fill(&e.Service, app)
	fill(&e.Container, app)
	fill(&e.ContainerPort, 8080)
	fill(&e.CPU, "256")
	fill(&e.Memory, "512")
}

func (e *ECS) validate(c *checker, path string, a *App) {
	if !ecsName.MatchString(e.Cluster) {
		c.add(path+".cluster", "required: the ECS cluster's name (letters, digits, - and _), got %q", clip(e.Cluster))
	}
	if !ecsName.MatchString(e.Service) {
		c.add(path+".service", "%q is not an ECS service name (letters, digits, - and _)", clip(e.Service))
	}
	if !ecsName.MatchString(e.Container) {
		c.add(path+".container", "%q is not a container name (letters, digits, - and _)", clip(e.Container))
	}
	if e.Image == "" {
		c.add(path+".image", "required: the release's image, like registry.example.com/web:$CUTOVER_VERSION")
	} else {
		(&Docker{Image: e.Image}).validateImage(c, path+".image")
	}
	if e.ContainerPort < 1 || e.ContainerPort > 65535 {
		c.add(path+".container_port", "must be a port, 1 to 65535, got %d", e.ContainerPort)
	}
	if !digits(e.CPU) {
		c.add(path+".cpu", "%q is not a number of CPU units, like 256", clip(e.CPU))
	}
	if !digits(e.Memory) {
		c.add(path+".memory", "%q is not a number of MiB, like 512", clip(e.Memory))
	}
	for _, r := range []struct{ field, arn string }{{"execution_role", e.ExecutionRole}, {"task_role", e.TaskRole}} {
		if r.arn != "" && !roleARNRE.MatchString(r.arn) {
			c.add(path+"."+r.field, "%q is not an IAM role ARN, like arn:aws:iam::123456789012:role/NAME", clip(r.arn))
		}
	}
	ids(c, path+".subnets", e.Subnets, "subnet-")
	ids(c, path+".security_groups", e.SecurityGroups, "sg-")
	if a.Traffic.ALB == nil && !dnsOverLBs(a) {
		c.add(path, "run.ecs needs traffic.alb (or traffic.route53.load_balancers): the load balancer whose target groups its task sets join")
	}
}

func digits(s string) bool {
	return s != "" && len(s) <= 6 && strings.Trim(s, "0123456789") == ""
}

func ids(c *checker, path string, list []string, prefix string) {
	if len(list) == 0 {
		c.add(path, "required: at least one, like [%s0a1b2c3d]", prefix)
	}
	if len(list) > 16 {
		c.add(path, "%d entries, at most 16", len(list))
	}
	for i, id := range list {
		if !strings.HasPrefix(id, prefix) || !awsIDRE.MatchString(id) {
			c.add(index(path, i), "%q is not an ID starting %s", clip(id), prefix)
		}
	}
}

func (t *Traffic) defaults(app string) {
	if s := t.ServiceSelector; s != nil {
		s.defaults(app)
	}
	if g := t.GatewayAPI; g != nil {
		g.defaults(app)
	}
	if l := t.ALB; l != nil {
		fill(&l.Settle, Duration(5*time.Second))
		fill(&l.VerifyTimeout, Duration(5*time.Minute))
	}
	if r := t.Route53; r != nil {
		r.defaults()
	}
	if d := t.DNS; d != nil {
		d.defaults()
	}
}

func (t *Traffic) validate(c *checker, a *App) {
	var set []string
	for _, k := range []struct {
		name string
		on   bool
	}{{"alb", t.ALB != nil}, {"route53", t.Route53 != nil}, {"dns", t.DNS != nil},
		{"service_selector", t.ServiceSelector != nil}, {"gateway_api", t.GatewayAPI != nil}} {
		if k.on {
			set = append(set, k.name)
		}
	}
	if len(set) > 1 {
		c.add("traffic", "set one of traffic.alb, traffic.route53, traffic.dns, traffic.service_selector and traffic.gateway_api, got %s", strings.Join(set, " and "))
	}
	if an := a.Analysis; an != nil && t.ALB == nil {
		for i, ch := range an.Checks {
			if ch.CloudWatch != nil {
				c.add(index("analysis.checks", i)+".cloudwatch", "reads the metrics of traffic.alb's target groups: set traffic.alb, or use the router's error_rate and latency checks")
			}
		}
	}
	if l := t.ALB; l != nil {
		l.validate(c, a)
	}
	if r := t.Route53; r != nil {
		r.validate(c, a)
	}
	if s := t.ServiceSelector; s != nil {
		s.validate(c, a)
	}
	if g := t.GatewayAPI; g != nil {
		g.validate(c, a)
	}
	if d := t.DNS; d != nil {
		d.validate(c, a)
	}
	if k := t.Kind(); k != "" {
		beyondRouter(c, a, "traffic."+k)
	}
}

// Kind names the traffic section that replaces the built-in router: "alb", "route53",
// "dns", or "" for the router.
func (t *Traffic) Kind() string {
	switch {
	case t.ALB != nil:
		return "alb"
	case t.Route53 != nil:
		return "route53"
	case t.DNS != nil:
		return "dns"
	case t.ServiceSelector != nil:
		return "service_selector"
	case t.GatewayAPI != nil:
		return "gateway_api"
	}
	return ""
}

// dnsOverLBs reports whether a's releases run behind a load balancer per slot, weighted
// by Route 53.
func dnsOverLBs(a *App) bool {
	return a.Traffic.Route53 != nil && a.Traffic.Route53.LoadBalancers != nil
}

func (l *ALB) validate(c *checker, a *App) {
	p := "traffic.alb"
	if !arnELBRE.MatchString(l.LoadBalancer) {
		c.add(p+".load_balancer", "%q is not an Application Load Balancer ARN, like arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID", clip(l.LoadBalancer))
	}
	if !strings.HasPrefix(l.VPC, "vpc-") || !awsIDRE.MatchString(l.VPC) {
		c.add(p+".vpc", "required: the target groups' VPC ID, like vpc-0a1b2c3d, got %q", clip(l.VPC))
	}
	if l.Port < 1 || l.Port > 65535 {
		c.add(p+".port", "required: the production listener's port, 1 to 65535, got %d", l.Port)
	}
	if l.TestPort < 0 || l.TestPort > 65535 {
		c.add(p+".test_port", "must be a port, 1 to 65535 (0 for none), got %d", l.TestPort)
	} else if l.TestPort != 0 && l.TestPort == l.Port {
		c.add(p+".test_port", "%d is also traffic.alb.port; the test listener needs its own port", l.TestPort)
	}
	c.positive(p+".settle", l.Settle)
	c.positive(p+".verify_timeout", l.VerifyTimeout)
	if len(a.Name) > 26 {
		c.add("app", "an app behind traffic.alb has a name of at most 26 characters (its target groups are <app>-green), got %d", len(a.Name))
	}
	if rt := a.Run.Runtime(); rt != RuntimeECS && rt != RuntimeASG {
		c.add(p, "traffic.alb sends traffic to ECS task sets or Auto Scaling groups: set run.ecs or run.asg")
	}
}

// beyondRouter holds an app whose traffic the built-in router does not carry (behind kind)
// to what works there.
func beyondRouter(c *checker, a *App, kind string) {
	if len(a.Routes) > 0 {
		c.add("routes", "%s serves the app: leave routes out (it is the route)", kind)
	}
	if a.TestListener != "" {
		if kind == "traffic.alb" {
			c.add("test_listener", "traffic.alb serves the app: use traffic.alb.test_port instead")
		} else {
			c.add("test_listener", "%s serves the app: it has no test listener; hooks reach green at its own endpoint", kind)
		}
	}
	switch r := a.Strategy.Rolling; {
	case r == nil:
	case a.Run.ASG == nil:
		c.add("strategy.rolling", "not with %s: releases run as whole groups; use canary, linear or bluegreen (rolling works with run.asg: its one group moves to the new launch template)", kind)
	case r.Pause != 0:
		c.add("strategy.rolling.pause", "not with run.asg: the group replaces the next batch as soon as the last is healthy; leave it out")
	}
	if an := a.Analysis; an != nil {
		for i, ch := range an.Checks {
			if ch.External == nil && ch.CloudWatch == nil {
				c.add(index("analysis.checks", i), "the built-in router is not in the path of %s, so it has no %s signals: use a cloudwatch or external check, or analysis.alarms", kind, ch.Name)
			}
		}
		if len(an.Checks) == 0 && an.Alarms == nil {
			c.add("analysis", "behind %s analysis needs alarms (analysis.alarms), cloudwatch or external checks: the built-in router sees none of the traffic", kind)
		}
	}
}

func (a *AWS) validate(c *checker) {
	if a.Region != "" && !regionRE.MatchString(a.Region) {
		c.add("aws.region", "%q is not an AWS region, like us-east-1", clip(a.Region))
	}
	if a.Endpoint != "" {
		c.httpURL("aws.endpoint", a.Endpoint)
	}
}
