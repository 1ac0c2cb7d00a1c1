package awsapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsalb"
	"github.com/cutover/cutover/internal/provider/awsr53"
	"github.com/cutover/cutover/internal/spec"
)

// openRoute53LBs is traffic.route53 with load_balancers: each slot is its own load
// balancer (a listener forwarding to one target group cutover owns), the releases' groups
// join the target group of their slot, and Route 53's weighted records are alias records
// to the two load balancers: the playbook's "swap ECS services with DNS".
func openRoute53LBs(cfg aws.Config, a *spec.App, hc *http.Client) (App, error) {
	r := a.Traffic.Route53
	lbs := map[provider.Slot]*awsalb.Provider{}
	for slot, arn := range map[provider.Slot]string{provider.Blue: r.LoadBalancers.Blue, provider.Green: r.LoadBalancers.Green} {
		p, err := awsalb.New(elb.NewFromConfig(cfg), awsalb.Config{
			App: a.Name, LoadBalancerARN: arn, VpcID: r.LoadBalancers.VPC, Port: int32(r.LoadBalancers.Port),
			TargetPort: int32(targetPort(a)), HealthPath: a.Health.Path, Instances: a.Run.ASG != nil, Only: slot,
		})
		if err != nil {
			return App{}, fmt.Errorf("traffic.route53.load_balancers.%s: %w", slot, err)
		}
		lbs[slot] = p
	}
	records, err := awsr53.New(route53.NewFromConfig(cfg), awsr53.Config{App: a.Name, HostedZoneID: r.Zone, Name: r.Name, Type: "A", TTL: r.TTL.Duration()})
	if err != nil {
		return App{}, err
	}
	drv, _, err := groups(cfg, a, hc, func(s provider.Slot) string { return lbs[s].TargetGroup(s) })
	if err != nil {
		return App{}, err
	}
	return App{Traffic: &lbRecords{records: records, lbs: lbs}, Groups: drv}, nil
}

// lbRecords is the traffic provider of openRoute53LBs: the load balancers are the fixed
// entrances of the two slots, and only the records' weights move.
type lbRecords struct {
	records *awsr53.Provider
	lbs     map[provider.Slot]*awsalb.Provider
}

var _ provider.TrafficProvider = (*lbRecords)(nil)

// Prepare prepares both load balancers (their target group and listener, refusing what
// cutover does not own), then the records, and points each slot's record at its load
// balancer: both records exist from the first release on (the empty slot at weight 0).
func (p *lbRecords) Prepare(ctx context.Context) error {
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		if err := p.lbs[s].Prepare(ctx); err != nil {
			return fmt.Errorf("the %s load balancer: %w", s, err)
		}
	}
	if err := p.records.Prepare(ctx); err != nil {
		return err
	}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		name, zone := p.lbs[s].Alias()
		if name == "" || zone == "" {
			return fmt.Errorf("the %s load balancer has no DNS name or hosted zone to alias: %w", s, provider.ErrNotFound)
		}
		if err := p.records.Bind(ctx, s, provider.Backend{Kind: awsr53.BackendKind, Ref: awsr53.AliasRef(zone, name)}); err != nil {
			return err
		}
	}
	return nil
}

// Bind checks that b is slot's own target group: the slot's record already answers with
// its load balancer, so binding moves nothing.
func (p *lbRecords) Bind(_ context.Context, slot provider.Slot, b provider.Backend) error {
	lb, ok := p.lbs[slot]
	if !ok {
		return fmt.Errorf("route53: bind slot %q: %w", slot, provider.ErrInvalid)
	}
	if tg := lb.TargetGroup(slot); b.Ref != tg {
		return fmt.Errorf("route53: bind %s to %s: %w: the %s load balancer forwards to %s", slot, b.Ref, provider.ErrInvalid, slot, tg)
	}
	return nil
}

func (p *lbRecords) SetWeight(ctx context.Context, bp int) (provider.Written, error) {
	return p.records.SetWeight(ctx, bp)
}

func (p *lbRecords) Observe(ctx context.Context) (provider.Observed, error) {
	return p.records.Observe(ctx)
}

// Release removes the records, then the load balancers' listener and target group.
func (p *lbRecords) Release(ctx context.Context) error {
	errs := []error{p.records.Release(ctx)}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		errs = append(errs, p.lbs[s].Release(ctx))
	}
	return errors.Join(errs...)
}
