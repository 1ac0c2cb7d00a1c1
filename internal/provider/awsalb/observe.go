package awsalb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider"
)

// Observe reads the production listener's forward weights and the weight cutover last
// wrote (its tag). Converged means they are equal; a listener that holds another weight, or
// forwards elsewhere, is drift.
func (p *Provider) Observe(ctx context.Context) (provider.Observed, error) {
	if p.prod == "" {
		return provider.Observed{}, fmt.Errorf("alb %s: observe: %w: prepare first", p.c.App, provider.ErrNotFound)
	}
	out, err := p.api.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{p.prod}})
	if err != nil {
		return provider.Observed{}, classify(ctx, "alb "+p.c.App+": DescribeListeners "+p.prod, err, false)
	}
	if len(out.Listeners) != 1 {
		return provider.Observed{}, fmt.Errorf("alb %s: listener %s: %w", p.c.App, p.prod, provider.ErrNotFound)
	}
	tags, err := p.tags(ctx, p.prod)
	if err != nil {
		return provider.Observed{}, err
	}
	now := p.c.Now()
	weights, other := map[string]int32{}, []string{}
	for _, a := range out.Listeners[0].DefaultActions {
		if a.ForwardConfig == nil {
			other = append(other, string(a.Type)+" "+aws.ToString(a.TargetGroupArn))
			continue
		}
		for _, t := range a.ForwardConfig.TargetGroups {
			arn := aws.ToString(t.TargetGroupArn)
			if arn != p.tg[provider.Blue] && arn != p.tg[provider.Green] {
				other = append(other, "forward "+arn)
			}
			weights[arn] = aws.ToInt32(t.Weight)
		}
	}
	b, g := weights[p.tg[provider.Blue]], weights[p.tg[provider.Green]]
	o := provider.Observed{GreenBP: share(b, g),
		Evidence: fmt.Sprintf("ALB listener :%d weights %s=%d %s=%d read back at %s", p.c.Port,
			p.tgName(provider.Blue), b, p.tgName(provider.Green), g, now.UTC().Format("15:04:05"))}
	wrote, werr := strconv.Atoi(tags[TagWritten])
	if werr != nil {
		wrote = 0 // never written: the listener was created at 100/0
	}
	at, _ := time.Parse(time.RFC3339Nano, tags[TagAt])
	switch {
	case len(other) > 0:
		o.Drift = fmt.Sprintf("listener :%d forwards to %v, not only to %s's target groups", p.c.Port, other, p.c.App)
	case tags[TagOwner] != p.c.Owner:
		o.Drift = fmt.Sprintf("listener :%d lost its %s tag", p.c.Port, TagOwner)
	case o.GreenBP != wrote && tags[TagPrev] == strconv.Itoa(o.GreenBP):
		o.Reason = fmt.Sprintf("listener :%d still holds the previous weights %d/%d; the write of green %d bp has not landed (rewrite it)", p.c.Port, b, g, wrote)
	case o.GreenBP != wrote:
		o.Drift = fmt.Sprintf("listener :%d holds weights %d/%d (green %d bp) but cutover wrote green %d bp: someone else changed it", p.c.Port, b, g, o.GreenBP, wrote)
	default:
		o.Converged, o.EffectiveAt = true, at.Add(p.c.Settle)
	}
	return o, nil
}

// classify wraps err from the ELBv2 API with what failed and a provider error class.
// A write that ran out of time may have landed: its outcome is unknown.
func classify(ctx context.Context, what string, err error, write bool) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrThrottled, ae.ErrorMessage())
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
			return fmt.Errorf("%s: %w: %s; grant cutover's role this action", what, provider.ErrAccessDenied, ae.ErrorMessage())
		case "LoadBalancerNotFound", "ListenerNotFound", "TargetGroupNotFound":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrNotFound, ae.ErrorMessage())
		case "ValidationError", "InvalidConfigurationRequest":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrInvalid, ae.ErrorMessage())
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if write && (errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil) {
		return fmt.Errorf("%s: %w: %v", what, provider.ErrUnknownOutcome, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
