package spec

import (
	"regexp"
	"strings"
)

// Alarms are CloudWatch alarms whose firing rolls a deployment back at once: CodeDeploy's
// alarm-based rollback. While traffic moves, every analysis interval cutover reads their
// state (DescribeAlarms); an alarm in state ALARM ends the step with the alarm's name and
// CloudWatch's reason, whatever the checks say. Credentials come the usual AWS way (the
// server's environment, shared config and credentials files, an instance or task role).
type Alarms struct {
	// The alarms' names, as in CloudWatch. At most 100.
	//
	// Required.
	// Example: [web-5xx, web-p99]
	Names []string `yaml:"names"`

	// The AWS region of the alarms.
	//
	// Default: the server's AWS_REGION (or its shared config).
	// Example: eu-west-1
	Region string `yaml:"region,omitempty"`

	// A CloudWatch-compatible endpoint to call instead of AWS's (an emulator such as
	// moto_server, a VPC endpoint). It is an outbound call like a webhook: egress.allow
	// applies to it.
	//
	// Default: AWS's endpoint for the region.
	// Example: http://127.0.0.1:5000
	Endpoint string `yaml:"endpoint,omitempty"`
}

var (
	alarmNameRE = bounded(`^[^\x00-\x1f\x7f]+$`, 255)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

func (al *Alarms) validate(c *checker, path string) {
	if len(al.Names) == 0 {
		c.add(path+".names", "required: at least one CloudWatch alarm name, like [web-5xx]")
	}
	if len(al.Names) > 100 {
		c.add(path+".names", "%d alarms, at most 100", len(al.Names))
	}
	seen := map[string]int{}
	for i, n := range al.Names {
		p := index(path+".names", i)
		if !alarmNameRE.MatchString(n) || strings.TrimSpace(n) != n {
			c.add(p, "%q is not a CloudWatch alarm name: 1-255 characters, no control characters or surrounding spaces", clip(n))
		}
		if first, dup := seen[n]; dup {
			c.add(p, "%q is already names[%d]", clip(n), first)
		} else {
			seen[n] = i
		}
	}
	if al.Region != "" && !regionRE.MatchString(al.Region) {
		c.add(path+".region", "%q is not an AWS region, like us-east-1", clip(al.Region))
	}
	if al.Endpoint != "" {
		c.httpURL(path+".endpoint", al.Endpoint)
	}
}
