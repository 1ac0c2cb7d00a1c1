package awsalb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/provider/providertest"
)

// rig is a moto_server with a load balancer.
type rig struct {
	m   *awstest.Moto
	api *elb.Client
	lb  string
	vpc string
}

func newRig(t *testing.T) *rig {
	m := awstest.Start(t)
	return &rig{m: m, api: elb.NewFromConfig(m.Config())}
}

// fresh resets moto and creates the load balancer every test starts from.
func (r *rig) fresh(t *testing.T) {
	t.Helper()
	r.m.Reset(t)
	vpc, subnets := r.m.DefaultSubnets(t)
	r.vpc = vpc
	out, err := r.api.CreateLoadBalancer(context.Background(), &elb.CreateLoadBalancerInput{
		Name: aws.String("cutover-web"), Type: types.LoadBalancerTypeEnumApplication, Subnets: subnets,
	})
	if err != nil {
		t.Fatalf("create the test load balancer: %v", err)
	}
	r.lb = aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
}

func (r *rig) config() Config {
	return Config{App: "web", LoadBalancerARN: r.lb, VpcID: r.vpc, Port: 80, TestPort: 8080, TargetPort: 8000}
}

func (r *rig) provider(t *testing.T) *Provider {
	t.Helper()
	p, err := New(r.api, r.config())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestALBContract: the ALB provider passes the TrafficProvider contract against moto,
// reading the listener back after each write, reporting drift and refusing a listener it
// does not own.
func TestALBContract(t *testing.T) {
	r := newRig(t)
	providertest.RunTraffic(t, providertest.TrafficHarness{
		New: func(t *testing.T) provider.TrafficProvider {
			r.fresh(t)
			p := r.provider(t)
			p.c.Settle = 1 // the suite polls real time; moto converges at once
			return p
		},
		Backend: func(t *testing.T, s provider.Slot) provider.Backend {
			out, err := r.api.DescribeTargetGroups(context.Background(), &elb.DescribeTargetGroupsInput{Names: []string{"web-" + string(s)}})
			if err != nil {
				t.Fatal(err)
			}
			return provider.Backend{Kind: "alb-target-group", Ref: aws.ToString(out.TargetGroups[0].TargetGroupArn)}
		},
		Quantum: 5, // n/999 shares
		Tamper: func(t *testing.T, p provider.TrafficProvider, bp int) {
			a := p.(*Provider)
			b, g, _ := Quantise(bp)
			if _, err := r.api.ModifyListener(context.Background(), &elb.ModifyListenerInput{ListenerArn: aws.String(a.prod), DefaultActions: a.forward(b, g)}); err != nil {
				t.Fatal(err)
			}
		},
		Foreign: func(t *testing.T) provider.TrafficProvider {
			r.fresh(t)
			tg, err := r.api.CreateTargetGroup(context.Background(), &elb.CreateTargetGroupInput{Name: aws.String("other"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(r.vpc)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.api.CreateListener(context.Background(), &elb.CreateListenerInput{LoadBalancerArn: aws.String(r.lb), Port: aws.Int32(80), Protocol: types.ProtocolEnumHttp,
				DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroups[0].TargetGroupArn}}}); err != nil {
				t.Fatal(err)
			}
			return r.provider(t)
		},
	})
}

// TestALBCanaryWalksTheRealSequence: 10% → 50% → 100% reads back exactly on the
// listener after each write, and a refusal of a foreign listener creates nothing.
func TestALBCanaryWalksTheRealSequence(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	p := r.provider(t)
	ctx := awstest.Ctx(t)
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		bp   int
		want string
	}{{1000, "90/10"}, {5000, "50/50"}, {10000, "0/100"}} {
		w, err := p.SetWeight(ctx, c.bp)
		if err != nil {
			t.Fatalf("SetWeight(%d): %v", c.bp, err)
		}
		out, err := r.api.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{p.prod}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tg := range out.Listeners[0].DefaultActions[0].ForwardConfig.TargetGroups {
			got = append(got, aws.ToString(tg.TargetGroupArn)+"="+itoa(aws.ToInt32(tg.Weight)))
		}
		wb, wg, _ := Quantise(c.bp)
		want := []string{p.tg[provider.Blue] + "=" + itoa(wb), p.tg[provider.Green] + "=" + itoa(wg)}
		if strings.Join(got, ",") != strings.Join(want, ",") || w.GreenBP != c.bp {
			t.Fatalf("after %d bp the listener holds %v, want %v (written %+v)", c.bp, got, want, w)
		}
		o, err := p.Observe(ctx)
		if err != nil || !strings.Contains(o.Evidence, fmt.Sprintf("weights web-blue=%d web-green=%d read back", wb, wg)) || o.GreenBP != c.bp {
			t.Fatalf("Observe = %+v %v", o, err)
		}
	}
	// A second provider over the same objects adopts them (a restarted cutover).
	q := r.provider(t)
	if err := q.Prepare(ctx); err != nil {
		t.Fatalf("adopt: %v", err)
	}
	if q.prod != p.prod || q.tg[provider.Green] != p.tg[provider.Green] {
		t.Fatalf("a restarted provider made new objects: %v %v vs %v %v", q.prod, q.tg, p.prod, p.tg)
	}
	if o, err := q.Observe(ctx); err != nil || o.GreenBP != 10000 || o.Drift != "" || !o.Converged {
		t.Fatalf("a restarted provider observes %+v %v, want 100%% green converged", o, err)
	}
}

// TestALBForeignListenerCreatesNothing: refusing a listener someone else owns leaves no
// target group behind.
func TestALBForeignListenerCreatesNothing(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	ctx := awstest.Ctx(t)
	tg, err := r.api.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("theirs"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(r.vpc)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.api.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(r.lb), Port: aws.Int32(8080), Protocol: types.ProtocolEnumHttp,
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroups[0].TargetGroupArn}}}); err != nil {
		t.Fatal(err)
	}
	err = r.provider(t).Prepare(ctx)
	if !errors.Is(err, provider.ErrNotOwned) || !strings.Contains(err.Error(), ":8080") {
		t.Fatalf("Prepare over a foreign test listener = %v, want ErrNotOwned naming :8080", err)
	}
	out, err := r.api.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TargetGroups) != 1 {
		t.Fatalf("a refused Prepare left %d target groups, want only theirs", len(out.TargetGroups))
	}
}

// TestALBUnknownLoadBalancerIsNotFound: an AWS error is classified with what failed.
func TestALBUnknownLoadBalancerIsNotFound(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	c := r.config()
	c.LoadBalancerARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/nope/0"
	p, err := New(r.api, c)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Prepare(awstest.Ctx(t))
	if !errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "DescribeLoadBalancers") {
		t.Fatalf("Prepare on a missing load balancer = %v, want ErrNotFound naming the call", err)
	}
}

func TestQuantise(t *testing.T) {
	for bp, want := range map[int][3]int{0: {100, 0, 0}, 1000: {90, 10, 1000}, 10000: {0, 100, 10000}, 1250: {874, 125, 1251}} {
		b, g, got := Quantise(bp)
		if int(b) != want[0] || int(g) != want[1] || got != want[2] || b > MaxWeight || g > MaxWeight {
			t.Errorf("Quantise(%d) = %d %d %d, want %v", bp, b, g, got, want)
		}
	}
	for _, c := range []Config{{}, {App: "web"}, {App: "web", LoadBalancerARN: "x", Port: 80, TestPort: 80, TargetPort: 1}, {App: strings.Repeat("a", 27), LoadBalancerARN: "x", Port: 80, TargetPort: 1}} {
		if _, err := New(nil, c); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", c, err)
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// failModify is the ELBv2 client with ModifyListener of the production listener failing,
// as a write cut short.
type failModify struct {
	API
	fail bool
}

func (f *failModify) ModifyListener(ctx context.Context, in *elb.ModifyListenerInput, o ...func(*elb.Options)) (*elb.ModifyListenerOutput, error) {
	if f.fail {
		return nil, context.DeadlineExceeded
	}
	return f.API.ModifyListener(ctx, in, o...)
}

// TestALBWriteThatDidNotLandIsNotDrift: a ModifyListener that timed out is an unknown
// outcome; the listener still at the previous weight reads as not converged (rewrite), not
// as drift, and the rewrite verifies.
func TestALBWriteThatDidNotLandIsNotDrift(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	api := &failModify{API: r.api}
	p, err := New(api, r.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := awstest.Ctx(t)
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetWeight(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	api.fail = true
	_, err = p.SetWeight(ctx, 5000)
	if provider.Classify(err) != provider.Unknown {
		t.Fatalf("a timed-out write = %v, want an unknown outcome", err)
	}
	o, err := p.Observe(ctx)
	if err != nil || o.Drift != "" || o.Converged || o.GreenBP != 1000 || !strings.Contains(o.Reason, "has not landed") {
		t.Fatalf("after a write that did not land Observe = %+v %v, want not converged at 10%%, no drift", o, err)
	}
	api.fail = false
	if w, err := p.SetWeight(ctx, 5000); err != nil || w.GreenBP != 5000 {
		t.Fatalf("rewrite = %+v %v", w, err)
	}
}
