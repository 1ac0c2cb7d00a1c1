package awsapp

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/cutover/cutover/internal/provider/awsr53"
	"github.com/cutover/cutover/internal/spec"
)

// openRoute53 is traffic.route53's provider; the releases (run.external) are not AWS's to
// run, so there is no group driver here.
func openRoute53(cfg aws.Config, a *spec.App) (App, error) {
	r := a.Traffic.Route53
	p, err := awsr53.New(route53.NewFromConfig(cfg), awsr53.Config{App: a.Name, HostedZoneID: r.Zone, Name: r.Name, TTL: r.TTL.Duration()})
	if err != nil {
		return App{}, err
	}
	return App{Traffic: p}, nil
}
