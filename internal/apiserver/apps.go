package apiserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/spec"
)

// maxBody bounds every request body; a spec may be as large as spec.MaxSize.
const maxBody = spec.MaxSize

// readBody reads the whole body, refusing more than maxBody with 413.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &api.Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeBadRequest,
			Message: fmt.Sprintf("the request body is larger than %d bytes; send less", maxBody)}
	}
	if err != nil {
		return nil, badRequest("read the request body: " + err.Error())
	}
	return data, nil
}

// parseSpec reads a YAML spec from the body; an invalid one is an *spec.Error.
func parseSpec(w http.ResponseWriter, r *http.Request) (*spec.App, error) {
	data, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	return spec.Parse(bytes.NewReader(data))
}

// toApp is an app as the API shows it: its spec with secret values masked (spec.Redacted).
func toApp(info engine.AppInfo) (api.App, error) {
	data, err := info.Spec.Redacted().Marshal()
	if err != nil {
		return api.App{}, fmt.Errorf("marshal the spec of %s: %w", info.Name, err)
	}
	return api.App{Name: info.Name, Spec: string(data), Blue: info.Blue, Active: info.Active}, nil
}

func (s *server) listApps(w http.ResponseWriter, _ *http.Request) error {
	infos, err := s.eng.Apps()
	if err != nil {
		return err
	}
	out := make([]api.App, 0, len(infos))
	for _, info := range infos {
		a, err := toApp(info)
		if err != nil {
			return err
		}
		out = append(out, a)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) getApp(w http.ResponseWriter, r *http.Request) error {
	info, err := s.eng.App(r.PathValue("app"))
	if err != nil {
		return engineError(err, nil)
	}
	a, err := toApp(info)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *server) putApp(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("app")
	a, err := parseSpec(w, r)
	var specErr *spec.Error
	if errors.As(err, &specErr) {
		return invalidSpec(specErr)
	}
	if err != nil {
		return err
	}
	if a.Name != name {
		return badRequest(fmt.Sprintf("the spec says app: %s but the URL names %q; make them the same (PUT /api/v1/apps/%s)", a.Name, name, a.Name))
	}
	// The engine refuses a spec the router cannot serve (a listener in use, say) with a
	// message worded for the user: that is a conflict with the machine's state.
	if err := s.eng.Apply(a); err != nil {
		s.log.Warn("apply refused", "app", name, "err", err)
		if e := engineError(err, nil); e != err {
			return e
		}
		return conflict(err.Error())
	}
	return s.getApp(w, r)
}

func (s *server) validate(w http.ResponseWriter, r *http.Request) error {
	a, err := parseSpec(w, r)
	var specErr *spec.Error
	switch {
	case errors.As(err, &specErr) && specErr.TooLarge:
		return invalidSpec(specErr) // 413: too large to judge, like a body over maxBody
	case errors.As(err, &specErr):
		writeJSON(w, http.StatusOK, api.Validation{Valid: false, Problems: problems(specErr)})
	case err != nil:
		return err
	default:
		writeJSON(w, http.StatusOK, api.Validation{Valid: true, App: a.Name})
	}
	return nil
}

func (s *server) deleteApp(w http.ResponseWriter, r *http.Request) error {
	if err := s.eng.Delete(r.Context(), r.PathValue("app")); err != nil {
		return engineError(err, conflict)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// releases lists an app's releases. The engine offers no release listing, so they are
// derived from its deployments: every version deployed, numbered in the order it was
// first deployed (which is the order the engine created the releases in).
func (s *server) releases(w http.ResponseWriter, r *http.Request) error {
	rels, err := s.eng.Releases(r.PathValue("app"))
	if err != nil {
		return err
	}
	out := make([]api.Release, 0, len(rels))
	for _, rel := range rels {
		out = append(out, api.Release{Number: rel.Number, Version: rel.Version, CreatedAt: rel.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
