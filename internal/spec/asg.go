package spec

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ASG runs each release as an EC2 Auto Scaling group launched from the release's own
// launch template (the AWS playbook's "swap Auto Scaling groups" with a golden AMI per
// release): the group registers in its slot's target group of traffic.alb, is scaled to
// run.instances before traffic moves, and is scaled to 0 and deleted after keep_warm.
// Groups and templates are named <app>-<version> and carry cutover's owner tags; a restarted
// server finds them by those tags. Requires traffic.alb.
type ASG struct {
	// The AMI a release boots: an AMI ID, or a template in which $CUTOVER_VERSION is replaced
	// by the version deployed (so `cutover deploy web --version ami-0a1b2c3d4e5f67890`
	// deploys that image). The result must be an AMI ID.
	//
	// Required.
	// Example: $CUTOVER_VERSION
	AMI string `yaml:"ami"`

	// The EC2 instance type.
	//
	// Default: t3.micro.
	// Example: m7g.large
	InstanceType string `yaml:"instance_type,omitempty"`

	// The instances' user data (a cloud-init script), as text; $CUTOVER_APP and
	// $CUTOVER_VERSION are replaced.
	//
	// Default: none.
	// Example: "#!/bin/sh\nsystemctl start web\n"
	UserData string `yaml:"user_data,omitempty"`

	// The port the instances serve on; the target groups send traffic and health checks
	// there.
	//
	// Default: 80.
	// Example: 8080
	Port int `yaml:"port,omitempty" spec:"nonzero"`

	// The subnets the group launches in.
	//
	// Required.
	// Example: [subnet-0a1b2c3d, subnet-4e5f6a7b]
	Subnets []string `yaml:"subnets,flow"`

	// The instances' security groups.
	//
	// Required.
	// Example: [sg-0a1b2c3d]
	SecurityGroups []string `yaml:"security_groups,flow"`

	// How long a new instance may fail the target group's health check before the group
	// replaces it (the group's HealthCheckGracePeriod).
	//
	// Default: 60s.
	// Example: 300s
	HealthCheckGrace Duration `yaml:"health_check_grace,omitempty" spec:"nonzero"`
}

// RuntimeASG names run.asg.
const RuntimeASG = "asg"

var (
	amiRE       = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	instanceRE  = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	versionVars = strings.NewReplacer("${CUTOVER_VERSION}", "", "$CUTOVER_VERSION", "")
)

// AMIFor is the AMI release version of app boots.
func (g *ASG) AMIFor(app, version string) string {
	return strings.NewReplacer("${CUTOVER_VERSION}", version, "$CUTOVER_VERSION", version, "${CUTOVER_APP}", app, "$CUTOVER_APP", app).Replace(g.AMI)
}

// CheckAMI says what is wrong with the AMI a version makes, nil when it is an AMI ID.
func (g *ASG) CheckAMI(app, version string) error {
	if ami := g.AMIFor(app, version); !amiRE.MatchString(ami) {
		return fmt.Errorf("run.asg.ami: version %q makes the AMI %q, not an AMI ID like ami-0a1b2c3d4e5f67890: deploy with the AMI ID as --version, or set run.asg.ami", clip(version), clip(ami))
	}
	return nil
}

func (g *ASG) defaults() {
	fill(&g.InstanceType, "t3.micro")
	fill(&g.Port, 80)
	fill(&g.HealthCheckGrace, Duration(60*time.Second))
}

func (g *ASG) validate(c *checker, path string, a *App) {
	switch {
	case g.AMI == "":
		c.add(path+".ami", "required: an AMI ID like ami-0a1b2c3d4e5f67890, or $CUTOVER_VERSION to deploy the AMI given as the version")
	case g.AMI == versionVars.Replace(g.AMI) && !amiRE.MatchString(g.AMI):
		c.add(path+".ami", "%q is not an AMI ID (ami- and 8 or 17 hex digits) and has no $CUTOVER_VERSION", clip(g.AMI))
	case strings.ContainsAny(versionVars.Replace(g.AMI), "${}"):
		c.add(path+".ami", "%q: only $CUTOVER_VERSION (and $CUTOVER_APP) are replaced in an AMI", clip(g.AMI))
	}
	if !instanceRE.MatchString(g.InstanceType) {
		c.add(path+".instance_type", "%q is not an EC2 instance type, like t3.micro", clip(g.InstanceType))
	}
	if len(g.UserData) > 16*1024 {
		c.add(path+".user_data", "%d bytes; EC2 takes at most 16 KiB of user data", len(g.UserData))
	}
	if g.Port < 1 || g.Port > 65535 {
		c.add(path+".port", "must be a port, 1 to 65535, got %d", g.Port)
	}
	ids(c, path+".subnets", g.Subnets, "subnet-")
	ids(c, path+".security_groups", g.SecurityGroups, "sg-")
	c.positive(path+".health_check_grace", g.HealthCheckGrace)
	if a.Traffic.ALB == nil && !dnsOverLBs(a) {
		c.add(path, "run.asg needs traffic.alb (or traffic.route53.load_balancers): the load balancer whose target groups its groups join")
	}
}
