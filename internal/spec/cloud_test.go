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
`), []string{"traffic.alb.test_port~also traffic.alb.port", "routes~leave routes out", "traffic.alb~ECS task sets or Auto Scaling groups"})
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

// TestCloudWatchChecks: a cloudwatch check behind traffic.alb takes a lag (3m by default);
// it needs exactly one limit, a lag up to 15m, and traffic.alb.
func TestCloudWatchChecks(t *testing.T) {
	a, err := Parse(strings.NewReader(ecsApp + "analysis: {checks: [{name: alb-5xx, cloudwatch: {max_error_rate: 1}}, {name: alb-latency, cloudwatch: {max_latency: 300ms, lag: 90s}}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e, l := a.Analysis.Checks[0].CloudWatch, a.Analysis.Checks[1].CloudWatch
	if *e.MaxErrorRate != 1 || e.Lag != DefaultCloudWatchLag || l.MaxLatency.Duration().Milliseconds() != 300 || l.Lag.Duration().Seconds() != 90 {
		t.Fatalf("cloudwatch checks: %+v %+v", e, l)
	}
	checkProblems(t, problemsOf(t, ecsApp+`analysis:
  checks:
    - {name: none, cloudwatch: {}}
    - {name: both, cloudwatch: {max_error_rate: 1, max_latency: 1s}}
    - {name: rate, cloudwatch: {max_error_rate: 101}}
    - {name: lag, cloudwatch: {max_latency: 1s, lag: 1h}}
    - {name: two, cloudwatch: {max_latency: 1s}, external: {url: "http://127.0.0.1:9090/", condition: "< 1"}}
`), []string{
		"analysis.checks[0].cloudwatch~set max_error_rate (percent) or max_latency",
		"analysis.checks[1].cloudwatch~set one of max_error_rate and max_latency",
		"analysis.checks[2].cloudwatch.max_error_rate~between 0 and 100",
		"analysis.checks[3].cloudwatch.lag~more than 15m",
		"analysis.checks[4]~",
	})
	checkProblems(t, problemsOf(t, valid+"analysis: {checks: [{name: alb-5xx, cloudwatch: {max_error_rate: 1}}]}\n"),
		[]string{"analysis.checks[0].cloudwatch~set traffic.alb"})
}

// TestHooksBehindALB: an http hook behind a load balancer with a test listener goes there
// by default; green's tasks cannot be targeted directly.
func TestHooksBehindALB(t *testing.T) {
	a, err := Parse(strings.NewReader(ecsApp + "analysis: {alarms: {names: [web-5xx]}}\nhooks: [{name: smoke, at: green_healthy, http: {path: /healthz}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Hooks[0].HTTP.Target; got != TargetTestListener {
		t.Fatalf("an http hook behind the ALB's test listener targets %q", got)
	}
	checkProblems(t, problemsOf(t, ecsApp+"hooks: [{name: smoke, at: green_healthy, http: {path: /healthz, target: green}}]\n"),
		[]string{"hooks[0].http.target~reached through the test listener"})
	noTest := strings.Replace(ecsApp, ", test_port: 8080", "", 1)
	checkProblems(t, problemsOf(t, noTest+"hooks: [{name: smoke, at: green_healthy, http: {path: /healthz, target: test_listener}}]\n"),
		[]string{"hooks[0].http.target~traffic.alb.test_port"})
}

// TestECSRoles: the task definition's roles are IAM role ARNs.
func TestECSRoles(t *testing.T) {
	withRoles := strings.Replace(ecsApp, "security_groups: [sg-1]}", "security_groups: [sg-1], execution_role: \"arn:aws:iam::123456789012:role/ecsTaskExecutionRole\", task_role: \"arn:aws:iam::123456789012:role/web\"}", 1)
	a, err := Parse(strings.NewReader(withRoles))
	if err != nil {
		t.Fatal(err)
	}
	if a.Run.ECS.ExecutionRole != "arn:aws:iam::123456789012:role/ecsTaskExecutionRole" || a.Run.ECS.TaskRole != "arn:aws:iam::123456789012:role/web" {
		t.Fatalf("roles: %+v", a.Run.ECS)
	}
	bad := strings.Replace(ecsApp, "security_groups: [sg-1]}", "security_groups: [sg-1], execution_role: ecsTaskExecutionRole, task_role: \"arn:aws:iam::1:role/x\"}", 1)
	checkProblems(t, problemsOf(t, bad), []string{"run.ecs.execution_role~not an IAM role ARN", "run.ecs.task_role~not an IAM role ARN"})
}
