// Package awsapp opens the AWS side of an app spec: the traffic provider (traffic.alb's
// load balancer, or traffic.route53's weighted records), the group driver (run.ecs's task
// sets or run.asg's Auto Scaling groups) and, behind an ALB, the target groups' CloudWatch
// metrics, over one SDK config loaded the usual AWS way (environment, shared config and
// credentials files, an instance or task role), with the spec's aws.region and
// aws.endpoint.
//
// It is composition only: it maps the spec's fields to the providers' configs. It must not
// know the engine or deployments.
package awsapp

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsalb"
	"github.com/cutover/cutover/internal/provider/awsasg"
	"github.com/cutover/cutover/internal/provider/awscw"
	"github.com/cutover/cutover/internal/provider/awsec2"
	"github.com/cutover/cutover/internal/provider/awsecs"
	"github.com/cutover/cutover/internal/spec"
)

// App is the AWS side of one app.
type App struct {
	Traffic provider.TrafficProvider // the ALB provider or the Route 53 provider
	Groups  provider.GroupDriver     // ECS or ASG; nil for run.external (not AWS's to run)
	Signals provider.SignalSource    // the target groups' CloudWatch metrics; nil without an ALB
}

// Open returns a's providers. hc, if set, makes the HTTP calls (an egress-restricted
// client). It calls no AWS API; the providers' Prepare and EnsureRelease do.
func Open(ctx context.Context, a *spec.App, hc *http.Client) (App, error) {
	cfg, err := load(ctx, a, hc)
	if err != nil {
		return App{}, err
	}
	if r := a.Traffic.Route53; r != nil && r.LoadBalancers == nil {
		return openRoute53(cfg, a)
	} else if r != nil {
		return openRoute53LBs(cfg, a, hc)
	}
	l := a.Traffic.ALB
	if l == nil || (a.Run.ECS == nil && a.Run.ASG == nil) {
		return App{}, fmt.Errorf("aws: %s needs traffic.alb with run.ecs or run.asg, or traffic.route53: %w", a.Name, provider.ErrInvalid)
	}
	alb, err := awsalb.New(elb.NewFromConfig(cfg), awsalb.Config{
		App: a.Name, LoadBalancerARN: l.LoadBalancer, VpcID: l.VPC,
		Port: int32(l.Port), TestPort: int32(l.TestPort), TargetPort: int32(targetPort(a)),
		HealthPath: a.Health.Path, Settle: l.Settle.Duration(), Instances: a.Run.ASG != nil,
	})
	if err != nil {
		return App{}, err
	}
	drv, list, err := groups(cfg, a, hc, alb.TargetGroup)
	if err != nil {
		return App{}, err
	}
	sig := &awscw.Signals{API: awscw.NewClient(cfg, a.AWS.Endpoint), LoadBalancer: l.LoadBalancer,
		TargetGroup: func(ctx context.Context, app, version string) (string, error) {
			gs, err := list(ctx, app)
			if err != nil {
				return "", err
			}
			for _, g := range gs {
				if g.Version == version {
					return alb.TargetGroup(g.Slot), nil
				}
			}
			return "", fmt.Errorf("%s has no group for %s: %w", app, version, provider.ErrNotFound)
		}}
	return App{Traffic: alb, Groups: drv, Signals: sig}, nil
}

// targetPort is the port a's releases serve on.
func targetPort(a *spec.App) int {
	if a.Run.ECS != nil {
		return a.Run.ECS.ContainerPort
	}
	if a.Run.ASG != nil {
		return a.Run.ASG.Port
	}
	return 0
}

// groups is a's group driver (ECS task sets or Auto Scaling groups) joining the target
// groups tg names per slot, and its List.
func groups(cfg aws.Config, a *spec.App, hc *http.Client, tg func(provider.Slot) string) (provider.GroupDriver, func(context.Context, string) ([]provider.Group, error), error) {
	if e := a.Run.ECS; e != nil {
		d, err := awsecs.New(ecs.NewFromConfig(cfg), awsecs.Config{
			Cluster: e.Cluster, Service: e.Service, Container: e.Container, ContainerPort: int32(e.ContainerPort),
			Count: a.Run.Instances, Cpu: e.CPU, Memory: e.Memory, Subnets: e.Subnets, SecurityGroups: e.SecurityGroups,
			ExecutionRole: e.ExecutionRole, TaskRole: e.TaskRole, TargetGroup: tg,
		})
		if err != nil {
			return nil, nil, err
		}
		return d, d.List, nil
	}
	g := a.Run.ASG
	d, err := awsasg.New(autoscaling.NewFromConfig(cfg), awsec2.New(cfg, hc), awsasg.Config{
		App: a.Name, InstanceType: g.InstanceType, UserData: g.UserData, SecurityGroups: g.SecurityGroups,
		Subnets: g.Subnets, HealthCheckGracePeriod: g.HealthCheckGrace.Duration(), TargetGroup: tg,
		// strategy.rolling: a batch has health.startup_grace to be InService and healthy.
		RollTimeout: a.Health.StartupGrace.Duration(), RollPoll: a.Health.Interval.Duration(),
	})
	if err != nil {
		return nil, nil, err
	}
	return d, d.List, nil
}

// load is the SDK config of a: the usual credentials, the spec's region and endpoint.
func load(ctx context.Context, a *spec.App, hc *http.Client) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRetryMaxAttempts(3)}
	if a.AWS.Region != "" {
		opts = append(opts, config.WithRegion(a.AWS.Region))
	}
	if hc != nil {
		opts = append(opts, config.WithHTTPClient(hc))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load the AWS config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("no AWS region: set aws.region in the spec or the server's AWS_REGION")
	}
	if a.AWS.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(a.AWS.Endpoint)
	}
	return cfg, nil
}
