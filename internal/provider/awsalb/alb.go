// Package awsalb is provider.TrafficProvider over an AWS Application Load Balancer: it
// creates or adopts, by an owner tag, a production listener and an optional test listener
// on an existing load balancer and two target groups (blue and green), and moves the
// forward weights of the production listener. It reads the listener back after every write.
//
// It refuses listeners and target groups that exist without cutover's owner tag, because
// ELBv2 has no preconditions: a ModifyListener replaces the whole action list, last writer
// wins. The weight cutover wrote is kept in a tag on the listener, so a restarted cutover
// knows it and reports drift when the listener holds something else.
//
// It must not know deployments or the engine; the SDK client comes from the caller.
package awsalb

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cutover/cutover/internal/provider"
)

// Tags cutover puts on what it owns.
const (
	TagOwner   = "cutover.owner"
	TagWritten = "cutover.green-bp"
	TagPrev    = "cutover.previous-green-bp"
	TagAt      = "cutover.written-at"
)

// MaxWeight is ELBv2's largest forward weight.
const MaxWeight = 999

// API is the part of the ELBv2 client the provider uses; *elasticloadbalancingv2.Client is one.
type API interface {
	DescribeLoadBalancers(context.Context, *elb.DescribeLoadBalancersInput, ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
	DescribeTargetGroups(context.Context, *elb.DescribeTargetGroupsInput, ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
	CreateTargetGroup(context.Context, *elb.CreateTargetGroupInput, ...func(*elb.Options)) (*elb.CreateTargetGroupOutput, error)
	DeleteTargetGroup(context.Context, *elb.DeleteTargetGroupInput, ...func(*elb.Options)) (*elb.DeleteTargetGroupOutput, error)
	DescribeListeners(context.Context, *elb.DescribeListenersInput, ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	CreateListener(context.Context, *elb.CreateListenerInput, ...func(*elb.Options)) (*elb.CreateListenerOutput, error)
	ModifyListener(context.Context, *elb.ModifyListenerInput, ...func(*elb.Options)) (*elb.ModifyListenerOutput, error)
	DeleteListener(context.Context, *elb.DeleteListenerInput, ...func(*elb.Options)) (*elb.DeleteListenerOutput, error)
	DescribeTags(context.Context, *elb.DescribeTagsInput, ...func(*elb.Options)) (*elb.DescribeTagsOutput, error)
	AddTags(context.Context, *elb.AddTagsInput, ...func(*elb.Options)) (*elb.AddTagsOutput, error)
}

// Config is one app's routes on a load balancer.
type Config struct {
	App             string // names the target groups <app>-blue and <app>-green
	Owner           string // the owner tag's value; empty is "cutover/<app>"
	LoadBalancerARN string
	VpcID           string
	Port            int32 // the production listener's port
	TestPort        int32 // the test listener's port; 0 for none
	TargetPort      int32 // the port targets serve on
	HealthPath      string
	// Instances makes instance target groups (an Auto Scaling group's instances register
	// by ID) instead of ip ones (ECS tasks in awsvpc networking).
	Instances bool
	// Only, when set, makes the load balancer one slot's entrance (DNS weights choose
	// between two load balancers): Prepare makes only that slot's target group, and the
	// listener forwards everything to it. SetWeight is then not for use.
	Only provider.Slot
	// Settle is how long after a verified write clients are assumed to see it: ALB rule
	// updates "do not take effect immediately". Zero is 5 s.
	Settle time.Duration
	Now    func() time.Time // nil is time.Now
}

// Provider is the ALB traffic provider of one app.
type Provider struct {
	api API
	c   Config

	tg             map[provider.Slot]string // target group ARNs
	prod, testLsnr string                   // listener ARNs
	dns            string                   // the load balancer's DNS name
	dnsZone        string                   // and its canonical hosted zone, for alias records
}

var (
	_ provider.TrafficProvider = (*Provider)(nil)
	_ provider.TestRouter      = (*Provider)(nil)
)

// New returns the provider of c over api. It checks c; it calls nothing.
func New(api API, c Config) (*Provider, error) {
	switch {
	case c.App == "" || len(c.App) > 26: // target group names are at most 32 characters
		return nil, fmt.Errorf("alb: app name %q must be 1 to 26 characters: %w", c.App, provider.ErrInvalid)
	case c.LoadBalancerARN == "":
		return nil, fmt.Errorf("alb: load_balancer is required: %w", provider.ErrInvalid)
	case c.Port < 1 || c.Port > 65535 || c.TestPort < 0 || c.TestPort > 65535 || c.TestPort == c.Port:
		return nil, fmt.Errorf("alb: listener ports %d and %d must be distinct ports (test 0 for none): %w", c.Port, c.TestPort, provider.ErrInvalid)
	case c.TargetPort < 1 || c.TargetPort > 65535:
		return nil, fmt.Errorf("alb: target port %d must be 1..65535: %w", c.TargetPort, provider.ErrInvalid)
	}
	if c.Owner == "" {
		c.Owner = "cutover/" + c.App
	}
	if c.Settle == 0 {
		c.Settle = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HealthPath == "" {
		c.HealthPath = "/healthz"
	}
	return &Provider{api: api, c: c, tg: map[provider.Slot]string{}}, nil
}

// TargetGroup is slot's target group ARN, once prepared: what a group driver registers the
// slot's tasks in.
func (p *Provider) TargetGroup(slot provider.Slot) string { return p.tg[slot] }

// Alias is the load balancer's DNS name and canonical hosted zone ID (for Route 53 alias
// records to it), read by Prepare.
func (p *Provider) Alias() (dnsName, zoneID string) { return p.dns, p.dnsZone }

// slots are the slots whose target groups the provider keeps.
func (p *Provider) slots() []provider.Slot {
	if p.c.Only != "" {
		return []provider.Slot{p.c.Only}
	}
	return []provider.Slot{provider.Blue, provider.Green}
}

// Quantise maps bp to ELBv2 forward weights (0..999 each): exact percentages as n/100,
// other shares as the closest fraction of 999. It returns the weights and the share they
// really give green.
func Quantise(bp int) (blue, green int32, got int) {
	switch {
	case bp%100 == 0:
		green = int32(bp / 100)
		blue = 100 - green
	default:
		green = int32(math.Round(float64(bp) * MaxWeight / provider.MaxBP))
		blue = MaxWeight - green
	}
	return blue, green, share(blue, green)
}

func share(blue, green int32) int {
	if blue+green == 0 {
		return 0
	}
	return int(math.Round(float64(green) * provider.MaxBP / float64(blue+green)))
}

func (p *Provider) forward(blue, green int32) []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
		TargetGroups: []types.TargetGroupTuple{
			{TargetGroupArn: aws.String(p.tg[provider.Blue]), Weight: aws.Int32(blue)},
			{TargetGroupArn: aws.String(p.tg[provider.Green]), Weight: aws.Int32(green)},
		},
		TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(false)},
	}}}
}

func (p *Provider) Bind(_ context.Context, slot provider.Slot, b provider.Backend) error {
	if !slot.Valid() {
		return fmt.Errorf("alb %s: bind slot %q: %w", p.c.App, slot, provider.ErrInvalid)
	}
	if p.tg[slot] == "" {
		return fmt.Errorf("alb %s: bind %s: %w: prepare first", p.c.App, slot, provider.ErrNotFound)
	}
	if b.Ref != p.tg[slot] {
		return fmt.Errorf("alb %s: bind %s to %q: %w: the %s slot serves target group %s; run the release's tasks there",
			p.c.App, slot, b.Ref, provider.ErrInvalid, slot, p.tg[slot])
	}
	return nil
}

func (p *Provider) SetWeight(ctx context.Context, bp int) (provider.Written, error) {
	if err := provider.CheckWeight(bp); err != nil {
		return provider.Written{}, fmt.Errorf("alb %s: %w", p.c.App, err)
	}
	if p.prod == "" {
		return provider.Written{}, fmt.Errorf("alb %s: set weight: %w: prepare first", p.c.App, provider.ErrNotFound)
	}
	blue, green, got := Quantise(bp)
	at := p.c.Now()
	// The intent goes on the listener first, with the weight written before it, so a
	// ModifyListener that fails or has not landed reads as "not converged", and only a
	// weight cutover never wrote reads as drift.
	tags, err := p.tags(ctx, p.prod)
	if err != nil {
		return provider.Written{}, err
	}
	prev := tags[TagWritten]
	if prev == "" {
		prev = "0"
	}
	if _, err := p.api.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{p.prod}, Tags: []types.Tag{
		{Key: aws.String(TagWritten), Value: aws.String(strconv.Itoa(got))},
		{Key: aws.String(TagPrev), Value: aws.String(prev)},
		{Key: aws.String(TagAt), Value: aws.String(at.UTC().Format(time.RFC3339Nano))},
	}}); err != nil {
		return provider.Written{}, classify(ctx, "alb "+p.c.App+": tag the weight to write on "+p.prod, err, true)
	}
	if _, err := p.api.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(p.prod), DefaultActions: p.forward(blue, green)}); err != nil {
		return provider.Written{}, classify(ctx, "alb "+p.c.App+": ModifyListener "+p.prod, err, true)
	}
	w := provider.Written{GreenBP: got, Raw: fmt.Sprintf("blue=%d green=%d", blue, green), At: at}
	o, err := p.Observe(ctx) // read back after each write
	if err != nil {
		return w, fmt.Errorf("alb %s: read back after writing %s: %w", p.c.App, w.Raw, err)
	}
	if o.GreenBP != got {
		return w, fmt.Errorf("alb %s: wrote %s but DescribeListeners reads green at %d bp: %w", p.c.App, w.Raw, o.GreenBP, provider.ErrUnknownOutcome)
	}
	return w, nil
}
