package awstest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// Env gives this process (and the processes it starts, which inherit its environment)
// moto's test credentials and region, and keeps the machine's own AWS configuration,
// profiles and instance metadata out, until t ends.
func Env(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// CloudWatch is a CloudWatch client for moto: moto 5.2.1 speaks neither the SDK's default
// CBOR protocol nor gzip request bodies, so the tests (never production defaults) pick AWS
// JSON 1.0 and no compression.
func (m *Moto) CloudWatch() *cw.Client {
	return cw.NewFromConfig(m.Config(), func(o *cw.Options) {
		o.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801)
		o.DisableRequestCompression = true
	})
}

// ALB is an application load balancer "cutover-web" in two of moto's default subnets.
type ALB struct {
	ELB     *elb.Client
	ARN     string
	VPC     string
	Subnets []string
}

// LoadBalancer creates the load balancer.
func (m *Moto) LoadBalancer(t *testing.T) ALB { return m.LoadBalancerNamed(t, "cutover-web") }

// LoadBalancerNamed creates a load balancer called name, like LoadBalancer's.
func (m *Moto) LoadBalancerNamed(t *testing.T, name string) ALB {
	t.Helper()
	a := ALB{ELB: elb.NewFromConfig(m.Config())}
	a.VPC, a.Subnets = m.DefaultSubnets(t)
	out, err := a.ELB.CreateLoadBalancer(Ctx(t), &elb.CreateLoadBalancerInput{Name: aws.String(name),
		Type: elbtypes.LoadBalancerTypeEnumApplication, Subnets: a.Subnets})
	if err != nil {
		t.Fatal(err)
	}
	a.ARN = aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
	return a
}

// Weights is what the listener on port forwards, by target group name (by ARN for a
// target group moto no longer has).
func (a ALB) Weights(t *testing.T, port int32) map[string]int32 {
	t.Helper()
	ctx := Ctx(t)
	ls, err := a.ELB.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(a.ARN)})
	if err != nil {
		t.Fatal(err)
	}
	tgs, err := a.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, tg := range tgs.TargetGroups {
		names[aws.ToString(tg.TargetGroupArn)] = aws.ToString(tg.TargetGroupName)
	}
	out := map[string]int32{}
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) != port || len(l.DefaultActions) == 0 || l.DefaultActions[0].ForwardConfig == nil {
			continue
		}
		for _, tg := range l.DefaultActions[0].ForwardConfig.TargetGroups {
			n := names[aws.ToString(tg.TargetGroupArn)]
			if n == "" {
				n = aws.ToString(tg.TargetGroupArn)
			}
			out[n] = aws.ToInt32(tg.Weight)
		}
	}
	return out
}
