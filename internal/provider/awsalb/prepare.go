package awsalb

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cutover/cutover/internal/provider"
)

func (p *Provider) tgName(slot provider.Slot) string { return p.c.App + "-" + string(slot) }

func (p *Provider) ownerTags() []types.Tag {
	return []types.Tag{{Key: aws.String(TagOwner), Value: aws.String(p.c.Owner)}}
}

// tags returns the tags of arn.
func (p *Provider) tags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := p.api.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return nil, classify(ctx, "alb "+p.c.App+": DescribeTags "+arn, err, false)
	}
	m := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return m, nil
}

// owned fails with ErrNotOwned unless arn carries our owner tag.
func (p *Provider) owned(ctx context.Context, what, arn string) error {
	tags, err := p.tags(ctx, arn)
	if err != nil {
		return err
	}
	if o := tags[TagOwner]; o != p.c.Owner {
		if o == "" {
			o = "nobody (no " + TagOwner + " tag)"
		}
		return fmt.Errorf("alb %s: %s %s is owned by %s, not %s: %w; pick another port or name, or tag it %s=%s to hand it to cutover",
			p.c.App, what, arn, o, p.c.Owner, provider.ErrNotOwned, TagOwner, p.c.Owner)
	}
	return nil
}

// Prepare finds or creates, in this order, both target groups, the production listener
// and the test listener. It checks ownership of everything that exists before it creates
// anything, so a refusal leaves nothing half-made.
func (p *Provider) Prepare(ctx context.Context) error {
	lbs, err := p.api.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{p.c.LoadBalancerARN}})
	if err != nil {
		return classify(ctx, "alb "+p.c.App+": DescribeLoadBalancers "+p.c.LoadBalancerARN, err, false)
	}
	if len(lbs.LoadBalancers) == 0 {
		return fmt.Errorf("alb %s: load balancer %s: %w", p.c.App, p.c.LoadBalancerARN, provider.ErrNotFound)
	}
	p.dns = aws.ToString(lbs.LoadBalancers[0].DNSName)
	p.dnsZone = aws.ToString(lbs.LoadBalancers[0].CanonicalHostedZoneId)
	existing := map[provider.Slot]string{}
	for _, s := range p.slots() {
		out, err := p.api.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{p.tgName(s)}})
		var nf *types.TargetGroupNotFoundException
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return classify(ctx, "alb "+p.c.App+": DescribeTargetGroups "+p.tgName(s), err, false)
		case len(out.TargetGroups) > 0:
			arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
			if err := p.owned(ctx, "target group", arn); err != nil {
				return err
			}
			existing[s] = arn
		}
	}
	ls, err := p.api.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(p.c.LoadBalancerARN)})
	if err != nil {
		return classify(ctx, "alb "+p.c.App+": DescribeListeners of "+p.c.LoadBalancerARN, err, false)
	}
	onPort := map[int32]string{}
	for _, l := range ls.Listeners {
		onPort[aws.ToInt32(l.Port)] = aws.ToString(l.ListenerArn)
	}
	for _, port := range []int32{p.c.Port, p.c.TestPort} {
		if arn := onPort[port]; port != 0 && arn != "" {
			if err := p.owned(ctx, fmt.Sprintf("listener :%d", port), arn); err != nil {
				return err
			}
		}
	}
	for _, s := range p.slots() {
		if existing[s] != "" {
			p.tg[s] = existing[s]
			continue
		}
		out, err := p.api.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
			Name: aws.String(p.tgName(s)), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(p.c.TargetPort),
			VpcId: aws.String(p.c.VpcID), TargetType: p.targetType(),
			HealthCheckPath: aws.String(p.c.HealthPath), Matcher: &types.Matcher{HttpCode: aws.String("200-399")},
			Tags: p.ownerTags(),
		})
		if err != nil {
			return classify(ctx, "alb "+p.c.App+": CreateTargetGroup "+p.tgName(s), err, false)
		}
		p.tg[s] = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	first := p.forward(100, 0)
	if p.c.Only != "" {
		first = p.single(p.c.Only)
	}
	if p.prod = onPort[p.c.Port]; p.prod == "" {
		if p.prod, err = p.createListener(ctx, p.c.Port, first); err != nil {
			return err
		}
	}
	if p.c.TestPort != 0 {
		if p.testLsnr = onPort[p.c.TestPort]; p.testLsnr == "" {
			if p.testLsnr, err = p.createListener(ctx, p.c.TestPort, p.single(provider.Blue)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Provider) single(slot provider.Slot) []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(p.tg[slot])}}
}

func (p *Provider) createListener(ctx context.Context, port int32, actions []types.Action) (string, error) {
	out, err := p.api.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(p.c.LoadBalancerARN), Port: aws.Int32(port), Protocol: types.ProtocolEnumHttp,
		DefaultActions: actions, Tags: p.ownerTags(),
	})
	if err != nil {
		return "", classify(ctx, fmt.Sprintf("alb %s: CreateListener :%d", p.c.App, port), err, false)
	}
	return aws.ToString(out.Listeners[0].ListenerArn), nil
}

// SetTestRoute points the test listener at slot's target group.
func (p *Provider) SetTestRoute(ctx context.Context, slot provider.Slot) error {
	if !slot.Valid() {
		return fmt.Errorf("alb %s: test route to %q: %w", p.c.App, slot, provider.ErrInvalid)
	}
	if p.testLsnr == "" {
		return fmt.Errorf("alb %s: no test listener (set traffic.alb.test_port in the spec): %w", p.c.App, provider.ErrInvalid)
	}
	if _, err := p.api.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(p.testLsnr), DefaultActions: p.single(slot)}); err != nil {
		return classify(ctx, "alb "+p.c.App+": ModifyListener (test) "+p.testLsnr, err, true)
	}
	return nil
}

// TestRoute reads the test listener back: the slot whose target group it forwards to, and
// its URL on the load balancer's DNS name.
func (p *Provider) TestRoute(ctx context.Context) (provider.Slot, string, error) {
	if p.testLsnr == "" {
		return "", "", nil
	}
	out, err := p.api.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{p.testLsnr}})
	if err != nil {
		return "", "", classify(ctx, "alb "+p.c.App+": DescribeListeners (test) "+p.testLsnr, err, false)
	}
	url := fmt.Sprintf("http://%s:%d", p.dns, p.c.TestPort)
	if len(out.Listeners) == 0 || len(out.Listeners[0].DefaultActions) == 0 {
		return "", url, nil
	}
	a := out.Listeners[0].DefaultActions[0]
	arn := aws.ToString(a.TargetGroupArn)
	if arn == "" && a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 {
		arn = aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
	}
	for s, tg := range p.tg {
		if tg == arn {
			return s, url, nil
		}
	}
	return "", url, nil
}

// Release deletes the listeners, then the target groups; what is gone is released.
func (p *Provider) Release(ctx context.Context) error {
	var nfL *types.ListenerNotFoundException
	for _, arn := range []string{p.testLsnr, p.prod} {
		if arn == "" {
			continue
		}
		if _, err := p.api.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(arn)}); err != nil && !errors.As(err, &nfL) {
			return classify(ctx, "alb "+p.c.App+": DeleteListener "+arn, err, false)
		}
	}
	p.prod, p.testLsnr = "", ""
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		if p.tg[s] == "" {
			continue
		}
		if _, err := p.api.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(p.tg[s])}); err != nil {
			var nf *types.TargetGroupNotFoundException
			if !errors.As(err, &nf) {
				return classify(ctx, "alb "+p.c.App+": DeleteTargetGroup "+p.tg[s], err, false)
			}
		}
		delete(p.tg, s)
	}
	return nil
}

// targetType is the kind of target the groups register: instances or IP addresses.
func (p *Provider) targetType() types.TargetTypeEnum {
	if p.c.Instances {
		return types.TargetTypeEnumInstance
	}
	return types.TargetTypeEnumIp
}
