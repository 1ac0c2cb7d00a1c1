package spec

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Duration is a span of time written in YAML as a Go duration string: "500ms", "30s", "5m",
// "1h30m". A bare number is rejected (it has no unit), except 0.
type Duration time.Duration

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String writes d without zero units: "1h", "1m30s", "500ms", "0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2] // "1m0s" -> "1m"
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2] // "1h0m" -> "1h"
	}
	return s
}

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration like \"30s\" or \"5m\", got %s", describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a duration: write a number with a unit, like \"30s\", \"5m\" or \"1h\"", clip(n.Value))
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as its String.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Condition is a comparison with a number, written in YAML as an operator and a number:
// "< 0.05", ">= 100", "== 1". The operators are <, <=, >, >=, == and !=.
type Condition struct {
	// Op is one of <, <=, >, >=, ==, !=.
	Op string
	// Value is the finite number the measured value is compared with.
	Value float64
}

// conditionOps lists the operators, longest first so "<=" is not read as "<".
var conditionOps = []string{"<=", ">=", "==", "!=", "<", ">"}

// ParseCondition reads a condition such as "< 0.05".
func ParseCondition(s string) (Condition, error) {
	t := strings.TrimSpace(s)
	for _, op := range conditionOps {
		if !strings.HasPrefix(t, op) {
			continue
		}
		num := strings.TrimSpace(t[len(op):])
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Condition{}, fmt.Errorf("condition %q: %q is not a finite number", clip(s), clip(num))
		}
		return Condition{Op: op, Value: v}, nil
	}
	return Condition{}, fmt.Errorf("condition %q must be an operator (<, <=, >, >=, ==, !=) and a number, like \"< 0.05\"", clip(s))
}

// Holds reports whether v satisfies the condition. NaN never does.
func (c Condition) Holds(v float64) bool {
	switch c.Op {
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	case ">":
		return v > c.Value
	case ">=":
		return v >= c.Value
	case "==":
		return v == c.Value
	case "!=":
		return v != c.Value && !math.IsNaN(v)
	}
	return false
}

// String writes the condition as it is written in YAML, e.g. "< 0.05".
func (c Condition) String() string {
	if c.Op == "" {
		return ""
	}
	return c.Op + " " + strconv.FormatFloat(c.Value, 'g', -1, 64)
}

// UnmarshalYAML reads a condition string.
func (c *Condition) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a condition like \"< 0.05\", got %s", describe(n))
	}
	v, err := ParseCondition(n.Value)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MarshalYAML writes the condition as its String.
func (c Condition) MarshalYAML() (any, error) { return c.String(), nil }

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	labelRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	envRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hostRE    = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)
	methodRE  = regexp.MustCompile(`^[A-Z]{1,20}$`)
	jsonPath  = regexp.MustCompile(`^[^.]+(\.[^.]+)*$`)
	reserved  = map[string]bool{"PORT": true, "CUTOVER_APP": true, "CUTOVER_VERSION": true}
	nameRules = "lowercase letters, digits and dashes, 1-63 characters, starting and ending with a letter or digit"
)

// hostPort reports unless s is host:port with a port from 1 to 65535 (the host may be empty
// for every interface).
func (c *checker) hostPort(path, s string) {
	if s == "" {
		c.add(path, "required: a listen address like 127.0.0.1:8080")
		return
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		c.add(path, "%q is not host:port, like 127.0.0.1:8080", clip(s))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		c.add(path, "%q: the port must be a number from 1 to 65535", clip(s))
	}
}

// httpURL reports unless s is an absolute http or https URL.
func (c *checker) httpURL(path, s string) {
	if s == "" {
		c.add(path, "required: an absolute http(s) URL")
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add(path, "%q is not an absolute http(s) URL, like https://hooks.example.com/deploy", clip(s))
	}
}

// env reports invalid variable names and names cutover sets itself.
func (c *checker) env(path string, env map[string]string) {
	for _, k := range sortedKeys(env) {
		c.envName(keyPath(path, k), k)
	}
}

// secretEnv reports secret names that are not variables of env.
func (c *checker) secretEnv(path string, names []string, env map[string]string) {
	for i, name := range names {
		if _, ok := env[name]; !ok {
			c.add(index(path, i), "%q is not a variable in env", clip(name))
		}
	}
}

func (c *checker) envName(path, name string) {
	switch {
	case !envRE.MatchString(name):
		c.add(path, "%q is not a valid variable name: letters, digits and _, not starting with a digit", clip(name))
	case reserved[name]:
		c.add(path, "%s is set by cutover for every instance and cannot be overridden", name)
	}
}

// positive reports unless d > 0.
func (c *checker) positive(path string, d Duration) {
	if d <= 0 {
		c.add(path, "must be greater than 0, got %s", d)
	}
}

// between reports unless lo <= v <= hi (false for NaN).
func (c *checker) between(path string, v, lo, hi float64) {
	if !(v >= lo && v <= hi) {
		c.add(path, "must be between %g and %g, got %g", lo, hi, v)
	}
}

// clip shortens a user's value for a message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// ByteSize is an amount of memory in bytes, written in YAML as a whole number with an
// optional unit: "512k", "256m", "1g" (powers of 1024; "256mb", "256MiB" and a "b" suffix
// are read too). A bare number is bytes.
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"t", 40}, {"g", 30}, {"m", 20}, {"k", 10}, {"", 0}}

// ParseByteSize reads a size such as "256m".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "b"), "i")
	for _, u := range sizeUnits {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64>>u.shift {
			break
		}
		return ByteSize(n << u.shift), nil
	}
	return 0, fmt.Errorf("%q is not a size: write a whole number with a unit, like \"256m\" or \"1g\"", clip(s))
}

// String writes the size in the largest unit that holds it exactly: "256m", "1g", "1000".
func (b ByteSize) String() string {
	for _, u := range sizeUnits {
		if u.shift > 0 && b != 0 && b%(1<<u.shift) == 0 {
			return strconv.FormatInt(int64(b)>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// UnmarshalYAML reads a size string or a number of bytes.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a size like \"256m\", got %s", describe(n))
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalYAML writes the size as its String.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

// boundedRE is a regexp with a length limit in characters. Go compiles a {m,n} repetition
// into n copies of its program (a {1,512} costs about 100 KB at every start of the binary,
// the router's included), so long limits are checked on the length instead.
type boundedRE struct {
	re  *regexp.Regexp
	max int
}

func bounded(expr string, max int) boundedRE { return boundedRE{regexp.MustCompile(expr), max} }

// MatchString reports whether s has at most max characters and matches.
func (b boundedRE) MatchString(s string) bool {
	return utf8.RuneCountInString(s) <= b.max && b.re.MatchString(s)
}
