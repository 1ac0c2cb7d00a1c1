package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cutover/cutover/internal/provider/awstest"
)

// ecsWorld is a real moto_server with a load balancer ("cutover-web") and an ECS cluster
// ("cutover") for an app web that runs there instead of on this machine.
type ecsWorld struct {
	t       *testing.T
	m       *awstest.Moto
	elb     *elb.Client
	lb, vpc string
	subnets []string
}

// newECSWorld starts moto_server (its absence fails the test) with the load balancer and
// the cluster, and gives this process, so the in-process server, moto's test credentials and
// region, keeping the machine's own AWS configuration out. Call it before startServer.
func newECSWorld(t *testing.T) *ecsWorld {
	t.Helper()
	m := awstest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	w := &ecsWorld{t: t, m: m, elb: elb.NewFromConfig(m.Config())}
	ctx := awstest.Ctx(t)
	w.vpc, w.subnets = m.DefaultSubnets(t)
	out, err := w.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("cutover-web"),
		Type: elbtypes.LoadBalancerTypeEnumApplication, Subnets: w.subnets})
	if err != nil {
		t.Fatal(err)
	}
	w.lb = aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
	if _, err := ecs.NewFromConfig(m.Config()).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("cutover")}); err != nil {
		t.Fatal(err)
	}
	return w
}

// spec is app web as an ECS service of two tasks per release behind the load balancer's
// ports 80 (production) and 8080 (test), held an hour at 10%.
func (w *ecsWorld) spec() string {
	return fmt.Sprintf(`app: web
run:
  ecs: {cluster: cutover, image: "registry.example.com/web:$CUTOVER_VERSION", container_port: 8000, subnets: [%s], security_groups: [sg-cutover]}
  instances: 2
traffic:
  alb: {load_balancer: %q, vpc: %s, port: 80, test_port: 8080, settle: 100ms, verify_timeout: 20s}
aws: {endpoint: %q}
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
strategy:
  canary:
    steps: [{weight: 10, pause: 1h}]
deadlines: {deployment: 2h}
`, strings.Join(w.subnets, ", "), w.lb, w.vpc, w.m.URL)
}

// listener is what the production listener (port 80) forwards, by target group name.
func (w *ecsWorld) listener() map[string]int32 {
	w.t.Helper()
	ctx := awstest.Ctx(w.t)
	ls, err := w.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(w.lb)})
	if err != nil {
		w.t.Fatal(err)
	}
	tgs, err := w.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	names := map[string]string{}
	for _, tg := range tgs.TargetGroups {
		names[aws.ToString(tg.TargetGroupArn)] = aws.ToString(tg.TargetGroupName)
	}
	out := map[string]int32{}
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) != 80 || len(l.DefaultActions) == 0 || l.DefaultActions[0].ForwardConfig == nil {
			continue
		}
		for _, tg := range l.DefaultActions[0].ForwardConfig.TargetGroups {
			out[names[aws.ToString(tg.TargetGroupArn)]] = aws.ToInt32(tg.Weight)
		}
	}
	return out
}
