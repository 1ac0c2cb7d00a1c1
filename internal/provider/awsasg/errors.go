package awsasg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider"
)

// classify wraps err from Auto Scaling or EC2 with what failed, a provider error class and
// what to do; nil stays nil. A write that got no answer may have landed: its outcome is
// unknown.
func classify(ctx context.Context, what string, err error, write bool) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg := ae.ErrorCode(), ae.ErrorMessage()
		switch {
		case code == "Throttling" || code == "ThrottlingException" || code == "RequestLimitExceeded" || code == "TooManyRequestsException":
			return fmt.Errorf("%s: %w: %s", what, provider.ErrThrottled, msg)
		case code == "ScalingActivityInProgress" || code == "ResourceInUse" || code == "ResourceContention":
			return fmt.Errorf("%s: %w: the group is busy (%s: %s); retry when its scaling activity ends", what, provider.ErrThrottled, code, msg)
		case code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation" || code == "AuthFailure":
			return fmt.Errorf("%s: %w: %s; grant cutover's role this action", what, provider.ErrAccessDenied, msg)
		case strings.Contains(code, "AlreadyExists"):
			return fmt.Errorf("%s: %w: %s; an earlier attempt or another cutover made it: ensure the release again to adopt it", what, provider.ErrUnknownOutcome, msg)
		case code == "ValidationError" && strings.Contains(msg, "not found"),
			strings.HasSuffix(code, ".NotFound"), strings.HasSuffix(code, ".NotFoundException"):
			return fmt.Errorf("%s: %w: %s", what, provider.ErrNotFound, msg)
		case code == "ValidationError" || code == "MissingParameter" || strings.HasPrefix(code, "InvalidParameter") || strings.HasSuffix(code, ".Malformed"):
			return fmt.Errorf("%s: %w: %s", what, provider.ErrInvalid, msg)
		case code == "LimitExceeded":
			return fmt.Errorf("%s: %s: %s; raise the account's Auto Scaling quota or retire old groups", what, code, msg)
		case ae.ErrorFault() == smithy.FaultServer || code == "InternalFailure" || code == "ServiceUnavailable":
			if write {
				return fmt.Errorf("%s: %w: AWS answered %s: %s", what, provider.ErrUnknownOutcome, code, msg)
			}
			return fmt.Errorf("%s: %w: AWS answered %s: %s", what, provider.ErrThrottled, code, msg)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if write {
			return fmt.Errorf("%s: %w: %v", what, provider.ErrUnknownOutcome, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		// No answer after the client's retries: a read can be retried, a write may have landed.
		if write {
			return fmt.Errorf("%s: %w: %v", what, provider.ErrUnknownOutcome, err)
		}
		return fmt.Errorf("%s: %w: %v", what, provider.ErrThrottled, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
