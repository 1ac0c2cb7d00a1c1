package aws_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/provider/awscw"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

func TestMain(m *testing.M) { sampletest.BinaryMain(m) }

// world is a real moto_server holding a load balancer ("cutover-web"), an ECS cluster
// ("cutover") and a CloudWatch alarm ("web-5xx"), with the test's own SDK clients to look at
// what cutover made there.
type world struct {
	t       *testing.T
	m       *awstest.Moto
	alb     awstest.ALB
	elb     *elb.Client
	ecs     *ecs.Client
	cw      *cw.Client
	lb, vpc string
	subnets []string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	m := awstest.Start(t)
	alb := m.LoadBalancer(t)
	w := &world{t: t, m: m, alb: alb, elb: alb.ELB, ecs: ecs.NewFromConfig(m.Config()), cw: m.CloudWatch(), lb: alb.ARN, vpc: alb.VPC, subnets: alb.Subnets}
	ctx := awstest.Ctx(t)
	if _, err := w.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("cutover")}); err != nil {
		t.Fatal(err)
	}
	putAlarm(t, w.cw)
	return w
}

// putAlarm creates the CloudWatch alarm "web-5xx" (never in ALARM: nothing feeds its metric)
// that the specs' analysis.alarms watch.
func putAlarm(t *testing.T, c *cw.Client) {
	t.Helper()
	if _, err := c.PutMetricAlarm(awstest.Ctx(t), &cw.PutMetricAlarmInput{AlarmName: aws.String("web-5xx"), Namespace: aws.String(awscw.Namespace),
		MetricName: aws.String(awscw.Metric5xx), Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(5), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatal(err)
	}
}

// spec is the app web as a user writes it: an ECS service of two tasks per release behind
// the load balancer's ports 80 (production) and 8080 (test), on moto's endpoint, held an
// hour at 10%, judged by the web-5xx alarm.
func (w *world) spec() string {
	return fmt.Sprintf(`app: web
run:
  ecs:
    cluster: cutover
    image: "registry.example.com/web:$CUTOVER_VERSION"
    container_port: 8000
    subnets: [%s]
    security_groups: [sg-cutover]
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
analysis:
  interval: 200ms
  alarms: {names: [web-5xx], endpoint: %q}
`, strings.Join(w.subnets, ", "), w.lb, w.vpc, w.m.URL, w.m.URL)
}

// listener is what the production listener (port 80) forwards, by target group name.
func (w *world) listener() map[string]int32 { return w.alb.Weights(w.t, 80) }

// targetGroupsByARN is every target group in moto: ARN -> name.
func (w *world) targetGroupsByARN() map[string]string {
	w.t.Helper()
	tgs, err := w.elb.DescribeTargetGroups(awstest.Ctx(w.t), &elb.DescribeTargetGroupsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]string{}
	for _, tg := range tgs.TargetGroups {
		out[aws.ToString(tg.TargetGroupArn)] = aws.ToString(tg.TargetGroupName)
	}
	return out
}

// taskSet is one of the service's task sets as ECS describes it.
type taskSet struct {
	ARN, Status, TargetGroup string
}

// taskSets is every task set of service web that ECS still describes, by external ID (the
// release's version), whatever its status.
func (w *world) taskSets() map[string]taskSet {
	w.t.Helper()
	out, err := w.ecs.DescribeTaskSets(awstest.Ctx(w.t), &ecs.DescribeTaskSetsInput{Cluster: aws.String("cutover"), Service: aws.String("web")})
	if err != nil {
		w.t.Fatal(err)
	}
	got := map[string]taskSet{}
	for _, ts := range out.TaskSets {
		s := taskSet{ARN: aws.ToString(ts.TaskSetArn), Status: aws.ToString(ts.Status)}
		for _, lb := range ts.LoadBalancers {
			s.TargetGroup = aws.ToString(lb.TargetGroupArn)
		}
		if prev, dup := got[aws.ToString(ts.ExternalId)]; dup {
			w.t.Fatalf("two task sets for release %s: %+v and %+v", aws.ToString(ts.ExternalId), prev, s)
		}
		got[aws.ToString(ts.ExternalId)] = s
	}
	return got
}

// live are the task sets that serve (ACTIVE or PRIMARY), by version.
func live(sets map[string]taskSet) map[string]taskSet {
	out := map[string]taskSet{}
	for v, s := range sets {
		if s.Status == "ACTIVE" || s.Status == "PRIMARY" {
			out[v] = s
		}
	}
	return out
}

// eventually polls cond every 50ms until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// holds polls cond every 100ms for the whole of d and fails the test at the first time it
// says what is wrong (a non-empty string): for what must not happen.
func holds(t *testing.T, d time.Duration, what string, cond func() string) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if bad := cond(); bad != "" {
			t.Fatalf("%s: %s", what, bad)
		}
	}
}

// cli runs the cutover binary as a user would, on the server's socket, and returns its
// output; a non-zero exit fails the test.
func cli(t *testing.T, exe, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append(args, "--socket", filepath.Join(dir, api.SocketFile))...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cutover %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// eventsOf is the deployment's event messages, one a line.
func eventsOf(d api.Deployment) string {
	var b strings.Builder
	for _, e := range d.Events {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}

// running is a `cutover server` process on its own data dir with app web's spec applied
// through the CLI, as a user sets it up.
type running struct {
	exe, dir string
	srv      *sampletest.Server
}

// startApplied builds (once) and starts `cutover server`, then validates and applies
// specText with the CLI. The server's logs are printed when the test fails.
func startApplied(t *testing.T, specText string) *running {
	t.Helper()
	r := &running{exe: sampletest.Cutover(t), dir: t.TempDir()}
	r.srv = sampletest.StartServer(t, r.exe, r.dir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", r.srv.Logs())
		}
		r.srv.Close()
	})
	specFile := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(specFile, []byte(specText), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("cutover validate: %s", strings.TrimSpace(r.cli(t, "validate", "-f", specFile)))
	r.cli(t, "apply", "-f", specFile)
	return r
}

func (r *running) cli(t *testing.T, args ...string) string {
	t.Helper()
	return cli(t, r.exe, r.dir, args...)
}

// deploy starts a deployment of version with --set values (nil for none) through the API.
func (r *running) deploy(t *testing.T, version string, set map[string]string) api.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := r.srv.API.Deploy(ctx, "web", api.DeployRequest{Version: version, Set: set})
	if err != nil {
		t.Fatalf("deploy %s: %v", version, err)
	}
	return d
}

// read is the deployment as the API shows it now.
func (r *running) read(t *testing.T, id string) api.Deployment {
	t.Helper()
	return r.srv.WaitFor(id, "read", wait, func(api.Deployment) bool { return true })
}

// historyLen is how many deployments of web the server has recorded.
func (r *running) historyLen(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hist, err := r.srv.API.History(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	return len(hist)
}

// waitResumed waits until the server's log of its start number n (0 the first) says it
// resumes deployment id.
func (r *running) waitResumed(t *testing.T, n int, id string) {
	t.Helper()
	log := filepath.Join(r.dir, fmt.Sprintf("server-%d.log", n))
	eventually(t, wait, "the server started again to log that it resumes "+id, func() bool {
		b, _ := os.ReadFile(log)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "resuming deployment") && strings.Contains(line, id) {
				return true
			}
		}
		return false
	})
}

// whyShows checks that `cutover why web` says deployment id is shifting and shows evidence
// as its traffic line.
func (r *running) whyShows(t *testing.T, id, evidence string) {
	t.Helper()
	why := r.cli(t, "why", "web")
	if !strings.HasPrefix(why, id+" is shifting") || !strings.Contains(why, "traffic: "+evidence) {
		t.Errorf("`cutover why web` after the restart does not show the provider's evidence %q:\n%s", evidence, why)
	}
	t.Logf("cutover why web:\n%s", why)
}

// promoteToEnd runs `cutover promote web`, waits for deployment id to succeed and checks
// its events hold event; it returns the deployment as it ended.
func (r *running) promoteToEnd(t *testing.T, id, event string) api.Deployment {
	t.Helper()
	r.cli(t, "promote", "web")
	d := r.srv.WaitFor(id, "ended", wait, func(d api.Deployment) bool { return d.Terminal })
	if d.Phase != "succeeded" {
		t.Fatalf("%s after promote: %s: %s\n%s", id, d.Phase, d.Reason, eventsOf(d))
	}
	if ev := eventsOf(d); !strings.Contains(ev, event) {
		t.Errorf("%s's events lack %q:\n%s", id, event, ev)
	}
	return d
}
