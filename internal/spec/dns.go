package spec

import (
	"net"
	"regexp"
	"strings"
	"time"
)

// Route53 is traffic.route53: two weighted records under name in a hosted zone. A weight
// counts as effective only once Route 53 reports the change INSYNC and the record's TTL has
// passed since (resolvers cache answers for the TTL): a step's pause starts then.
type Route53 struct {
	// The hosted zone's ID.
	//
	// Required.
	// Example: Z0123456789ABCDEFGHIJ
	Zone string `yaml:"zone"`

	// The record's name in the zone.
	//
	// Required.
	// Example: www.example.com
	Name string `yaml:"name"`

	// The records' TTL, in whole seconds.
	//
	// Default: 60s.
	// Example: 30s
	TTL Duration `yaml:"ttl,omitempty" spec:"nonzero"`

	// How long a step waits for Route 53 to hold the weights INSYNC, plus the TTL, before it
	// fails with Route 53's reason. More than the TTL.
	//
	// Default: 5m, or twice the TTL if that is longer.
	// Example: 10m
	VerifyTimeout Duration `yaml:"verify_timeout,omitempty" spec:"nonzero"`

	// The two environments' own load balancers, for run.ecs or run.asg behind DNS (the
	// playbook's "swap ECS services with DNS"): releases take turns in the blue and the
	// green load balancer's one target group, and the weighted records are alias records
	// to the two load balancers. Leave it out for run.external.
	//
	// Default: none.
	// Example: {blue: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web-blue/50dc6c495c0c9188", green: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web-green/7a1c0a5f1e2d3c4b", vpc: vpc-0a1b2c3d}
	LoadBalancers *LoadBalancerPair `yaml:"load_balancers,omitempty"`
}

// LoadBalancerPair is traffic.route53.load_balancers: one Application Load Balancer per slot.
type LoadBalancerPair struct {
	// The blue slot's load balancer ARN.
	//
	// Required.
	// Example: arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web-blue/50dc6c495c0c9188
	Blue string `yaml:"blue"`

	// The green slot's load balancer ARN, another one than blue's.
	//
	// Required.
	// Example: arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web-green/7a1c0a5f1e2d3c4b
	Green string `yaml:"green"`

	// The target groups' VPC.
	//
	// Required.
	// Example: vpc-0a1b2c3d
	VPC string `yaml:"vpc"`

	// The listener port on both load balancers.
	//
	// Default: 80.
	// Example: 8080
	Port int `yaml:"port,omitempty" spec:"nonzero"`
}

// LocalDNS is traffic.dns: cutover's own DNS server answers name.
type LocalDNS struct {
	// The name answered, with weighted answers per client.
	//
	// Required.
	// Example: web.example.test
	Name string `yaml:"name"`

	// The answers' TTL: a weight counts as effective once it has passed since the write.
	//
	// Default: 30s.
	// Example: 5s
	TTL Duration `yaml:"ttl,omitempty" spec:"nonzero"`
}

// External is run.external: releases that run somewhere cutover does not start them (set
// up by a pipeline, another team, a data centre), each reached at its own endpoint. cutover
// checks a release's health at http://ENDPOINT:health_port + health.path and moves the DNS
// weights between the two; it never stops what it did not start.
type External struct {
	// A release's endpoint: an IP address (answered as A or AAAA) or a host name (answered as
	// a CNAME). $CUTOVER_VERSION is replaced by the version deployed, and ${NAME} by the
	// deployment's --set NAME=VALUE.
	//
	// Required.
	// Example: web-$CUTOVER_VERSION.internal.example.com
	Endpoint string `yaml:"endpoint"`

	// The port health.path is checked on.
	//
	// Default: 80.
	// Example: 8080
	HealthPort int `yaml:"health_port,omitempty" spec:"nonzero"`
}

// RuntimeExternal names run.external.
const RuntimeExternal = "external"

var (
	dnsNameRE = regexp.MustCompile(`^([A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.?$`)
	zoneIDRE  = regexp.MustCompile(`^(/hostedzone/)?[A-Z0-9]{1,32}$`)
	endVarRE  = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$CUTOVER_VERSION`)
)

// EndpointFor is version's endpoint, with set holding the deployment's --set values.
func (x *External) EndpointFor(version string, set map[string]string) string {
	return endVarRE.ReplaceAllStringFunc(x.Endpoint, func(v string) string {
		if v == "$CUTOVER_VERSION" || v == "${CUTOVER_VERSION}" {
			return version
		}
		return set[strings.TrimSuffix(strings.TrimPrefix(v, "${"), "}")]
	})
}

// ValidEndpoint reports whether e is an IP address or a DNS name.
func ValidEndpoint(e string) bool {
	return net.ParseIP(e) != nil || (len(e) <= 253 && dnsNameRE.MatchString(e))
}

func (r *Route53) defaults() {
	if lb := r.LoadBalancers; lb != nil {
		fill(&lb.Port, 80)
	}
	fill(&r.TTL, Duration(60*time.Second))
	fill(&r.VerifyTimeout, max(Duration(5*time.Minute), 2*r.TTL))
}

func (r *Route53) validate(c *checker, a *App) {
	p := "traffic.route53"
	if !zoneIDRE.MatchString(r.Zone) {
		c.add(p+".zone", "required: a hosted zone ID like Z0123456789ABCDEFGHIJ, got %q", clip(r.Zone))
	}
	dnsName(c, p+".name", r.Name)
	ttl(c, p+".ttl", r.TTL)
	if r.VerifyTimeout <= r.TTL {
		c.add(p+".verify_timeout", "%s is not more than the TTL (%s): a weight is effective only a TTL after Route 53 has it", r.VerifyTimeout, r.TTL)
	}
	lb := r.LoadBalancers
	if lb == nil {
		needsExternal(c, a, p)
		return
	}
	lp := p + ".load_balancers"
	for _, x := range []struct{ field, arn string }{{"blue", lb.Blue}, {"green", lb.Green}} {
		if !arnELBRE.MatchString(x.arn) {
			c.add(lp+"."+x.field, "required: an Application Load Balancer ARN, like arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID, got %q", clip(x.arn))
		}
	}
	if lb.Blue != "" && lb.Blue == lb.Green {
		c.add(lp+".green", "is blue's load balancer too: each slot needs its own (use traffic.alb for one load balancer)")
	}
	if !strings.HasPrefix(lb.VPC, "vpc-") || !awsIDRE.MatchString(lb.VPC) {
		c.add(lp+".vpc", "required: the target groups' VPC ID, like vpc-0a1b2c3d, got %q", clip(lb.VPC))
	}
	if lb.Port < 1 || lb.Port > 65535 {
		c.add(lp+".port", "must be a port, 1 to 65535, got %d", lb.Port)
	}
	if a.Run.ECS == nil && a.Run.ASG == nil {
		c.add(lp, "answers with the load balancers of the releases cutover runs: set run.ecs or run.asg (or leave load_balancers out for run.external)")
	}
}

func (d *LocalDNS) defaults() { fill(&d.TTL, Duration(30*time.Second)) }

func (d *LocalDNS) validate(c *checker, a *App) {
	dnsName(c, "traffic.dns.name", d.Name)
	ttl(c, "traffic.dns.ttl", d.TTL)
	needsExternal(c, a, "traffic.dns")
}

func (x *External) defaults() { fill(&x.HealthPort, 80) }

func (x *External) validate(c *checker, path string, a *App) {
	if x.Endpoint == "" {
		c.add(path+".endpoint", "required: a release's IP address or host name, like web-$CUTOVER_VERSION.internal.example.com")
	} else if sample := x.EndpointFor("v1", map[string]string{}); strings.Contains(sample, "$") || (!endVarRE.MatchString(x.Endpoint) && !ValidEndpoint(sample)) {
		c.add(path+".endpoint", "%q is not an IP address or a host name (only $CUTOVER_VERSION and ${NAME} from --set are replaced)", clip(x.Endpoint))
	}
	if x.HealthPort < 1 || x.HealthPort > 65535 {
		c.add(path+".health_port", "must be a port, 1 to 65535, got %d", x.HealthPort)
	}
	if a.Traffic.Route53 == nil && a.Traffic.DNS == nil {
		c.add(path, "run.external needs traffic.route53 or traffic.dns: cutover moves its traffic by DNS")
	}
}

func needsExternal(c *checker, a *App, p string) {
	if a.Run.Runtime() != RuntimeExternal {
		c.add(p, "%s answers with each release's endpoint: set run.external", p)
	}
}

func dnsName(c *checker, path, name string) {
	if name == "" || len(name) > 253 || !dnsNameRE.MatchString(name) || net.ParseIP(name) != nil {
		c.add(path, "required: a DNS name like www.example.com, got %q", clip(name))
	}
}

func ttl(c *checker, path string, d Duration) {
	if d < Duration(time.Second) || d > Duration(48*time.Hour) || d%Duration(time.Second) != 0 {
		c.add(path, "must be whole seconds from 1s to 48h, got %s", d)
	}
}
