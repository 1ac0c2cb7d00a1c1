package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/pipeline"
	"github.com/cutover/cutover/internal/pipeline/webhook"
)

// Pipelines is what the API needs of the pipeline runner; *pipeline.Service satisfies it.
type Pipelines interface {
	Trigger(ctx context.Context, app, trigger, rev string) (pipeline.State, error)
	Approve(app string) error
	Run(id string) (pipeline.State, error)
	Runs(app string, limit int) ([]pipeline.State, error)
	Hook(ctx context.Context, app string, h http.Header, body []byte) pipeline.HookOutcome
}

// Logs is the optional part of Pipelines that reads a stage's log file.
type stageLogs interface {
	LogPath(app, run, stage string) string
}

var _ Pipelines = (*pipeline.Service)(nil)

// defaultRunLimit is how many runs GET .../pipeline/runs answers without ?limit.
const defaultRunLimit = 50

func (s *server) pipelines() (Pipelines, error) {
	if s.pipes == nil {
		return nil, notFound("this server runs no pipelines")
	}
	return s.pipes, nil
}

func pipelineError(err error) error {
	switch {
	case errors.Is(err, pipeline.ErrNoPipeline):
		return notFound(err.Error())
	case errors.Is(err, pipeline.ErrInvalid):
		return badRequest(err.Error())
	}
	return engineError(err, conflict)
}

func (s *server) pipelineRuns(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pipelines()
	if err != nil {
		return err
	}
	app := r.PathValue("app")
	if _, err := s.eng.App(app); err != nil {
		return engineError(err, nil)
	}
	limit := defaultRunLimit
	if q := r.URL.Query().Get("limit"); q != "" {
		if limit, err = strconv.Atoi(q); err != nil || limit < 1 || limit > 1000 {
			return badRequest(fmt.Sprintf("limit %q: give a number from 1 to 1000", q))
		}
	}
	runs, err := p.Runs(app, limit)
	if err != nil {
		return pipelineError(err)
	}
	out := make([]api.PipelineRun, 0, len(runs))
	for _, st := range runs {
		out = append(out, toRun(st))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) getPipelineRun(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pipelines()
	if err != nil {
		return err
	}
	st, err := p.Run(r.PathValue("id"))
	if err != nil {
		return pipelineError(err)
	}
	writeJSON(w, http.StatusOK, toRun(st))
	return nil
}

func (s *server) runPipeline(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pipelines()
	if err != nil {
		return err
	}
	data, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req api.PipelineRunRequest
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || dec.More() {
			return badRequest(`the body must be one JSON PipelineRunRequest like {"commit": "3f2a1bc"} (or {} for the branch head)`)
		}
	}
	st, err := p.Trigger(r.Context(), r.PathValue("app"), "manual", req.Commit)
	if err != nil {
		return pipelineError(err)
	}
	writeJSON(w, http.StatusAccepted, toRun(st))
	return nil
}

func (s *server) approvePipeline(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pipelines()
	if err != nil {
		return err
	}
	app := r.PathValue("app")
	if err := p.Approve(app); err != nil {
		return pipelineError(err)
	}
	runs, err := p.Runs(app, 1)
	if err != nil || len(runs) == 0 {
		return pipelineError(err)
	}
	writeJSON(w, http.StatusAccepted, toRun(runs[0]))
	return nil
}

// maxLog is the most of a stage's log one answer carries: its end.
const maxLog = 1 << 20

func (s *server) pipelineLog(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pipelines()
	if err != nil {
		return err
	}
	st, err := p.Run(r.PathValue("id"))
	if err != nil {
		return pipelineError(err)
	}
	name := r.PathValue("stage")
	stage := st.Stage(name)
	if stage == nil {
		return notFound(fmt.Sprintf("run %s has no stage %q", st.ID, name))
	}
	lp, ok := p.(stageLogs)
	if !ok {
		return notFound("this server keeps no stage logs")
	}
	f, err := os.Open(lp.LogPath(st.App, st.ID, name))
	if errors.Is(err, os.ErrNotExist) {
		writeJSON(w, http.StatusOK, map[string]string{"log": ""})
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxLog {
		_, _ = f.Seek(-maxLog, io.SeekEnd)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxLog))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"log": string(data)})
	return nil
}

// hook answers a push webhook. It is public (the sender has no token); the webhook's
// signature authenticates it, checked by the pipeline before anything changes.
func (s *server) hook(w http.ResponseWriter, r *http.Request) {
	p, err := s.pipelines()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxBody))
	if err != nil {
		w.Header().Set("Connection", "close")
		s.writeError(w, r, &api.Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeBadRequest,
			Message: fmt.Sprintf("the webhook body is larger than %d bytes, or could not be read", webhook.MaxBody)})
		return
	}
	out := p.Hook(r.Context(), r.PathValue("app"), r.Header, data)
	if out.Status >= 400 {
		code := api.CodeBadRequest
		switch out.Status {
		case http.StatusUnauthorized:
			code = api.CodeUnauthorized
		case http.StatusNotFound:
			code = api.CodeNotFound
		}
		s.writeError(w, r, &api.Error{Status: out.Status, Code: code, Message: out.Message})
		return
	}
	ans := api.HookAnswer{Message: out.Message}
	if out.Run != nil {
		ans.Run = out.Run.ID
	}
	writeJSON(w, out.Status, ans)
}

func toRun(st pipeline.State) api.PipelineRun {
	out := api.PipelineRun{ID: st.ID, App: st.App, Trigger: st.Trigger, Version: st.Version, Phase: string(st.Phase), Reason: st.Reason,
		Deployment: st.Deployment, Resumed: st.Resumed, CreatedAt: st.CreatedAt, EndedAt: timePtr(st.EndedAt),
		Commit: api.PipelineCommit{SHA: st.Commit.SHA, Short: st.Commit.Short, Author: st.Commit.Author, Subject: st.Commit.Subject}}
	for _, g := range st.Stages {
		ps := api.PipelineStage{Name: g.Name, Kind: g.Kind, Status: g.Status, Started: timePtr(g.Started), Ended: timePtr(g.Ended),
			Exit: g.Exit, Tail: g.Tail, Note: g.Note}
		if !g.Started.IsZero() && !g.Ended.IsZero() {
			ps.Duration = g.Ended.Sub(g.Started).Round(10 * time.Millisecond).String()
		}
		out.Stages = append(out.Stages, ps)
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
