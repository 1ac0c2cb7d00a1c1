package awscw

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// NewAlarms is the alarm source of region (empty: the environment's) with credentials found
// the usual AWS way (environment, shared config and credentials files, an instance or task
// role). endpoint, if set, replaces CloudWatch's (an emulator, a VPC endpoint); hc, if set,
// makes the HTTP calls (an egress-restricted client).
func NewAlarms(ctx context.Context, region, endpoint string, hc *http.Client) (Alarms, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if hc != nil {
		opts = append(opts, config.WithHTTPClient(hc))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return Alarms{}, fmt.Errorf("load the AWS config for CloudWatch alarms: %w", err)
	}
	if cfg.Region == "" {
		return Alarms{}, fmt.Errorf("no AWS region for CloudWatch alarms: set analysis.alarms.region or the server's AWS_REGION")
	}
	return Alarms{API: NewClient(cfg, endpoint)}, nil
}

// NewClient is a CloudWatch client over cfg; endpoint, if set, replaces CloudWatch's.
func NewClient(cfg aws.Config, endpoint string) *cw.Client {
	return cw.NewFromConfig(cfg, func(o *cw.Options) {
		if endpoint != "" {
			// Emulators and proxies (moto 5.2.1, for one) speak neither the SDK's default
			// CBOR protocol nor gzip bodies; CloudWatch itself accepts AWS JSON 1.0 too.
			o.BaseEndpoint = aws.String(endpoint)
			o.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801)
			o.DisableRequestCompression = true
		}
	})
}
