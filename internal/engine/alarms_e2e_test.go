package engine

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awscw"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/spec"
)

// TestE2ECloudWatchAlarmRollsBack is CodeDeploy's alarm rollback against a real moto_server:
// a canary held at 20% reads the alarm each interval (OK: "none in ALARM" in the evidence);
// the alarm set to ALARM rolls the deployment back at once, naming the alarm and
// CloudWatch's reason, though the router's own checks pass.
func TestE2ECloudWatchAlarmRollsBack(t *testing.T) {
	m := awstest.Start(t)
	awstest.Env(t)
	admin := m.CloudWatch()
	ctx := awstest.Ctx(t)
	if _, err := admin.PutMetricAlarm(ctx, &cw.PutMetricAlarmInput{AlarmName: aws.String("web-5xx"), Namespace: aws.String("AWS/ApplicationELB"),
		MetricName: aws.String("HTTPCode_Target_5XX_Count"), Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(10), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatalf("create the alarm in moto: %v", err)
	}

	r := baseline(t, "")
	r.close()
	r.alarms = func(ctx context.Context, al spec.Alarms, hc *http.Client) (provider.AlarmSource, error) {
		return awscw.NewAlarms(ctx, al.Region, al.Endpoint, hc)
	}
	r.open()
	r.apply(r.specText(`
strategy:
  canary:
    steps:
      - {weight: 20, pause: 10m}
analysis:
  interval: 300ms
  window: 1s
  min_requests: 5
  failure_limit: 3
  checks: [{name: errors, error_rate: {max: 50}}]
  alarms: {names: [web-5xx], endpoint: "` + m.URL + `"}
`))
	l := startLoad(t, r.url, 2)
	s, err := r.eng.Deploy(context.Background(), "web", "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, s.ID, func(s deploy.State) bool {
		return s.Phase == deploy.PhaseShifting && strings.Contains(strings.Join(s.Evidence, "; "), "alarms: none of 1 alarm(s) in ALARM")
	})
	if _, err := admin.SetAlarmState(ctx, &cw.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: types.StateValueAlarm,
		StateReason: aws.String("Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (10.0)")}); err != nil {
		t.Fatal(err)
	}
	s = r.wait(s.ID)
	l.end()
	if s.Phase != deploy.PhaseRolledBack || !strings.Contains(s.Reason, "alarm web-5xx is in ALARM: Threshold Crossed: 1 datapoint [42.0]") {
		t.Fatalf("after the alarm fired: %s: %q, want rolled back naming the alarm and its reason", s.Phase, s.Reason)
	}
	if got := r.servedBy(); got != "v1" {
		t.Errorf("served by %s after the rollback, want v1", got)
	}
}
