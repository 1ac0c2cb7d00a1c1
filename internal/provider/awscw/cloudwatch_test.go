package awscw

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/provider/providertest"
)

const (
	lbARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/cutover-web/50dc6c495c0c9188"
)

func tgOf(_ context.Context, _, version string) (string, error) {
	return "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-" + version + "/73e2d6bc24d8a067", nil
}

func TestDimension(t *testing.T) {
	if got := Dimension(lbARN); got != "app/cutover-web/50dc6c495c0c9188" {
		t.Errorf("load balancer dimension %q", got)
	}
	tg, _ := tgOf(context.Background(), "web", "v1")
	if got := Dimension(tg); got != "targetgroup/web-v1/73e2d6bc24d8a067" {
		t.Errorf("target group dimension %q", got)
	}
}

// TestSignalsContract: GetMetricData against moto sums a version's target group only and
// reports no data as ErrNoData.
func TestSignalsContract(t *testing.T) {
	m := awstest.Start(t)
	api := m.CloudWatch()
	base := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	providertest.RunSignals(t, providertest.SignalHarness{
		New: func(t *testing.T) provider.SignalSource {
			m.Reset(t)
			return &Signals{API: api, LoadBalancer: lbARN, TargetGroup: tgOf}
		},
		Record: func(t *testing.T, version string, at time.Time, reqs, errs uint64) {
			tg, _ := tgOf(context.Background(), "web", version)
			dims := []types.Dimension{{Name: aws.String("TargetGroup"), Value: aws.String(Dimension(tg))},
				{Name: aws.String("LoadBalancer"), Value: aws.String(Dimension(lbARN))}}
			_, err := api.PutMetricData(context.Background(), &cw.PutMetricDataInput{Namespace: aws.String(Namespace), MetricData: []types.MetricDatum{
				{MetricName: aws.String(MetricReqs), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(float64(reqs)), Unit: types.StandardUnitCount},
				{MetricName: aws.String(Metric5xx), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(float64(errs)), Unit: types.StandardUnitCount},
			}})
			if err != nil {
				t.Fatalf("PutMetricData: %v", err)
			}
		},
		Base: base,
	})
}

// TestAlarmsContract: DescribeAlarms in state ALARM against moto, alarms driven with
// SetAlarmState (moto never evaluates them).
func TestAlarmsContract(t *testing.T) {
	m := awstest.Start(t)
	api := m.CloudWatch()
	providertest.RunAlarms(t, providertest.AlarmHarness{
		New: func(t *testing.T) provider.AlarmSource {
			m.Reset(t)
			for _, n := range []string{"a-5xx", "a-latency"} {
				if _, err := api.PutMetricAlarm(context.Background(), &cw.PutMetricAlarmInput{
					AlarmName: aws.String(n), Namespace: aws.String(Namespace), MetricName: aws.String(Metric5xx),
					Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5),
					ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
				}); err != nil {
					t.Fatalf("PutMetricAlarm %s: %v", n, err)
				}
			}
			return Alarms{API: api}
		},
		Set: func(t *testing.T, name string, firing bool, reason string) {
			state := types.StateValueOk
			if firing {
				state = types.StateValueAlarm
			}
			if _, err := api.SetAlarmState(context.Background(), &cw.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: state, StateReason: aws.String(reason)}); err != nil {
				t.Fatalf("SetAlarmState %s: %v", name, err)
			}
		},
	})
}
