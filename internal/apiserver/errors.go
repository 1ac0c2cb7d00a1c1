package apiserver

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// handlerFunc is a route's handler: it writes a success itself and returns any failure,
// which wrap turns into an api.Error answer.
type handlerFunc func(s *server, w http.ResponseWriter, r *http.Request) error

func (s *server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(s, w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError answers err: an *api.Error as it is, anything else as a generic 500 with the
// detail logged.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *api.Error
	if !errors.As(err, &ae) {
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &api.Error{Status: http.StatusInternalServerError, Code: api.CodeInternal,
			Message: "the server failed to complete the request; its log has the detail"}
	}
	writeJSON(w, ae.Status, api.ErrorBody{Error: ae})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to tell it
}

func badRequest(msg string) *api.Error {
	return &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Message: msg}
}

func notFound(msg string) *api.Error {
	return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: msg}
}

func conflict(msg string) *api.Error {
	return &api.Error{Status: http.StatusConflict, Code: api.CodeConflict, Message: msg}
}

// invalidSpec lists every problem of a spec that did not parse.
func invalidSpec(e *spec.Error) *api.Error {
	out := &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalidSpec, Problems: problems(e),
		Message: "the spec is invalid; fix every problem listed and send it again"}
	if len(out.Problems) == 1 {
		out.Message = "the spec is invalid: " + e.Problems[0].String()
	}
	if e.TooLarge {
		out.Status = http.StatusRequestEntityTooLarge
	}
	return out
}

func problems(e *spec.Error) []api.Problem {
	out := make([]api.Problem, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = api.Problem{Path: p.Path, Line: p.Line, Message: p.Message}
	}
	return out
}

// refusal is how an operation answers an engine error that matches no known kind but is the
// engine's own refusal (a leaf error it made itself, worded for the user, like "app web has
// no deployment in progress to approve"). Wrapped errors that match no kind are failures of
// the machinery underneath (the store, the router) and stay internal.
type refusal func(msg string) *api.Error

// engineError maps an engine error to an api.Error by its kind; see refusal for the rest.
func engineError(err error, refuse refusal) error {
	var active *store.ActiveError
	var specErr *spec.Error
	switch {
	case errors.As(err, &specErr):
		return invalidSpec(specErr)
	case errors.As(err, &active):
		return &api.Error{Status: http.StatusConflict, Code: api.CodeDeploymentInProgress, Message: active.Error()}
	case errors.Is(err, engine.ErrNoApp), errors.Is(err, store.ErrNotFound):
		return notFound(err.Error())
	case errors.Is(err, engine.ErrBusy), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrTerminal),
		errors.Is(err, engine.ErrLimit):
		return conflict(err.Error())
	case refuse != nil && errors.Unwrap(err) == nil:
		return refuse(err.Error())
	}
	return err
}
