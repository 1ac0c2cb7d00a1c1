// Package awsec2 is a small EC2 client for the few calls cutover makes (launch templates
// and an image check), in EC2's Query protocol (Action=...&Version=2016-11-15, XML answers)
// and signed with the SDK core's SigV4 signer. It exists because the SDK's service/ec2
// module is too large to compile for four calls.
//
// Errors from EC2 are *APIError, a smithy.APIError with EC2's code ("InvalidAMIID.NotFound"),
// so callers classify them as they do the SDK's. Throttling, 5xx answers and broken
// connections are retried like the SDK's standard retryer does, up to the config's
// RetryMaxAttempts (3 when unset); every call here is safe to repeat.
//
// It must not know cutover's providers or deployments.
package awsec2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// APIVersion is the EC2 Query API version the client speaks.
const APIVersion = "2016-11-15"

// maxBody bounds what the client reads of an answer.
const maxBody = 8 << 20

// Client calls EC2 in one region.
type Client struct {
	cfg      aws.Config
	hc       aws.HTTPClient
	endpoint string
	signer   *v4.Signer
	attempts int
	backoff  time.Duration // the first retry's delay; doubled per attempt
	now      func() time.Time
}

// New returns a client over cfg's region, credentials and BaseEndpoint (default
// https://ec2.REGION.amazonaws.com). hc makes the HTTP calls; nil is cfg.HTTPClient, or a
// client with a 30 s timeout when cfg has none.
func New(cfg aws.Config, hc *http.Client) *Client {
	c := &Client{cfg: cfg, signer: v4.NewSigner(), attempts: cfg.RetryMaxAttempts, backoff: 200 * time.Millisecond, now: time.Now}
	switch {
	case hc != nil:
		c.hc = hc
	case cfg.HTTPClient != nil:
		c.hc = cfg.HTTPClient
	default:
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if c.attempts < 1 {
		c.attempts = 3
	}
	switch {
	case aws.ToString(cfg.BaseEndpoint) != "":
		c.endpoint = strings.TrimRight(aws.ToString(cfg.BaseEndpoint), "/") + "/"
	case strings.HasPrefix(cfg.Region, "cn-"):
		c.endpoint = "https://ec2." + cfg.Region + ".amazonaws.com.cn/"
	default:
		c.endpoint = "https://ec2." + cfg.Region + ".amazonaws.com/"
	}
	return c
}

// APIError is an error answer of EC2.
type APIError struct {
	Action    string
	Status    int // the HTTP status
	Code      string
	Message   string
	RequestID string
}

var _ smithy.APIError = (*APIError)(nil)

func (e *APIError) Error() string {
	return fmt.Sprintf("ec2 %s: api error %s: %s", e.Action, e.Code, e.Message)
}

// ErrorCode is EC2's error code.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage is EC2's message.
func (e *APIError) ErrorMessage() string { return e.Message }

// ErrorFault says whose fault the error is: the server's for a 5xx answer.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.Status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// HTTPStatusCode is the answer's HTTP status.
func (e *APIError) HTTPStatusCode() int { return e.Status }

// NotFound reports whether err is EC2 saying a resource does not exist
// ("InvalidAMIID.NotFound", "InvalidLaunchTemplateName.NotFoundException", ...).
func NotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (strings.HasSuffix(ae.Code, ".NotFound") || strings.HasSuffix(ae.Code, ".NotFoundException"))
}

// Do calls action with params and decodes the XML answer into out (nil to discard it).
// params must not hold Action or Version.
func (c *Client) Do(ctx context.Context, action string, params url.Values, out any) error {
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	form.Set("Action", action)
	form.Set("Version", APIVersion)
	body := form.Encode()
	var err error
	for attempt := 1; ; attempt++ {
		var b []byte
		b, err = c.send(ctx, action, body)
		if err == nil {
			if out == nil {
				return nil
			}
			if err := xml.Unmarshal(b, out); err != nil {
				return fmt.Errorf("ec2 %s: decode the answer: %w", action, err)
			}
			return nil
		}
		if attempt >= c.attempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		d := c.backoff << (attempt - 1)
		d = d/2 + rand.N(d/2+1) // jitter
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// send makes one signed POST of body and returns the answer's bytes or its error.
func (c *Client) send(ctx context.Context, action, body string) ([]byte, error) {
	if c.cfg.Credentials == nil {
		return nil, fmt.Errorf("ec2 %s: no AWS credentials in the config", action)
	}
	if c.cfg.Region == "" {
		return nil, fmt.Errorf("ec2 %s: no AWS region in the config", action)
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("ec2 %s: retrieve credentials: %w", action, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("ec2 %s: %w", action, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "cutover")
	sum := sha256.Sum256([]byte(body))
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", c.cfg.Region, c.now().UTC()); err != nil {
		return nil, fmt.Errorf("ec2 %s: sign: %w", action, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &transportError{action: action, err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &transportError{action: action, err: err}
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	return nil, decodeError(action, resp.StatusCode, b)
}

// decodeError reads EC2's <Response><Errors><Error> answer.
func decodeError(action string, status int, b []byte) error {
	var e struct {
		Errors []struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Errors>Error"`
		RequestID string `xml:"RequestID"`
	}
	ae := &APIError{Action: action, Status: status}
	if xml.Unmarshal(b, &e) == nil && len(e.Errors) > 0 {
		ae.Code, ae.Message, ae.RequestID = e.Errors[0].Code, e.Errors[0].Message, e.RequestID
		return ae
	}
	ae.Code = http.StatusText(status)
	if ae.Code == "" {
		ae.Code = fmt.Sprintf("HTTP%d", status)
	}
	ae.Message = strings.TrimSpace(string(bytes.ToValidUTF8(b[:min(len(b), 200)], nil)))
	return ae
}

// transportError is a call that got no answer: it may have landed.
type transportError struct {
	action string
	err    error
}

func (e *transportError) Error() string { return fmt.Sprintf("ec2 %s: %v", e.action, e.err) }
func (e *transportError) Unwrap() error { return e.err }

// retryable is what the SDK's standard retryer retries: throttling, 5xx, broken connections.
func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Code {
	case "RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled", "InternalError", "Unavailable", "ServiceUnavailable":
		return true
	}
	return ae.Status >= 500
}
