// Package awsapp opens the AWS side of an app spec: the ALB traffic provider of
// traffic.alb and the ECS group driver of run.ecs, over one SDK config loaded the usual AWS
// way (environment, shared config and credentials files, an instance or task role), with
// the spec's aws.region and aws.endpoint.
//
// It is composition only: it maps the spec's fields to awsalb.Config and awsecs.Config. It
// must not know the engine or deployments.
package awsapp

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsalb"
	"github.com/cutover/cutover/internal/provider/awscw"
	"github.com/cutover/cutover/internal/provider/awsecs"
	"github.com/cutover/cutover/internal/spec"
)

// App is the AWS side of one app.
type App struct {
	ALB     *awsalb.Provider // traffic.alb
	ECS     *awsecs.Driver   // run.ecs
	Signals *awscw.Signals   // the target groups' CloudWatch metrics, for cloudwatch checks
}

// Open returns a's traffic provider, group driver and signal source. hc, if set, makes the
// HTTP calls (an egress-restricted client). It calls no AWS API; the provider's Prepare does.
func Open(ctx context.Context, a *spec.App, hc *http.Client) (App, error) {
	l, e := a.Traffic.ALB, a.Run.ECS
	if l == nil || e == nil {
		return App{}, fmt.Errorf("aws: %s needs both run.ecs and traffic.alb: %w", a.Name, provider.ErrInvalid)
	}
	opts := []func(*config.LoadOptions) error{config.WithRetryMaxAttempts(3)}
	if a.AWS.Region != "" {
		opts = append(opts, config.WithRegion(a.AWS.Region))
	}
	if hc != nil {
		opts = append(opts, config.WithHTTPClient(hc))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return App{}, fmt.Errorf("load the AWS config: %w", err)
	}
	if cfg.Region == "" {
		return App{}, fmt.Errorf("no AWS region: set aws.region in the spec or the server's AWS_REGION")
	}
	if a.AWS.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(a.AWS.Endpoint)
	}
	alb, err := awsalb.New(elb.NewFromConfig(cfg), awsalb.Config{
		App: a.Name, LoadBalancerARN: l.LoadBalancer, VpcID: l.VPC,
		Port: int32(l.Port), TestPort: int32(l.TestPort), TargetPort: int32(e.ContainerPort),
		HealthPath: a.Health.Path, Settle: l.Settle.Duration(),
	})
	if err != nil {
		return App{}, err
	}
	drv, err := awsecs.New(ecs.NewFromConfig(cfg), awsecs.Config{
		Cluster: e.Cluster, Service: e.Service, Container: e.Container, ContainerPort: int32(e.ContainerPort),
		Count: a.Run.Instances, Cpu: e.CPU, Memory: e.Memory, Subnets: e.Subnets, SecurityGroups: e.SecurityGroups,
		ExecutionRole: e.ExecutionRole, TaskRole: e.TaskRole, TargetGroup: alb.TargetGroup,
	})
	if err != nil {
		return App{}, err
	}
	sig := &awscw.Signals{API: awscw.NewClient(cfg, a.AWS.Endpoint), LoadBalancer: l.LoadBalancer,
		TargetGroup: func(ctx context.Context, app, version string) (string, error) {
			gs, err := drv.List(ctx, app)
			if err != nil {
				return "", err
			}
			for _, g := range gs {
				if g.Version == version {
					return g.Backend.Ref, nil
				}
			}
			return "", fmt.Errorf("%s has no task set for %s: %w", app, version, provider.ErrNotFound)
		}}
	return App{ALB: alb, ECS: drv, Signals: sig}, nil
}
