package spec

import "time"

// Check is one measurement with its limit. Set exactly one of error_rate, latency,
// request_rate and external.
type Check struct {
	// The check's name, unique in the analysis, shown with its verdicts.
	//
	// Required.
	// Example: errors
	Name string `yaml:"name"`

	// The share of green's requests that failed (a 5xx status or no answer from the
	// instance), in percent.
	//
	// Default: unset.
	// Example: {max: 1, vs_blue_margin: 0.5}
	ErrorRate *ErrorRateCheck `yaml:"error_rate,omitempty"`

	// A latency quantile of green's requests, from the router's view.
	//
	// Default: unset.
	// Example: {quantile: 0.99, max: 500ms}
	Latency *LatencyCheck `yaml:"latency,omitempty"`

	// Green's request rate, in requests per second: too little traffic means something
	// in front of green is wrong.
	//
	// Default: unset.
	// Example: {min: 1}
	RequestRate *RequestRateCheck `yaml:"request_rate,omitempty"`

	// A number read from another system over HTTP, such as a Prometheus query.
	//
	// Default: unset.
	// Example: {url: "http://127.0.0.1:9090/api/v1/query?query=up", json_path: data.result.0.value.1, condition: "== 1"}
	External *ExternalCheck `yaml:"external,omitempty"`

	// Green's target group as the load balancer reports it to CloudWatch
	// (AWS/ApplicationELB), for apps behind traffic.alb: its target 5xx rate or its mean
	// response time over the analysis window (at least one minute), cutover computing the
	// ratio from the raw sums.
	//
	// Default: unset.
	// Example: {max_error_rate: 1, lag: 2m}
	CloudWatch *CloudWatchCheck `yaml:"cloudwatch,omitempty"`
}

// CloudWatchCheck judges green's target group by the load balancer's own metrics: set
// exactly one of max_error_rate and max_latency. Too few requests, or no data yet, is
// inconclusive, never a pass.
type CloudWatchCheck struct {
	// The highest share of green's requests its targets answered with a 5xx
	// (HTTPCode_Target_5XX_Count over RequestCount), in percent, from 0 to 100.
	//
	// Default: unset.
	// Example: 1
	MaxErrorRate *float64 `yaml:"max_error_rate,omitempty"`

	// The highest mean target response time (TargetResponseTime's average) that passes.
	//
	// Default: unset.
	// Example: 300ms
	MaxLatency Duration `yaml:"max_latency,omitempty"`

	// How late the load balancer's metrics arrive in CloudWatch: the window judged ends
	// this long ago. At most 15m.
	//
	// Default: 3m.
	// Example: 90s
	Lag Duration `yaml:"lag,omitempty" spec:"nonzero"`
}

// DefaultCloudWatchLag is how late ALB metrics are taken to arrive when a check gives no lag.
const DefaultCloudWatchLag = Duration(3 * time.Minute)

// ErrorRateCheck fails when green's error rate is above max, or above blue's by more than
// vs_blue_margin. At least one of them is set.
type ErrorRateCheck struct {
	// The highest error rate that passes, in percent, from 0 to 100.
	//
	// Default: 1 when vs_blue_margin is not set.
	// Example: 0.5
	Max *float64 `yaml:"max,omitempty"`

	// Compare with blue over the same window: green passes while its error rate is at most
	// blue's plus this many percentage points, from 0 to 100.
	//
	// Default: no comparison.
	// Example: 0.5
	VsBlueMargin *float64 `yaml:"vs_blue_margin,omitempty"`
}

// LatencyCheck fails when green's latency is above max or, with vs_blue, worse than blue's.
// At least one of max and vs_blue is set.
type LatencyCheck struct {
	// The quantile compared with max and, with vs_blue: ratio, with blue's: more than 0 and
	// less than 1 (0.99 is the 99th percentile).
	//
	// Default: 0.99.
	// Example: 0.95
	Quantile float64 `yaml:"quantile,omitempty" spec:"nonzero"`

	// The highest latency at quantile that passes.
	//
	// Default: no limit.
	// Example: 500ms
	Max Duration `yaml:"max,omitempty"`

	// Compare green with blue over the same window: ratio fails when green's quantile is
	// more than ratio times blue's; mann_whitney fails when a Mann-Whitney U test finds
	// green's latencies significantly higher than blue's (at level alpha).
	//
	// Default: no comparison.
	// Example: mann_whitney
	VsBlue string `yaml:"vs_blue,omitempty"`

	// With vs_blue: ratio, the largest green/blue quotient that passes, at least 1.
	//
	// Default: 1.5 with vs_blue: ratio.
	// Example: 1.2
	Ratio float64 `yaml:"ratio,omitempty"`

	// With vs_blue: mann_whitney, the significance level: more than 0, at most 0.5.
	//
	// Default: 0.05 with vs_blue: mann_whitney.
	// Example: 0.01
	Alpha float64 `yaml:"alpha,omitempty"`
}

// The comparisons LatencyCheck.VsBlue accepts.
const (
	VsBlueRatio       = "ratio"
	VsBlueMannWhitney = "mann_whitney"
)

// RequestRateCheck fails when green serves fewer requests per second than min.
type RequestRateCheck struct {
	// The lowest rate that passes, in requests per second; more than 0.
	//
	// Required.
	// Example: 0.5
	Min float64 `yaml:"min"`
}

// ExternalCheck GETs url, reads a number from the JSON answer at json_path and passes when
// condition holds. A failed request, a missing value or a value that is not a number makes the
// check inconclusive.
type ExternalCheck struct {
	// The absolute http(s) URL to GET.
	//
	// Required.
	// Example: "http://127.0.0.1:9090/api/v1/query?query=rate(errors[1m])"
	URL string `yaml:"url"`

	// Where the number is in the JSON answer: object keys and list indexes joined by dots. A
	// string holding a number (as Prometheus returns) counts as a number.
	//
	// Default: the whole answer is the number.
	// Example: data.result.0.value.1
	JSONPath string `yaml:"json_path,omitempty"`

	// When the value passes: an operator (<, <=, >, >=, ==, !=) and a number.
	//
	// Required.
	// Example: "< 0.05"
	Condition Condition `yaml:"condition"`

	// How long the request may take; at most analysis.interval.
	//
	// Default: 5s, or analysis.interval if that is shorter.
	// Example: 2s
	Timeout Duration `yaml:"timeout,omitempty" spec:"nonzero"`
}

func (ch *Check) validate(c *checker, path string, interval Duration) {
	if !labelRE.MatchString(ch.Name) {
		c.add(path+".name", "required: a name of letters, digits, dots, dashes and underscores, 1-63 characters")
	}
	c.exactlyOne(path, checkKinds, []bool{ch.ErrorRate != nil, ch.Latency != nil, ch.RequestRate != nil, ch.External != nil, ch.CloudWatch != nil})
	if w := ch.CloudWatch; w != nil {
		p := path + ".cloudwatch"
		switch {
		case w.MaxErrorRate == nil && w.MaxLatency == 0:
			c.add(p, "set max_error_rate (percent) or max_latency (a duration)")
		case w.MaxErrorRate != nil && w.MaxLatency != 0:
			c.add(p, "set one of max_error_rate and max_latency: make two checks to judge both")
		case w.MaxErrorRate != nil:
			c.between(p+".max_error_rate", *w.MaxErrorRate, 0, 100)
		case w.MaxLatency < 0:
			c.add(p+".max_latency", "must not be negative, got %s", w.MaxLatency)
		}
		c.positive(p+".lag", w.Lag)
		if w.Lag > Duration(15*time.Minute) {
			c.add(p+".lag", "%s is more than 15m: CloudWatch's ALB metrics arrive within minutes", w.Lag)
		}
	}
	if e := ch.ErrorRate; e != nil {
		if e.Max == nil && e.VsBlueMargin == nil {
			c.add(path+".error_rate", "set max, vs_blue_margin or both")
		}
		if e.Max != nil {
			c.between(path+".error_rate.max", *e.Max, 0, 100)
		}
		if e.VsBlueMargin != nil {
			c.between(path+".error_rate.vs_blue_margin", *e.VsBlueMargin, 0, 100)
		}
	}
	if l := ch.Latency; l != nil {
		l.validate(c, path+".latency")
	}
	if r := ch.RequestRate; r != nil && !(r.Min > 0 && r.Min < 1e9) {
		c.add(path+".request_rate.min", "must be more than 0 requests per second, got %g", r.Min)
	}
	if x := ch.External; x != nil {
		p := path + ".external"
		c.httpURL(p+".url", x.URL)
		if x.JSONPath != "" && !jsonPath.MatchString(x.JSONPath) {
			c.add(p+".json_path", "%q is not keys and indexes joined by dots, like data.result.0.value.1", clip(x.JSONPath))
		}
		if x.Condition.Op == "" {
			c.add(p+".condition", "required: an operator and a number, like \"< 0.05\"")
		}
		c.positive(p+".timeout", x.Timeout)
		if x.Timeout > interval {
			c.add(p+".timeout", "%s is longer than analysis.interval (%s)", x.Timeout, interval)
		}
	}
}

func (l *LatencyCheck) validate(c *checker, path string) {
	if !(l.Quantile > 0 && l.Quantile < 1) {
		c.add(path+".quantile", "must be more than 0 and less than 1, got %g", l.Quantile)
	}
	if l.Max < 0 {
		c.add(path+".max", "must not be negative, got %s", l.Max)
	}
	switch l.VsBlue {
	case "":
		if l.Max == 0 {
			c.add(path, "set max, vs_blue or both")
		}
	case VsBlueRatio, VsBlueMannWhitney:
	default:
		c.add(path+".vs_blue", "%q is not a comparison; use %s or %s", clip(l.VsBlue), VsBlueMannWhitney, VsBlueRatio)
	}
	if l.Ratio != 0 && l.VsBlue != VsBlueRatio {
		c.add(path+".ratio", "applies only with vs_blue: ratio")
	} else if l.VsBlue == VsBlueRatio && !(l.Ratio >= 1 && l.Ratio <= 1000) {
		c.add(path+".ratio", "must be between 1 and 1000, got %g", l.Ratio)
	}
	if l.Alpha != 0 && l.VsBlue != VsBlueMannWhitney {
		c.add(path+".alpha", "applies only with vs_blue: mann_whitney")
	} else if l.VsBlue == VsBlueMannWhitney && !(l.Alpha > 0 && l.Alpha <= 0.5) {
		c.add(path+".alpha", "must be more than 0 and at most 0.5, got %g", l.Alpha)
	}
}
