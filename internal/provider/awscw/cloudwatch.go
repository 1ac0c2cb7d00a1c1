// Package awscw is provider.SignalSource and provider.AlarmSource over Amazon CloudWatch:
// per-version request, 5xx and latency of an ALB target group (AWS/ApplicationELB, by the
// exact TargetGroup + LoadBalancer dimension set) through GetMetricData, and alarms in state
// ALARM through DescribeAlarms. cutover computes ratios from the raw sums itself, so no
// metric math is needed; a window without data is provider.ErrNoData, never zeros.
//
// It must not know deployments or the engine; the SDK client comes from the caller.
package awscw

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider"
)

// API is the part of the CloudWatch client this package uses; *cloudwatch.Client is one.
type API interface {
	GetMetricData(context.Context, *cw.GetMetricDataInput, ...func(*cw.Options)) (*cw.GetMetricDataOutput, error)
	DescribeAlarms(context.Context, *cw.DescribeAlarmsInput, ...func(*cw.Options)) (*cw.DescribeAlarmsOutput, error)
}

// Namespace and metrics of ALB target groups.
const (
	Namespace     = "AWS/ApplicationELB"
	MetricReqs    = "RequestCount"
	Metric5xx     = "HTTPCode_Target_5XX_Count"
	MetricLatency = "TargetResponseTime"
)

// Dimension is the CloudWatch dimension value of an ELBv2 ARN: "targetgroup/name/id" of a
// target group, "app/name/id" of a load balancer.
func Dimension(arn string) string {
	_, res, ok := strings.Cut(arn, ":loadbalancer/")
	if ok {
		return res
	}
	if i := strings.LastIndex(arn, ":"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// Signals is the ALB signal source of one load balancer.
type Signals struct {
	API          API
	LoadBalancer string // the load balancer's ARN
	// TargetGroup returns the ARN of the target group version of app serves from.
	TargetGroup func(ctx context.Context, app, version string) (string, error)
	Period      time.Duration // the metric period; zero is 60 s
	LagD        time.Duration // how late data arrives; zero is 3 min
}

var _ provider.SignalSource = (*Signals)(nil)

func (s *Signals) period() time.Duration {
	if s.Period <= 0 {
		return time.Minute
	}
	return s.Period
}

func (s *Signals) Lag() time.Duration {
	if s.LagD <= 0 {
		return 3 * time.Minute
	}
	return s.LagD
}

func (s *Signals) Window(ctx context.Context, app, version string, from, to time.Time) (provider.Sample, error) {
	if !from.Before(to) {
		return provider.Sample{}, fmt.Errorf("cloudwatch window %s..%s: %w", from, to, provider.ErrInvalid)
	}
	tg, err := s.TargetGroup(ctx, app, version)
	if err != nil {
		return provider.Sample{}, fmt.Errorf("cloudwatch signals of %s %s: %w", app, version, err)
	}
	dims := []types.Dimension{
		{Name: aws.String("TargetGroup"), Value: aws.String(Dimension(tg))},
		{Name: aws.String("LoadBalancer"), Value: aws.String(Dimension(s.LoadBalancer))},
	}
	q := func(id, metric, stat string) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(true), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String(Namespace), MetricName: aws.String(metric), Dimensions: dims},
			Period: aws.Int32(int32(s.period() / time.Second)), Stat: aws.String(stat)}}
	}
	in := &cw.GetMetricDataInput{StartTime: aws.Time(from), EndTime: aws.Time(to), MetricDataQueries: []types.MetricDataQuery{
		q("req", MetricReqs, "Sum"), q("err", Metric5xx, "Sum"), q("lat", MetricLatency, "Average")}}
	sums, points := map[string]float64{}, map[string]int{}
	for {
		out, err := s.API.GetMetricData(ctx, in)
		if err != nil {
			return provider.Sample{}, classify("cloudwatch GetMetricData for "+app+" "+version, err)
		}
		for _, r := range out.MetricDataResults {
			for _, v := range r.Values {
				sums[aws.ToString(r.Id)] += v
				points[aws.ToString(r.Id)]++
			}
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if points["req"] == 0 {
		return provider.Sample{}, fmt.Errorf("cloudwatch %s of %s %s (%s) from %s to %s: %w (no requests reported yet, or the target group serves none)",
			MetricReqs, app, version, Dimension(tg), from.UTC().Format("15:04"), to.UTC().Format("15:04"), provider.ErrNoData)
	}
	out := provider.Sample{Requests: uint64(sums["req"]), Errors: uint64(sums["err"])}
	if n := points["lat"]; n > 0 {
		out.LatencyAvg = time.Duration(sums["lat"] / float64(n) * float64(time.Second))
	}
	periods := float64(to.Sub(from)) / float64(s.period())
	out.Coverage = min(1, float64(points["req"])/max(1, periods))
	return out, nil
}

// Alarms is the CloudWatch alarm source.
type Alarms struct{ API API }

var _ provider.AlarmSource = Alarms{}

// Firing returns those of names in state ALARM, with CloudWatch's state reason.
func (a Alarms) Firing(ctx context.Context, names []string) ([]provider.Alarm, error) {
	var out []provider.Alarm
	for i := 0; i < len(names); i += 100 { // DescribeAlarms takes at most 100 names
		in := &cw.DescribeAlarmsInput{AlarmNames: names[i:min(i+100, len(names))], StateValue: types.StateValueAlarm}
		for {
			res, err := a.API.DescribeAlarms(ctx, in)
			if err != nil {
				return nil, classify("cloudwatch DescribeAlarms", err)
			}
			for _, m := range res.MetricAlarms {
				if m.StateValue != types.StateValueAlarm { // moto ignores the filter beside AlarmNames
					continue
				}
				out = append(out, provider.Alarm{Name: aws.ToString(m.AlarmName), Reason: aws.ToString(m.StateReason), Since: aws.ToTime(m.StateUpdatedTimestamp)})
			}
			for _, m := range res.CompositeAlarms {
				if m.StateValue != types.StateValueAlarm {
					continue
				}
				out = append(out, provider.Alarm{Name: aws.ToString(m.AlarmName), Reason: aws.ToString(m.StateReason), Since: aws.ToTime(m.StateUpdatedTimestamp)})
			}
			if res.NextToken == nil {
				break
			}
			in.NextToken = res.NextToken
		}
	}
	return out, nil
}

func classify(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "Throttling", "ThrottlingException", "LimitExceeded", "LimitExceededException":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrThrottled, ae.ErrorMessage())
		case "AccessDenied", "AccessDeniedException":
			return fmt.Errorf("%s: %w: %s; grant cutover's role this action", what, provider.ErrAccessDenied, ae.ErrorMessage())
		case "InvalidParameterValue", "InvalidParameterCombination", "ValidationError":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrInvalid, ae.ErrorMessage())
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
