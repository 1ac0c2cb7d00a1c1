// Package awsecs is provider.GroupDriver over Amazon ECS with the EXTERNAL deployment
// controller: one service per app, one task definition revision per release (the image
// from the spec, CUTOVER_VERSION set), and one task set per release, found by its external
// ID (the version) and registered in its slot's target group. cutover scales the task sets,
// makes the serving one primary at promotion and deletes the retired one.
//
// Every create is find-before-create with a client token, because a create can fail after
// creating (moto did). It must not know deployments or the engine.
package awsecs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider"
)

// API is the part of the ECS client the driver uses; *ecs.Client is one.
type API interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	CreateService(context.Context, *ecs.CreateServiceInput, ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error)
	RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DescribeTaskSets(context.Context, *ecs.DescribeTaskSetsInput, ...func(*ecs.Options)) (*ecs.DescribeTaskSetsOutput, error)
	CreateTaskSet(context.Context, *ecs.CreateTaskSetInput, ...func(*ecs.Options)) (*ecs.CreateTaskSetOutput, error)
	UpdateTaskSet(context.Context, *ecs.UpdateTaskSetInput, ...func(*ecs.Options)) (*ecs.UpdateTaskSetOutput, error)
	DeleteTaskSet(context.Context, *ecs.DeleteTaskSetInput, ...func(*ecs.Options)) (*ecs.DeleteTaskSetOutput, error)
	UpdateServicePrimaryTaskSet(context.Context, *ecs.UpdateServicePrimaryTaskSetInput, ...func(*ecs.Options)) (*ecs.UpdateServicePrimaryTaskSetOutput, error)
}

// Config is one app's service.
type Config struct {
	Cluster, Service string
	Container        string // the container's name in the task definition; empty is the app
	ContainerPort    int32
	Count            int // the service's desired count: task set scales are a percent of it
	Cpu, Memory      string
	Subnets          []string
	SecurityGroups   []string
	// ExecutionRole and TaskRole are the task definition's role ARNs; empty for none.
	ExecutionRole, TaskRole string
	// TargetGroup returns slot's target group ARN (the ALB provider's).
	TargetGroup func(slot provider.Slot) string
}

// Driver is the ECS group driver of one app.
type Driver struct {
	api API
	c   Config
}

var (
	_ provider.GroupDriver = (*Driver)(nil)
	_ provider.Promoter    = (*Driver)(nil)
)

// New returns the driver of c over api; it checks c and calls nothing.
func New(api API, c Config) (*Driver, error) {
	switch {
	case c.Cluster == "" || c.Service == "":
		return nil, fmt.Errorf("ecs: cluster and service are required: %w", provider.ErrInvalid)
	case c.Count < 1:
		return nil, fmt.Errorf("ecs: instances must be at least 1, got %d: %w", c.Count, provider.ErrInvalid)
	case c.ContainerPort < 1 || c.ContainerPort > 65535:
		return nil, fmt.Errorf("ecs: container port %d must be 1..65535: %w", c.ContainerPort, provider.ErrInvalid)
	case len(c.Subnets) == 0 || len(c.SecurityGroups) == 0:
		return nil, fmt.Errorf("ecs: subnets and security_groups are required for awsvpc tasks: %w", provider.ErrInvalid)
	case c.TargetGroup == nil:
		return nil, fmt.Errorf("ecs: no target groups (traffic.alb is required): %w", provider.ErrInvalid)
	}
	if c.Cpu == "" {
		c.Cpu = "256"
	}
	if c.Memory == "" {
		c.Memory = "512"
	}
	return &Driver{api: api, c: c}, nil
}

func (d *Driver) percent(count int) float64 { return 100 * float64(count) / float64(d.c.Count) }

// ensureService creates the EXTERNAL service when it does not exist.
func (d *Driver) ensureService(ctx context.Context, app string) error {
	out, err := d.api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(d.c.Cluster), Services: []string{d.c.Service}})
	if err != nil {
		return classify("ecs DescribeServices "+d.c.Service, err)
	}
	for _, s := range out.Services {
		if aws.ToString(s.Status) == "ACTIVE" {
			if s.DeploymentController == nil || s.DeploymentController.Type != types.DeploymentControllerTypeExternal {
				return fmt.Errorf("ecs service %s does not use the EXTERNAL deployment controller: %w; cutover drives only EXTERNAL services (create a new one)", d.c.Service, provider.ErrNotOwned)
			}
			return nil
		}
	}
	_, err = d.api.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(d.c.Cluster), ServiceName: aws.String(d.c.Service), DesiredCount: aws.Int32(int32(d.c.Count)),
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeExternal},
		ClientToken:          aws.String("cutover-" + app + "-service"),
		Tags:                 []types.Tag{{Key: aws.String("cutover.app"), Value: aws.String(app)}},
	})
	if err != nil {
		return classify("ecs CreateService "+d.c.Service, err)
	}
	return nil
}

func (d *Driver) taskSets(ctx context.Context, ids ...string) ([]types.TaskSet, error) {
	out, err := d.api.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String(d.c.Cluster), Service: aws.String(d.c.Service), TaskSets: ids})
	if err != nil {
		return nil, classify("ecs DescribeTaskSets of "+d.c.Service, err)
	}
	var live []types.TaskSet
	for _, ts := range out.TaskSets {
		if s := aws.ToString(ts.Status); s == "ACTIVE" || s == "PRIMARY" {
			live = append(live, ts)
		}
	}
	return live, nil
}

func (d *Driver) group(app string, ts types.TaskSet) provider.Group {
	g := provider.Group{App: app, Version: aws.ToString(ts.ExternalId), Ref: aws.ToString(ts.TaskSetArn)}
	for _, lb := range ts.LoadBalancers {
		tg := aws.ToString(lb.TargetGroupArn)
		for _, s := range []provider.Slot{provider.Blue, provider.Green} {
			if tg != "" && tg == d.c.TargetGroup(s) {
				g.Slot = s
			}
		}
		g.Backend = provider.Backend{Kind: "alb-target-group", Ref: tg, Version: g.Version}
	}
	return g
}

func (d *Driver) EnsureRelease(ctx context.Context, r provider.Release, count int) (provider.Group, error) {
	if r.App == "" || r.Version == "" || !r.Slot.Valid() || count < 0 || r.Image == "" {
		return provider.Group{}, fmt.Errorf("ecs ensure %s %s in %q at %d (image %q): %w", r.App, r.Version, r.Slot, count, r.Image, provider.ErrInvalid)
	}
	if err := d.ensureService(ctx, r.App); err != nil {
		return provider.Group{}, err
	}
	live, err := d.taskSets(ctx)
	if err != nil {
		return provider.Group{}, err
	}
	for _, ts := range live {
		if aws.ToString(ts.ExternalId) == r.Version {
			g := d.group(r.App, ts)
			if ts.Scale == nil || math.Abs(ts.Scale.Value-d.percent(count)) > 0.01 {
				if err := d.Scale(ctx, g, count); err != nil {
					return provider.Group{}, err
				}
			}
			return g, nil
		}
	}
	container := d.c.Container
	if container == "" {
		container = r.App
	}
	env := []types.KeyValuePair{{Name: aws.String("CUTOVER_APP"), Value: aws.String(r.App)}, {Name: aws.String("CUTOVER_VERSION"), Value: aws.String(r.Version)},
		{Name: aws.String("PORT"), Value: aws.String(fmt.Sprint(d.c.ContainerPort))}}
	keys := make([]string, 0, len(r.Env))
	for k := range r.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, types.KeyValuePair{Name: aws.String(k), Value: aws.String(r.Env[k])})
	}
	mem := int32(512)
	fmt.Sscan(d.c.Memory, &mem)
	td, err := d.api.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(r.App), NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu: aws.String(d.c.Cpu), Memory: aws.String(d.c.Memory),
		ExecutionRoleArn: optional(d.c.ExecutionRole), TaskRoleArn: optional(d.c.TaskRole),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String(container), Image: aws.String(r.Image), Essential: aws.Bool(true),
			Memory: aws.Int32(mem), Environment: env, PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(d.c.ContainerPort)}}}},
		Tags: []types.Tag{{Key: aws.String("cutover.version"), Value: aws.String(r.Version)}},
	})
	if err != nil {
		return provider.Group{}, classify("ecs RegisterTaskDefinition "+r.App+" for "+r.Version, err)
	}
	// No Scale at create: the SDK omits a zero value and moto then fails; UpdateTaskSet sets it.
	out, err := d.api.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{
		Cluster: aws.String(d.c.Cluster), Service: aws.String(d.c.Service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		ExternalId: aws.String(r.Version), ClientToken: aws.String("cutover-" + r.App + "-" + r.Version), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: d.c.Subnets, SecurityGroups: d.c.SecurityGroups}},
		LoadBalancers:        []types.LoadBalancer{{TargetGroupArn: aws.String(d.c.TargetGroup(r.Slot)), ContainerName: aws.String(container), ContainerPort: aws.Int32(d.c.ContainerPort)}},
	})
	if err != nil {
		return provider.Group{}, classify("ecs CreateTaskSet "+r.Version+" of "+d.c.Service, err)
	}
	g := d.group(r.App, *out.TaskSet)
	if count > 0 {
		if err := d.Scale(ctx, g, count); err != nil {
			return g, err
		}
	}
	return g, nil
}

func (d *Driver) Scale(ctx context.Context, g provider.Group, count int) error {
	if count < 0 {
		return fmt.Errorf("ecs scale %s to %d: %w", g.Ref, count, provider.ErrInvalid)
	}
	_, err := d.api.UpdateTaskSet(ctx, &ecs.UpdateTaskSetInput{Cluster: aws.String(d.c.Cluster), Service: aws.String(d.c.Service),
		TaskSet: aws.String(g.Ref), Scale: &types.Scale{Unit: types.ScaleUnitPercent, Value: d.percent(count)}})
	if err != nil {
		return classify(fmt.Sprintf("ecs UpdateTaskSet %s to %d tasks", g.Version, count), err)
	}
	return nil
}

func (d *Driver) Observe(ctx context.Context, g provider.Group) (provider.GroupStatus, error) {
	live, err := d.taskSets(ctx, g.Ref)
	if err != nil {
		return provider.GroupStatus{}, err
	}
	if len(live) == 0 {
		return provider.GroupStatus{}, fmt.Errorf("ecs task set %s (%s): %w", g.Version, g.Ref, provider.ErrNotFound)
	}
	ts := live[0]
	st := provider.GroupStatus{Desired: int(ts.ComputedDesiredCount), Running: int(ts.RunningCount),
		Stable: ts.StabilityStatus == types.StabilityStatusSteadyState}
	if st.Desired == 0 && ts.Scale != nil { // moto never computes it
		st.Desired = int(math.Round(ts.Scale.Value * float64(d.c.Count) / 100))
	}
	return st, nil
}

func (d *Driver) Promote(ctx context.Context, g provider.Group) error {
	_, err := d.api.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String(d.c.Cluster),
		Service: aws.String(d.c.Service), PrimaryTaskSet: aws.String(g.Ref)})
	if err != nil {
		return classify("ecs UpdateServicePrimaryTaskSet "+g.Version, err)
	}
	return nil
}

func (d *Driver) Retire(ctx context.Context, g provider.Group) error {
	_, err := d.api.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String(d.c.Cluster), Service: aws.String(d.c.Service),
		TaskSet: aws.String(g.Ref), Force: aws.Bool(true)})
	var nf *types.TaskSetNotFoundException
	if err == nil || errors.As(err, &nf) || strings.Contains(err.Error(), "does not exist") {
		return nil // gone is retired
	}
	return classify("ecs DeleteTaskSet "+g.Version, err)
}

func (d *Driver) List(ctx context.Context, app string) ([]provider.Group, error) {
	live, err := d.taskSets(ctx)
	if errors.Is(err, provider.ErrNotFound) {
		return nil, nil // no service yet: no groups
	}
	if err != nil {
		return nil, err
	}
	var out []provider.Group
	for _, ts := range live {
		out = append(out, d.group(app, ts))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func classify(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "Throttling":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrThrottled, ae.ErrorMessage())
		case "AccessDeniedException":
			return fmt.Errorf("%s: %w: %s; grant cutover's role this action", what, provider.ErrAccessDenied, ae.ErrorMessage())
		case "ClusterNotFoundException", "ServiceNotFoundException", "TaskSetNotFoundException":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrNotFound, ae.ErrorMessage())
		case "InvalidParameterException", "ClientException":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrInvalid, ae.ErrorMessage())
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// optional is s as an SDK string, nil when empty (the API refuses an empty ARN).
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
