package awsr53

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider"
)

// Observe reads both weighted records and the ownership record, and the status of
// cutover's last change. Converged means Route 53 reports that change INSYNC; the weight is
// effective a TTL after INSYNC was first seen. Weights other than the ones the ownership
// record says cutover wrote are drift: both are written in one batch, so a write that did
// not land leaves them agreeing, at the previous weight.
func (p *Provider) Observe(ctx context.Context) (provider.Observed, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.observe(ctx)
}

func (p *Provider) observe(ctx context.Context) (provider.Observed, error) {
	if !p.prepared {
		return provider.Observed{}, p.errf("observe: %w: prepare first", provider.ErrNotFound)
	}
	own, err := p.readOwner(ctx)
	if err != nil {
		return provider.Observed{}, err
	}
	rs, err := p.readRecords(ctx, p.typ)
	if err != nil {
		return provider.Observed{}, err
	}
	blue, bok := rs.slot[provider.Blue]
	green, gok := rs.slot[provider.Green]
	b, g := aws.ToInt64(blue.Weight), aws.ToInt64(green.Weight)
	if !bok && !gok {
		b = MaxWeight // nothing answers: green gets nothing
	}
	now := p.c.Now()
	o := provider.Observed{GreenBP: share(b, g)}
	o.Evidence = fmt.Sprintf("Route 53 %s weights blue=%d green=%d read back at %s", p.name, b, g, clock(now))
	wrote, werr := -1, error(nil)
	if own != nil && own.wrote != "" {
		wrote, werr = strconv.Atoi(own.wrote)
	}
	switch {
	case own == nil && (bok || gok):
		o.Drift = fmt.Sprintf("the ownership record %s TXT is gone but the records at %s remain", p.ownerName(), p.name)
	case own == nil:
		o.Reason = fmt.Sprintf("no records at %s and no ownership record: prepare again", p.name)
	case own.owner != p.c.Owner:
		o.Drift = fmt.Sprintf("the ownership record %s TXT names %q, not %q: someone else took %s over", p.ownerName(), own.owner, p.c.Owner, p.name)
	case len(rs.foreign) > 0:
		o.Drift = fmt.Sprintf("records cutover does not own answer at %s too: %s", p.name, strings.Join(rs.foreign, ", "))
	case werr != nil:
		o.Drift = fmt.Sprintf("the ownership record %s TXT holds green-bp=%q, not a number", p.ownerName(), own.wrote)
	case wrote < 0 && !bok && !gok:
		o.Reason = fmt.Sprintf("no weights written at %s yet", p.name)
	case wrote < 0:
		o.Drift = fmt.Sprintf("weighted records at %s that cutover never wrote: %s", p.name, strings.Join(rs.describe(), ", "))
	case !bok || !gok:
		gone := provider.Blue
		if bok {
			gone = provider.Green
		}
		o.Drift = fmt.Sprintf("%s's weighted record at %s is gone but cutover wrote green %d bp at %s", gone, p.name, wrote, own.at)
	case o.GreenBP != wrote:
		o.Drift = fmt.Sprintf("%s holds weights blue=%d green=%d (green %d bp) but cutover wrote green %d bp at %s: someone else changed them",
			p.name, b, g, o.GreenBP, wrote, own.at)
	case p.held[provider.Blue] != "" && !sameValue(value(blue), shown(p.held[provider.Blue])):
		o.Drift = fmt.Sprintf("blue's record at %s answers %s but cutover wrote %s", p.name, value(blue), p.held[provider.Blue])
	case p.held[provider.Green] != "" && !sameValue(value(green), shown(p.held[provider.Green])):
		o.Drift = fmt.Sprintf("green's record at %s answers %s but cutover wrote %s", p.name, value(green), p.held[provider.Green])
	default:
		ttl := time.Duration(max(aws.ToInt64(blue.TTL), aws.ToInt64(green.TTL))) * time.Second
		if ttl == 0 { // alias records have no TTL of their own: resolvers get the target's
			ttl = p.c.TTL
		}
		if err := p.converge(ctx, &o, b, g, ttl, now); err != nil {
			return provider.Observed{}, err
		}
	}
	return o, nil
}

// converge asks Route 53 for the status of cutover's last change (until INSYNC is seen,
// then remembers when) and fills in o's convergence.
func (p *Provider) converge(ctx context.Context, o *provider.Observed, b, g int64, ttl time.Duration, now time.Time) error {
	c := &p.change
	if c.id == "" {
		o.Reason = c.lost
		if o.Reason == "" {
			o.Reason = "the weights were written before this process started, so it cannot follow Route 53's change; write the weight again"
		}
		return nil
	}
	if c.insyncAt.IsZero() {
		out, err := p.api.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(c.id)})
		if err != nil {
			return classify(ctx, p.errf("GetChange %s", c.id).Error(), err, false)
		}
		if st := out.ChangeInfo.Status; st != types.ChangeStatusInsync {
			o.Reason = fmt.Sprintf("Route 53 change %s is %s", c.id, st)
			o.Evidence += fmt.Sprintf("; change %s %s, submitted at %s", c.id, st, clock(aws.ToTime(out.ChangeInfo.SubmittedAt)))
			return nil
		}
		c.insyncAt = now
	}
	o.Converged, o.EffectiveAt = true, c.insyncAt.Add(ttl)
	o.Settle = fmt.Sprintf("TTL %ds after INSYNC", int64(ttl/time.Second))
	o.Evidence = fmt.Sprintf("Route 53 %s weights blue=%d green=%d INSYNC at %s, effective after TTL %ds at %s",
		p.name, b, g, clock(c.insyncAt), int64(ttl/time.Second), clock(o.EffectiveAt))
	return nil
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

// classify wraps err from the Route 53 API with what failed and a provider error class.
// A write that ran out of time may have landed: its outcome is unknown.
func classify(ctx context.Context, what string, err error, write bool) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "Throttling", "ThrottlingException", "PriorRequestNotComplete", "TooManyRequestsException", "RequestLimitExceeded":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrThrottled, ae.ErrorMessage())
		case "AccessDenied", "AccessDeniedException", "NotAuthorizedException":
			return fmt.Errorf("%s: %w: %s; grant cutover's role this action on the hosted zone", what, provider.ErrAccessDenied, ae.ErrorMessage())
		case "NoSuchHostedZone", "HostedZoneNotFound", "NoSuchChange":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrNotFound, ae.ErrorMessage())
		case "InvalidInput", "InvalidChangeBatch", "InvalidArgument", "InvalidDomainName":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrInvalid, ae.ErrorMessage())
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if write && (errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil) {
		return fmt.Errorf("%s: %w: %v", what, provider.ErrUnknownOutcome, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
