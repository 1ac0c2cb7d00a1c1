package engine

import (
	"slices"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/spec"
)

// masker masks the secret values of app's current spec and of the given releases in text
// cutover records or shows: hook output, instances' log lines, failure reasons. Output can
// only come from a release that ran, but its spec may have been applied since, so both are
// searched. Versions that are "" or unknown are skipped.
func (e *Engine) masker(app string, versions ...string) spec.Masker {
	var specs []*spec.App
	if a, err := e.currentSpec(app); err == nil {
		specs = append(specs, a)
	}
	for _, v := range versions {
		if v == "" {
			continue
		}
		if a, err := e.releaseSpec(app, v); err == nil {
			specs = append(specs, a)
		}
	}
	return spec.NewMasker(specs...)
}

// maskState masks what a deployment's record says in words: its reason, its evidence and
// its events. The sources mask their output already (a hook's, an instance's); this is the
// last guard before anything is stored or published. s and events are not changed.
func maskState(m spec.Masker, s deploy.State, events []deploy.Event) (deploy.State, []deploy.Event) {
	s.Reason = m.Mask(s.Reason)
	if s.Evidence != nil {
		s.Evidence = slices.Clone(s.Evidence)
		for i := range s.Evidence {
			s.Evidence[i] = m.Mask(s.Evidence[i])
		}
	}
	out := make([]deploy.Event, len(events))
	for i, ev := range events {
		ev.Message = m.Mask(ev.Message)
		out[i] = ev
	}
	return s, out
}

// maskedError is an error whose text has secrets masked; errors.Is and errors.As still see
// the original chain.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// maskError masks err's text, or returns err as it is when it holds no secret.
func maskError(m spec.Masker, err error) error {
	if err == nil {
		return nil
	}
	msg := m.Mask(err.Error())
	if msg == err.Error() {
		return err
	}
	return &maskedError{msg: msg, err: err}
}
