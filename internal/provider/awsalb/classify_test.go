package awsalb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider"
)

// TestClassifyAWSErrors: throttling is retryable, access denied and not found are
// permanent with what failed and what to do, a timed-out write is an unknown outcome.
func TestClassifyAWSErrors(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "from AWS"} }
	for _, c := range []struct {
		err   error
		write bool
		is    error
		class provider.Class
		says  string
	}{
		{api("Throttling"), true, provider.ErrThrottled, provider.Retryable, "rate"},
		{api("AccessDenied"), false, provider.ErrAccessDenied, provider.Permanent, "grant cutover's role"},
		{api("ListenerNotFound"), false, provider.ErrNotFound, provider.Permanent, "ModifyListener"},
		{api("ValidationError"), false, provider.ErrInvalid, provider.Permanent, "from AWS"},
		{context.DeadlineExceeded, true, provider.ErrUnknownOutcome, provider.Unknown, "may have landed"},
	} {
		err := classify(context.Background(), "alb web: ModifyListener arn", c.err, c.write)
		if !errors.Is(err, c.is) || provider.Classify(err) != c.class {
			t.Errorf("classify(%v) = %v (class %v), want %v class %v", c.err, err, provider.Classify(err), c.is, c.class)
		}
		if c.says != "rate" && !strings.Contains(err.Error(), c.says) {
			t.Errorf("classify(%v) = %q, want it to say %q", c.err, err, c.says)
		}
	}
}
