package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/deploy"
)

// versionRE is the engine's rule for a version, checked here too so that a malformed one is
// a 400 rather than a refusal of the engine's state.
var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// history0 is an app's deployments, newest first; an unknown app is a 404.
func (s *server) history0(app string) ([]deploy.State, error) {
	if _, err := s.eng.App(app); err != nil {
		return nil, engineError(err, nil)
	}
	hist, err := s.eng.History(app)
	if err != nil {
		return nil, engineError(err, nil)
	}
	return hist, nil
}

func (s *server) deploy(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req api.DeployRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badRequest(`the body must be a JSON DeployRequest like {"version": "v2", "set": {"KEY": "value"}}: ` + err.Error())
	}
	if dec.More() {
		return badRequest("the body must hold one JSON DeployRequest, not more")
	}
	switch {
	case req.Version == "":
		return badRequest(`version is required: {"version": "v2"}`)
	case !versionRE.MatchString(req.Version):
		return badRequest(fmt.Sprintf("version %q: use 1-64 letters, digits, dots, dashes or underscores, like v2 or 1.4.0", req.Version))
	}
	st, err := s.eng.Deploy(r.Context(), r.PathValue("app"), req.Version, req.Set)
	if err != nil {
		return engineError(err, conflict)
	}
	writeJSON(w, http.StatusCreated, toDeployment(st))
	return nil
}

func (s *server) history(w http.ResponseWriter, r *http.Request) error {
	hist, err := s.history0(r.PathValue("app"))
	if err != nil {
		return err
	}
	out := make([]api.Deployment, len(hist))
	for i, st := range hist {
		out[i] = toDeployment(st)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deployment reads one deployment; an unknown ID is a 404 saying where IDs come from.
func (s *server) deployment(id string) (deploy.State, error) {
	st, err := s.eng.Deployment(id)
	if err != nil {
		if e := engineError(err, nil); e != err {
			return st, notFound(fmt.Sprintf("no deployment %q; an app's deployments are listed by GET /api/v1/apps/{app}/deployments", id))
		}
		return st, err
	}
	return st, nil
}

func (s *server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	st, err := s.deployment(r.PathValue("id"))
	if err != nil {
		return err
	}
	evs, err := s.eng.Events(st.ID)
	if err != nil {
		return err
	}
	d := toDeployment(st)
	d.Events = make([]api.Event, len(evs))
	for i, e := range evs {
		d.Events[i] = toEvent(e)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *server) command(w http.ResponseWriter, r *http.Request) error {
	name, cmd := r.PathValue("app"), r.PathValue("command")
	if !slices.Contains(commands, cmd) {
		return notFound(fmt.Sprintf("no command %q; use one of %s", cmd, strings.Join(commands, ", ")))
	}
	info, err := s.eng.App(name)
	if err != nil {
		return engineError(err, nil)
	}
	if info.Active == "" {
		return conflict(fmt.Sprintf("app %s has no deployment in progress to %s", name, cmd))
	}
	// The engine keeps a deployment as active for a moment after its end is recorded, and
	// would queue the command unread; the record is the better judge.
	if st, err := s.deployment(info.Active); err != nil {
		return err
	} else if st.Phase.Terminal() {
		return conflict(fmt.Sprintf("deployment %s of %s has ended (%s); nothing to %s", st.ID, name, st.Phase, cmd))
	}
	if err := s.eng.Command(name, deploy.CommandKind(cmd)); err != nil {
		return engineError(err, conflict)
	}
	// The command is applied asynchronously by the deployment's runner; the answer is the
	// state as it is now.
	st, err := s.deployment(info.Active)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, toDeployment(st))
	return nil
}

func (s *server) rollback(w http.ResponseWriter, r *http.Request) error {
	st, err := s.eng.Rollback(r.Context(), r.PathValue("app"))
	if err != nil {
		return engineError(err, conflict)
	}
	writeJSON(w, http.StatusCreated, toDeployment(st))
	return nil
}

func (s *server) why(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("app")
	hist, err := s.history0(name)
	if err != nil {
		return err
	}
	if len(hist) == 0 {
		return notFound(fmt.Sprintf("app %s has no deployments yet; start one with POST /api/v1/apps/%s/deployments", name, name))
	}
	text, err := s.eng.Why(name)
	if err != nil {
		return engineError(err, nil)
	}
	writeJSON(w, http.StatusOK, api.Why{Deployment: hist[0].ID, Text: text})
	return nil
}

func (s *server) instances(w http.ResponseWriter, r *http.Request) error {
	ins, err := s.eng.Instances(r.Context(), r.PathValue("app"))
	if err != nil {
		return engineError(err, nil)
	}
	out := make([]api.Instance, len(ins))
	for i, in := range ins {
		out[i] = api.Instance{ID: in.ID, Version: in.Version, Addr: in.Addr, Running: in.Running, Healthy: in.Healthy, Reason: in.Reason}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

const (
	defaultLogLines = 100
	maxLogLines     = 10000
)

func (s *server) logs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lines := defaultLogLines
	if v := q.Get("lines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLogLines {
			return badRequest(fmt.Sprintf("lines=%q: give a whole number from 1 to %d", v, maxLogLines))
		}
		lines = n
	}
	ls, err := s.eng.Logs(r.Context(), r.PathValue("app"), q.Get("version"), lines)
	if err != nil {
		return engineError(err, nil)
	}
	out := make([]api.LogLine, len(ls))
	for i, l := range ls {
		out[i] = api.LogLine{Instance: l.Instance, Line: l.Line}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

const defaultWindow = 30 * time.Second

func (s *server) signalsOf(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("app")
	window := defaultWindow
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return badRequest(fmt.Sprintf("window=%q: give a positive duration such as 30s or 5m", v))
		}
		window = d
	}
	if _, err := s.eng.App(name); err != nil {
		return engineError(err, nil)
	}
	if s.signals == nil {
		return errors.New("signals: the server was built without a router")
	}
	sig, ok := s.signals.Signals(name, window)
	if !ok {
		return notFound(fmt.Sprintf("the router has no routes for app %s yet; apply its spec with routes", name))
	}
	writeJSON(w, http.StatusOK, toSignals(sig, window))
	return nil
}
