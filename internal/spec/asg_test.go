package spec

import (
	"strings"
	"testing"
)

const asgApp = `app: web
run:
  asg: {ami: $CUTOVER_VERSION, subnets: [subnet-1], security_groups: [sg-1], user_data: "#!/bin/sh\necho $CUTOVER_VERSION\n"}
  instances: 2
traffic:
  alb: {load_balancer: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188", vpc: vpc-1, port: 80}
analysis: {alarms: {names: [web-5xx]}}
`

func TestASGBehindALB(t *testing.T) {
	a, err := Parse(strings.NewReader(asgApp))
	if err != nil {
		t.Fatal(err)
	}
	g := a.Run.ASG
	if a.Run.Runtime() != RuntimeASG || g.InstanceType != "t3.micro" || g.HealthCheckGrace.Duration().Seconds() != 60 {
		t.Fatalf("asg defaults: %+v", g)
	}
	if got := g.AMIFor("web", "ami-0a1b2c3d4e5f67890"); got != "ami-0a1b2c3d4e5f67890" {
		t.Fatalf("AMI of a version: %s", got)
	}
	if err := g.CheckAMI("web", "v2"); err == nil || !strings.Contains(err.Error(), `version "v2" makes the AMI "v2", not an AMI ID`) {
		t.Fatalf("a version that is no AMI: %v", err)
	}
	if err := g.CheckAMI("web", "ami-0a1b2c3d"); err != nil {
		t.Fatalf("an 8-digit AMI: %v", err)
	}
}

func TestASGProblems(t *testing.T) {
	checkProblems(t, problemsOf(t, strings.Replace(asgApp, "ami: $CUTOVER_VERSION, subnets: [subnet-1], security_groups: [sg-1]",
		"ami: image-7, instance_type: huge, subnets: [], security_groups: [group], health_check_grace: -1s", 1)), []string{
		"run.asg.ami~not an AMI ID",
		"run.asg.instance_type~not an EC2 instance type",
		"run.asg.subnets~required",
		"run.asg.security_groups[0]~not an ID starting sg-",
		"run.asg.health_check_grace",
	})
	checkProblems(t, problemsOf(t, strings.Replace(asgApp, "ami: $CUTOVER_VERSION", "ami: \"ami-${OTHER}\"", 1)), []string{"run.asg.ami~has no $CUTOVER_VERSION"})
	checkProblems(t, problemsOf(t, `app: web
run: {asg: {ami: ami-0a1b2c3d, subnets: [subnet-1], security_groups: [sg-1]}}
`), []string{"routes~required", "run.asg~needs traffic.alb"})
	checkProblems(t, problemsOf(t, asgApp+"strategy: {rolling: {pause: 10s}}\n"), []string{"strategy.rolling.pause~not with run.asg"})
	if _, err := Parse(strings.NewReader(asgApp + "strategy: {rolling: {batch: 2}}\n")); err != nil {
		t.Fatalf("strategy.rolling with run.asg (in place): %v", err)
	}
}
