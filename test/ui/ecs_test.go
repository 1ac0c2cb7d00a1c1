package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/cutover/cutover/internal/provider/awstest"
)

// ecsWorld is a real moto_server with a load balancer ("cutover-web") and an ECS cluster
// ("cutover") for an app web that runs there instead of on this machine.
type ecsWorld struct {
	t       *testing.T
	m       *awstest.Moto
	alb     awstest.ALB
	lb, vpc string
	subnets []string
}

// newECSWorld starts moto_server (its absence fails the test) with the load balancer and
// the cluster, and gives this process, so the in-process server, moto's test credentials and
// region, keeping the machine's own AWS configuration out. Call it before startServer.
func newECSWorld(t *testing.T) *ecsWorld {
	t.Helper()
	m := awstest.Start(t)
	awstest.Env(t)
	alb := m.LoadBalancer(t)
	w := &ecsWorld{t: t, m: m, alb: alb, lb: alb.ARN, vpc: alb.VPC, subnets: alb.Subnets}
	ctx := awstest.Ctx(t)
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
func (w *ecsWorld) listener() map[string]int32 { return w.alb.Weights(w.t, 80) }
