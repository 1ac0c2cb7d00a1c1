package awsapp

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/spec"
)

// openRoute53 is traffic.route53's provider; the releases (run.external) are not AWS's.
func openRoute53(cfg aws.Config, a *spec.App) (App, error) {
	return App{}, fmt.Errorf("aws: traffic.route53 of %s: not wired yet: %w", a.Name, provider.ErrInvalid)
}
