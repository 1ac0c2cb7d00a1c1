package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cutover/cutover/internal/spec"
)

// drive runs app's runs one at a time until the service closes: first a run a previous
// server left in progress (resumed), then the oldest queued.
func (s *Service) drive(app string, w *worker) {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-w.wake:
		}
		for s.ctx.Err() == nil {
			st, ok, err := s.pick(app, w)
			if err != nil {
				s.log.Error("pipeline: pick the next run", "app", app, "err", err)
				break
			}
			if !ok {
				break
			}
			s.execute(app, w, st)
		}
	}
}

// pick returns the run to drive next, marking a queued one running.
func (s *Service) pick(app string, w *worker) (State, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	open, err := s.open(app)
	if err != nil {
		return State{}, false, err
	}
	for _, r := range open {
		if r.Phase == Running || r.Phase == Approval {
			r.Resumed++
			s.announce(r, fmt.Sprintf("pipeline run %s resumed after a server restart", r.ID))
			return r, true, s.save(r)
		}
	}
	r, ok := Next(open)
	if !ok {
		return State{}, false, nil
	}
	r.Phase, r.Reason = Running, "running"
	return r, true, s.save(r)
}

// execute takes st through its stages, saving each transition.
func (s *Service) execute(app string, w *worker, st State) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	w.mu.Lock()
	w.cancel[st.ID] = cancel
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.cancel, st.ID)
		w.mu.Unlock()
	}()
	x := &execution{s: s, st: st, work: filepath.Join(s.o.Dir, "pipelines", app, "work", st.ID)}
	defer os.RemoveAll(x.work)
	for {
		cur := x.st.Current()
		if cur == nil {
			return
		}
		a, err := s.pipelineOf(app)
		if err != nil {
			x.finish(Failed, Broken, fmt.Sprintf("%s: %v", cur.Name, err))
			return
		}
		if cur.Status == Active && x.st.Resumed > 0 && cur.Note == "" {
			cur.Note = "resumed after a server restart"
		}
		cur.Status, cur.Started = Active, s.o.Now()
		x.st.Reason = cur.Name + " running"
		if err := s.save(x.st); err != nil {
			s.log.Error("pipeline: save", "run", st.ID, "err", err)
			return
		}
		err = x.stage(ctx, a, w, cur)
		if s.ctx.Err() != nil {
			return // the server is stopping: the stage runs again when it restarts
		}
		cur = x.st.Stage(cur.Name)
		if err != nil {
			if ctx.Err() != nil {
				x.finish(Superseded, Broken, fmt.Sprintf("%s: interrupted by a newer commit (pipeline.interrupt)", cur.Name))
				return
			}
			x.finish(Failed, Broken, x.failure(cur, err))
			return
		}
		cur.Status, cur.Ended = Passed, s.o.Now()
		s.announce(x.st, fmt.Sprintf("pipeline run %s: %s passed in %s", st.ID, cur.Name, cur.Ended.Sub(cur.Started).Round(10*time.Millisecond)))
		if x.st.Current() == nil {
			x.finish(Succeeded, Passed, fmt.Sprintf("commit %s (%s) serves production as release %s", x.st.Commit.Short, x.st.Commit.Subject, x.st.Version))
			s.prune(app, a.Pipeline.Retain)
			if a.Run.Docker != nil {
				s.pruneImages(app, a.Pipeline.Retain)
			}
			return
		}
		if err := s.save(x.st); err != nil {
			s.log.Error("pipeline: save", "run", st.ID, "err", err)
			return
		}
	}
}

// execution is one run being driven.
type execution struct {
	s    *Service
	st   State
	work string // the clean checkout
}

// failure is a failed stage's reason: what failed, then its last output lines.
func (x *execution) failure(cur *Stage, err error) string {
	msg := fmt.Sprintf("%s failed: %v", cur.Name, err)
	if len(cur.Tail) > 0 {
		msg += "; last output: " + lastLines(cur.Tail, 5)
	}
	if cur.Kind != KindDeploy {
		msg += "; traffic not touched"
	}
	return msg
}

func (x *execution) finish(p Phase, status, reason string) {
	x.st.end(p, status, reason, x.s.o.Now())
	if err := x.s.save(x.st); err != nil {
		x.s.log.Error("pipeline: save the end of a run", "run", x.st.ID, "err", err)
	}
	x.s.announce(x.st, fmt.Sprintf("pipeline run %s %s: %s", x.st.ID, p, reason))
	x.s.log.Info("pipeline run ended", "run", x.st.ID, "phase", p, "reason", reason)
}

// stage runs one stage.
func (x *execution) stage(ctx context.Context, a *spec.App, w *worker, cur *Stage) error {
	switch cur.Kind {
	case KindSource:
		return x.source(ctx, a)
	case KindBuild:
		return x.command(ctx, a, cur, x.build)
	case KindTest:
		return x.command(ctx, a, cur, x.test)
	case KindApproval:
		return x.approval(ctx, a, w)
	case KindDeploy:
		return x.deploy(ctx, a)
	}
	return fmt.Errorf("unknown stage kind %q", cur.Kind)
}

func (x *execution) source(ctx context.Context, a *spec.App) error {
	src, err := x.s.source(x.st.App, a.Pipeline)
	if err != nil {
		return err
	}
	c, err := src.Head(ctx)
	if x.st.Want != "" {
		c, err = src.Resolve(ctx, x.st.Want)
	}
	if err != nil {
		return err
	}
	x.st.Commit = Commit{SHA: c.SHA, Short: c.Short, Author: c.Author, Email: c.Email, Subject: c.Subject, Time: c.Time}
	x.st.Version = c.Short
	x.st.Stage(KindSource).Note = fmt.Sprintf("%s %s by %s", c.Short, c.Subject, c.Author)
	return nil
}

// approval waits for Approve, up to the spec's approval deadline.
func (x *execution) approval(ctx context.Context, a *spec.App, w *worker) error {
	x.st.Phase, x.st.Reason = Approval, "waiting for approval: cutover pipeline approve "+x.st.App
	if err := x.s.save(x.st); err != nil {
		return err
	}
	x.s.announce(x.st, fmt.Sprintf("pipeline run %s waits for approval (cutover pipeline approve %s)", x.st.ID, x.st.App))
	wait := a.Deadlines.Approval.Duration() - x.s.o.Now().Sub(x.st.Stage(KindApproval).Started)
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	select {
	case <-w.approve:
	case <-t.C:
		return fmt.Errorf("nobody approved within deadlines.approval (%s)", a.Deadlines.Approval)
	case <-ctx.Done():
		return ctx.Err()
	}
	x.st.Phase = Running
	return nil
}
