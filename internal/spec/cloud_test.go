package spec

import (
	"strings"
	"testing"
)

const ecsApp = `app: web
run:
  ecs: {cluster: prod, image: "registry.example.com/web:$CUTOVER_VERSION", subnets: [subnet-1], security_groups: [sg-1]}
  instances: 2
traffic:
  alb: {load_balancer: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188", vpc: vpc-1, port: 80, test_port: 8080}
aws: {region: us-east-1, endpoint: "http://127.0.0.1:5000"}
`

func TestECSBehindALB(t *testing.T) {
	a, err := Parse(strings.NewReader(ecsApp))
	if err != nil {
		t.Fatal(err)
	}
	e, l := a.Run.ECS, a.Traffic.ALB
	if a.Run.Runtime() != RuntimeECS || e.Service != "web" || e.Container != "web" || e.ContainerPort != 8080 || e.CPU != "256" || e.Memory != "512" {
		t.Fatalf("ecs defaults: %+v", e)
	}
	if l.Settle.Duration().Seconds() != 5 || l.VerifyTimeout.Duration().Minutes() != 5 || l.TestPort != 8080 {
		t.Fatalf("alb defaults: %+v", l)
	}
	if got := e.ImageFor("web", "v2"); got != "registry.example.com/web:v2" {
		t.Fatalf("image of v2: %s", got)
	}
}

func TestECSBehindALBProblems(t *testing.T) {
	checkProblems(t, problemsOf(t, `app: a-name-far-too-long-for-target-groups
routes: [{listen: "127.0.0.1:8080"}]
test_listener: 127.0.0.1:8081
run:
  ecs: {cluster: "", image: "web:$HOME", container_port: 70000, cpu: lots, memory: "", subnets: [net-1], security_groups: []}
traffic:
  alb: {load_balancer: "arn:aws:ec2:x", vpc: "", port: 0, test_port: 0}
aws: {region: Mars, endpoint: "ftp://x"}
`), []string{
		"run.ecs.cluster~required",
		"run.ecs.image~only $CUTOVER_APP and $CUTOVER_VERSION",
		"run.ecs.container_port~must be a port",
		"run.ecs.cpu~not a number of CPU units",
		"run.ecs.subnets[0]~not an ID starting subnet-",
		"run.ecs.security_groups~required",
		"traffic.alb.load_balancer~not an Application Load Balancer ARN",
		"traffic.alb.vpc~required",
		"traffic.alb.port~required",
		"app~at most 26 characters",
		"routes~leave routes out",
		"test_listener~use traffic.alb.test_port",
		"aws.region~not an AWS region",
		"aws.endpoint~not an absolute http(s) URL",
	})
	// run.ecs without traffic.alb, and traffic.alb in front of processes.
	checkProblems(t, problemsOf(t, `app: web
run: {ecs: {cluster: prod, image: web, subnets: [subnet-1], security_groups: [sg-1]}}
`), []string{"routes~required", "run.ecs~needs traffic.alb"})
	checkProblems(t, problemsOf(t, valid+`traffic: {alb: {load_balancer: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188", vpc: vpc-1, port: 80, test_port: 80}}
`), []string{"traffic.alb.test_port~also traffic.alb.port", "routes~leave routes out", "traffic.alb~ECS task sets only"})
	checkProblems(t, problemsOf(t, ecsApp+"egress: {allow: [hooks.example.com]}\n"), []string{"aws.endpoint~not allowed by egress.allow"})
}

func TestECSAnalysisNeedsAlarmsOrExternalChecks(t *testing.T) {
	checkProblems(t, problemsOf(t, ecsApp+"analysis: {}\n"), []string{"analysis~needs alarms"})
	checkProblems(t, problemsOf(t, ecsApp+"analysis: {checks: [{name: errors, error_rate: {max: 1}}]}\n"), []string{"analysis.checks[0]~not in the path of traffic.alb"})
	checkProblems(t, problemsOf(t, ecsApp+"strategy: {rolling: {}}\n"), []string{"strategy.rolling~not with traffic.alb"})
	a, err := Parse(strings.NewReader(ecsApp + "analysis: {alarms: {names: [web-5xx]}}\n"))
	if err != nil || len(a.Analysis.Checks) != 0 {
		t.Fatalf("alarms alone behind an ALB: %v %+v", err, a)
	}
}
