package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cutover/cutover/internal/pipeline/webhook"
)

// HookOutcome is what a push webhook did.
type HookOutcome struct {
	// Status is the HTTP status to answer: 202 when a run was queued (or the push is not
	// for the pipeline's branch), 4xx when the request is refused.
	Status int
	// Run is the run queued for the push, when one was.
	Run *State
	// Message says what happened, for the sender's delivery log.
	Message string
}

// Hook verifies and acts on a push webhook for app: a push to the pipeline's branch of its
// repository queues a run of the pushed commit. A request without the right signature,
// naming another repository, or not a well-formed push is refused and changes nothing.
func (s *Service) Hook(ctx context.Context, app string, h http.Header, body []byte) HookOutcome {
	a, err := s.pipelineOf(app)
	if err != nil {
		return HookOutcome{Status: http.StatusNotFound, Message: err.Error()}
	}
	p := a.Pipeline
	if p.Webhook == nil {
		return HookOutcome{Status: http.StatusNotFound, Message: fmt.Sprintf("app %s takes no webhooks: set pipeline.webhook.secret in its spec", app)}
	}
	push, err := webhook.Parse(h, body, []byte(p.Webhook.Secret))
	switch {
	case errors.Is(err, webhook.ErrSignature):
		return HookOutcome{Status: http.StatusUnauthorized, Message: err.Error()}
	case errors.Is(err, webhook.ErrNotPush):
		return HookOutcome{Status: http.StatusAccepted, Message: "not a push event; nothing to do"}
	case err != nil:
		return HookOutcome{Status: http.StatusBadRequest, Message: err.Error()}
	}
	if !push.For(p.Source.Repo) {
		return HookOutcome{Status: http.StatusUnprocessableEntity,
			Message: fmt.Sprintf("the push is for %v, not for pipeline.source.repo %s of app %s; point the webhook at the right app", push.Repos, p.Source.Repo, app)}
	}
	if push.Branch != p.Source.Branch || push.Deleted {
		return HookOutcome{Status: http.StatusAccepted, Message: fmt.Sprintf("a push to %s; the pipeline deploys %s, nothing to do", push.Ref, p.Source.Branch)}
	}
	st, err := s.Trigger(ctx, app, "webhook", push.After)
	if err != nil {
		return HookOutcome{Status: http.StatusUnprocessableEntity, Message: err.Error()}
	}
	return HookOutcome{Status: http.StatusAccepted, Run: &st, Message: "queued run " + st.ID}
}
