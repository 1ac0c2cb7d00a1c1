package engine

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider/awstest"
)

// TestE2EECSBehindTwoLoadBalancersAndRoute53: "swap ECS services with DNS": each slot is
// its own load balancer (cutover-web and cutover-web-2, a listener forwarding to one target
// group cutover made on each), and Route 53's weighted records are alias records to the
// two. v1 takes one slot; v2's canary moves the records 10% → 100% while the listeners
// never change, and v1's task set is retired after keep-warm.
func TestE2EECSBehindTwoLoadBalancersAndRoute53(t *testing.T) {
	w := newECSWorld(t)
	run := fmt.Sprintf(`ecs: {cluster: cutover, image: "registry.example.com/web:$CUTOVER_VERSION", container_port: 8000, subnets: [%s], security_groups: [sg-cutover]}`, strings.Join(w.subnets, ", "))
	behindTwoLoadBalancers(t, w, run, func() bool {
		ts := w.taskSets()
		return len(ts) == 1 && ts["v2"] != ""
	})
}

// TestE2EASGBehindTwoLoadBalancersAndRoute53: the same with an Auto Scaling group per
// release, in instance target groups on the two load balancers.
func TestE2EASGBehindTwoLoadBalancersAndRoute53(t *testing.T) {
	w := newECSWorld(t)
	run := fmt.Sprintf(`asg: {ami: %s, port: 8000, subnets: [%s], security_groups: [%s], health_check_grace: 30s}`, knownAMI, strings.Join(w.subnets, ", "), w.m.DefaultSecurityGroup(w.t, w.vpc))
	behindTwoLoadBalancers(t, w, run, func() bool {
		g := w.asgs()
		return len(g) == 1 && g["web-v2"] == 2
	})
}

// behindTwoLoadBalancers runs v1 then v2's canary of the app whose run section is run,
// behind cutover-web (blue) and a second load balancer (green) weighted by Route 53, and
// waits for retired to report v1's group gone.
func behindTwoLoadBalancers(t *testing.T, w *ecsWorld, run string, retired func() bool) {
	second := w.m.LoadBalancerNamed(t, "cutover-web-2")
	r53 := route53.NewFromConfig(w.m.Config())
	z, err := r53.CreateHostedZone(awstest.Ctx(t), &route53.CreateHostedZoneInput{Name: aws.String("example.test"), CallerReference: aws.String(t.Name())})
	if err != nil {
		t.Fatal(err)
	}
	zone := strings.TrimPrefix(aws.ToString(z.HostedZone.Id), "/hostedzone/")
	a := w.r.parse(fmt.Sprintf(`app: web
run:
  %s
  instances: 2
traffic:
  route53:
    zone: %s
    name: www.example.test
    ttl: 1s
    verify_timeout: 20s
    load_balancers: {blue: %q, green: %q, vpc: %s}
aws: {endpoint: %q}
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
strategy: {canary: {steps: [{weight: 10, pause: 1s}]}}
`, run, zone, w.lb, second.ARN, w.vpc, w.m.URL))
	if err := w.r.eng.Apply(a); err != nil {
		t.Fatal(err)
	}
	dns := map[string]string{} // load balancer DNS name -> which
	for which, arn := range map[string]string{"blue": w.lb, "green": second.ARN} {
		out, err := w.elb.DescribeLoadBalancers(awstest.Ctx(t), &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		dns[strings.ToLower(aws.ToString(out.LoadBalancers[0].DNSName))+"."] = which
	}
	records := func() string {
		out, err := r53.ListResourceRecordSets(awstest.Ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range out.ResourceRecordSets {
			if aws.ToString(s.Name) != "www.example.test." || s.AliasTarget == nil {
				continue
			}
			got = append(got, fmt.Sprintf("%s %s alias-to-%s %d", s.Type, aws.ToString(s.SetIdentifier), dns[strings.ToLower(aws.ToString(s.AliasTarget.DNSName))], aws.ToInt64(s.Weight)))
		}
		sort.Strings(got)
		return strings.Join(got, ", ")
	}
	forwards := func(lb string) string { // the target group port 80's listener forwards all to
		ls, err := w.elb.DescribeListeners(awstest.Ctx(t), &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lb)})
		if err != nil || len(ls.Listeners) != 1 || len(ls.Listeners[0].DefaultActions) != 1 {
			t.Fatalf("listeners of %s: %+v %v, want one with one action", lb, ls, err)
		}
		arn := aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn)
		tgs, err := w.elb.DescribeTargetGroups(awstest.Ctx(t), &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
		if err != nil || len(tgs.TargetGroups) != 1 {
			t.Fatalf("target group %q of %s's listener: %v", arn, lb, err)
		}
		return fmt.Sprintf(":%d -> %s", aws.ToInt32(ls.Listeners[0].Port), aws.ToString(tgs.TargetGroups[0].TargetGroupName))
	}
	if b, g := forwards(w.lb), forwards(second.ARN); b != ":80 -> web-blue" || g != ":80 -> web-green" {
		t.Fatalf("the load balancers' listeners: blue %s, green %s", b, g)
	}

	s := w.r.deploy("v1", nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v1: %s: %s\n%s", s.Phase, s.Reason, w.events(s.ID))
	}
	if got, want := records(), "A blue alias-to-blue 0, A green alias-to-green 255"; got != want {
		t.Fatalf("records after v1: %q, want %q", got, want)
	}
	s = w.r.deploy("v2", nil)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s\n%s", s.Phase, s.Reason, w.events(s.ID))
	}
	ev := w.events(s.ID)
	for _, want := range []string{
		"green at 10% verified: Route 53 www.example.test. weights blue=25 green=225",
		"green at 100% verified: Route 53 www.example.test. weights blue=255 green=0",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}
	if got, want := records(), "A blue alias-to-blue 255, A green alias-to-green 0"; got != want {
		t.Errorf("records after v2: %q, want %q", got, want)
	}
	eventually(t, 20*time.Second, "v1's group to retire after keep-warm", retired)
	if b, g := forwards(w.lb), forwards(second.ARN); b != ":80 -> web-blue" || g != ":80 -> web-green" {
		t.Errorf("the load balancers' listeners changed: blue %s, green %s", b, g)
	}
}
