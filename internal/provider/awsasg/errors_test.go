package awsasg

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awsec2"
)

// TestClassifyAWSErrors: throttling and a busy group are retryable, access denied and bad
// requests permanent with what failed and what to do, a write without an answer unknown.
func TestClassifyAWSErrors(t *testing.T) {
	api := func(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }
	for _, c := range []struct {
		err   error
		write bool
		is    error
		class provider.Class
		says  string
	}{
		{api("Throttling", "Rate exceeded"), true, provider.ErrThrottled, provider.Retryable, "Rate exceeded"},
		{api("ScalingActivityInProgress", "Scaling activity in progress"), true, provider.ErrThrottled, provider.Retryable, "retry when its scaling activity ends"},
		{api("ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances"), true, provider.ErrThrottled, provider.Retryable, "busy"},
		{api("AccessDenied", "not authorized to perform autoscaling:CreateAutoScalingGroup"), false, provider.ErrAccessDenied, provider.Permanent, "grant cutover's role"},
		{&awsec2.APIError{Code: "UnauthorizedOperation", Message: "You are not authorized"}, false, provider.ErrAccessDenied, provider.Permanent, "grant cutover's role"},
		{api("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup 'web-v1' not found"), true, provider.ErrNotFound, provider.Permanent, "web-v1"},
		{api("ValidationError", "Max bound, 2, must be greater than or equal to min bound, 3"), true, provider.ErrInvalid, provider.Permanent, "min bound"},
		{api("AlreadyExists", "AutoScalingGroup by this name already exists"), true, provider.ErrUnknownOutcome, provider.Unknown, "adopt"},
		{api("LimitExceeded", "You have reached your quota"), true, nil, provider.Permanent, "quota"},
		{&awsec2.APIError{Code: "InternalError", Status: 500, Message: "oops"}, true, provider.ErrUnknownOutcome, provider.Unknown, "InternalError"},
		{&awsec2.APIError{Code: "InternalError", Status: 500, Message: "oops"}, false, provider.ErrThrottled, provider.Retryable, "InternalError"},
		{context.DeadlineExceeded, true, provider.ErrUnknownOutcome, provider.Unknown, "may have landed"},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, false, provider.ErrThrottled, provider.Retryable, "connection reset"},
		{errors.New("failed to retrieve credentials"), false, nil, provider.Permanent, "credentials"},
	} {
		err := classify(context.Background(), "asg web: SetDesiredCapacity web-v1 to 2", c.err, c.write)
		if (c.is != nil && !errors.Is(err, c.is)) || provider.Classify(err) != c.class {
			t.Errorf("classify(%v) = %v (class %v), want %v class %v", c.err, err, provider.Classify(err), c.is, c.class)
		}
		if !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "SetDesiredCapacity web-v1") {
			t.Errorf("classify(%v) = %q, want it to name the call and say %q", c.err, err, c.says)
		}
	}
	if classify(context.Background(), "x", nil, true) != nil {
		t.Error("classify(nil) is not nil")
	}
}
