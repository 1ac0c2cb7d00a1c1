package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// External checks a number from another metrics system, typically a Prometheus instant
// query: GET URL, read one number out of the JSON response at JSONPath, and compare it with
// Value using Op. Fetcher evaluates it; Evaluate cannot, since it does no I/O.
//
// Anything that keeps the number from being read (a transport error, a timeout, a non-2xx
// status, a body that is not JSON, a missing path, a leaf that is not a number, NaN or an
// infinity as Prometheus returns for 0/0) is inconclusive with the error as evidence, never
// a pass. The comparison itself is exact: == means bit-for-bit equal floats.
type External struct {
	// URL is fetched with GET, e.g.
	// "http://prometheus:9090/api/v1/query?query=sum(rate(errors[1m]))". Evidence names it
	// without its query string and password, which may hold secrets.
	URL string
	// JSONPath is a dot-separated path to the number in the response, e.g.
	// "data.result.0.value.1": a segment indexes an object by key, or an array when the
	// value there is an array and the segment a number. Empty means the whole document.
	// The leaf is a JSON number or a string holding one, as Prometheus sends sample values.
	JSONPath string
	// Op compares the fetched number (left) with Value (right): <, <=, >, >=, == or !=.
	Op string
	// Value is the right-hand side of the comparison.
	Value float64
	// Timeout bounds the whole request, body included. 0 means 10 seconds.
	Timeout time.Duration
}

// defaultTimeout is External.Timeout's zero value; maxBody caps the response read.
const (
	defaultTimeout = 10 * time.Second
	maxBody        = 4 << 20
)

// Fetcher evaluates External checks over HTTP. It is the package's only effect; what it
// fetches is judged by the same pure rules as everything else.
type Fetcher struct {
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
}

// Evaluate fetches c.External.URL, bounded by its Timeout and by ctx, and judges the number
// found at JSONPath. A check that is not External, or is invalid, is inconclusive.
func (f Fetcher) Evaluate(ctx context.Context, c Check) Result {
	if err := c.Validate(); err != nil {
		return inconclusive(c, "invalid check: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	x := c.External
	if x == nil {
		return inconclusive(c, "check %q judges router signals: evaluate it with analysis.Evaluate", c.Name)
	}
	body, err := f.fetch(ctx, *x)
	if err != nil {
		return inconclusive(c, "%v", err)
	}
	return judgeExternal(c, *x, body)
}

// fetch performs the GET and returns the body of a 2xx response.
func (f Fetcher) fetch(ctx context.Context, x External) ([]byte, error) {
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	timeout := x.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	what := "GET " + redact(x.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, x.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: no response within the %s timeout", what, timeout)
		}
		// The url.Error repeats the full URL; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the response: %w", what, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%s: HTTP %s", what, resp.Status)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%s: response larger than %d bytes", what, maxBody)
	}
	return body, nil
}

// judgeExternal reads the number at x.JSONPath in body and compares it: Pass or Fail when
// the number could be read, Inconclusive with the reason otherwise. It is pure.
func judgeExternal(c Check, x External, body []byte) Result {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return inconclusive(c, "response from %s is not JSON: %v", redact(x.URL), err)
	}
	v, err := lookupNumber(doc, x.JSONPath)
	if err != nil {
		return inconclusive(c, "response from %s: %v", redact(x.URL), err)
	}
	subject := c.Name
	if subject == "" {
		subject = "external value"
	}
	r := Result{Check: c.Name, Verdict: Fail, Value: v}
	if compare(v, x.Op, x.Value) {
		r.Verdict = Pass
		r.Evidence = fmt.Sprintf("%s is %s %s %s", subject, fmtExact(v), x.Op, fmtExact(x.Value))
	} else {
		r.Evidence = fmt.Sprintf("%s is %s, not %s %s", subject, fmtExact(v), x.Op, fmtExact(x.Value))
	}
	return r
}

// lookupNumber follows a dot path through a document decoded with UseNumber and returns the
// finite number at its end.
func lookupNumber(doc any, path string) (float64, error) {
	cur := doc
	if path != "" {
		segs := strings.Split(path, ".")
		for i, seg := range segs {
			at := "the top level"
			if i > 0 {
				at = strings.Join(segs[:i], ".")
			}
			switch node := cur.(type) {
			case map[string]any:
				next, ok := node[seg]
				if !ok {
					return 0, fmt.Errorf("path %q: no key %q at %s", path, seg, at)
				}
				cur = next
			case []any:
				n, err := strconv.Atoi(seg)
				if err != nil || n < 0 || n >= len(node) {
					return 0, fmt.Errorf("path %q: no index %q in the array of %d at %s", path, seg, len(node), at)
				}
				cur = node[n]
			default:
				return 0, fmt.Errorf("path %q: %s is %s, not an object or array", path, at, jsonKind(cur))
			}
		}
	}
	var s string
	switch leaf := cur.(type) {
	case json.Number:
		s = leaf.String()
	case string:
		s = leaf
	default:
		return 0, fmt.Errorf("path %q: found %s, want a number", path, jsonKind(cur))
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("path %q: %q is not a number", path, s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("path %q: the value is %s, which happens when there is no data", path, s)
	}
	return v, nil
}

// compare applies op to v and limit.
func compare(v float64, op string, limit float64) bool {
	switch op {
	case "<":
		return v < limit
	case "<=":
		return v <= limit
	case ">":
		return v > limit
	case ">=":
		return v >= limit
	case "==":
		return v == limit
	case "!=":
		return v != limit
	}
	return false // Validate rejects any other op.
}

func (x *External) validate() []error {
	var errs []error
	if u, err := url.Parse(x.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("external.url: must be an http or https URL, got %q", redact(x.URL)))
	}
	switch x.Op {
	case "<", "<=", ">", ">=", "==", "!=":
	default:
		errs = append(errs, fmt.Errorf("external.op: must be one of < <= > >= == !=, got %q", x.Op))
	}
	if math.IsNaN(x.Value) || math.IsInf(x.Value, 0) {
		errs = append(errs, fmt.Errorf("external.value: must be a finite number, got %v", x.Value))
	}
	if x.Timeout < 0 {
		errs = append(errs, fmt.Errorf("external.timeout: must not be negative, got %v", x.Timeout))
	}
	return errs
}

// redact returns raw without its query string, fragment and password, for evidence.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the external URL"
	}
	u.RawQuery, u.Fragment, u.ForceQuery = "", "", false
	return u.Redacted()
}

// jsonKind names the JSON type of a decoded value for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// fmtExact formats a number for evidence without losing digits: 0.02, 1e-05, 1700000000.
func fmtExact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
