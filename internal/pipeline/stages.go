package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// artifactMark is written into an artifact once it is complete: a directory without it is
// a build that did not finish and is never deployed.
const artifactMark = ".cutover-artifact"

// LogPath is where a stage of a run keeps its output.
func (s *Service) LogPath(app, run, stage string) string {
	return filepath.Join(s.o.Dir, "pipelines", app, "logs", run, stage+".log")
}

// ArtifactDir is where the artifact of app's release version lives.
func (s *Service) ArtifactDir(app, version string) string {
	return filepath.Join(s.o.Dir, "artifacts", app, version)
}

// command runs a build or test stage with its log.
func (x *execution) command(ctx context.Context, a *spec.App, cur *Stage, fn func(context.Context, *spec.App, *Stage, *stageLog) error) error {
	path := x.s.LogPath(x.st.App, x.st.ID, cur.Name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the run's log directory: %w", err)
	}
	l, err := openStageLog(path, spec.NewMasker(a))
	if err != nil {
		return err
	}
	if cur.Note != "" {
		l.Printf("%s", cur.Note)
	}
	err = fn(ctx, a, cur, l)
	if err != nil {
		l.Printf("%s: %v", cur.Name, err)
	}
	cur.Tail = l.Close()
	return err
}

// env is the build's and tests' environment.
func (x *execution) env(a *spec.App, extra ...string) []string {
	out := []string{"CUTOVER_APP=" + a.Name, "CUTOVER_VERSION=" + x.st.Version, "CUTOVER_COMMIT=" + x.st.Commit.SHA}
	for k, v := range a.Pipeline.Build.Env {
		out = append(out, k+"="+v)
	}
	return append(out, extra...)
}

// build checks the commit out clean, runs the build command, and keeps the artifact: the
// directory build.artifact (run.process) or the image APP:SHORTSHA (run.docker). A release
// whose artifact is complete already is not built again.
func (x *execution) build(ctx context.Context, a *spec.App, cur *Stage, l *stageLog) error {
	p := a.Pipeline
	art := x.s.ArtifactDir(a.Name, x.st.Version)
	if a.Run.Process != nil {
		if _, err := os.Stat(filepath.Join(art, artifactMark)); err == nil {
			addNote(cur, "the artifact of "+x.st.Version+" exists; reused, not rebuilt")
			l.Printf("the artifact of %s exists; reused, not rebuilt", x.st.Version)
			return nil
		}
	}
	src, err := x.s.source(a.Name, p)
	if err != nil {
		return err
	}
	l.Printf("checking out %s into a clean tree", x.st.Commit.SHA)
	if err := src.Checkout(ctx, x.st.Commit.SHA, x.work); err != nil {
		return err
	}
	if len(p.Build.Command) > 0 {
		l.Printf("running %q", p.Build.Command)
		code, err := runCommand(ctx, p.Build.Command, x.work, x.env(a), p.Build.Timeout.Duration(), l)
		cur.Exit = &code
		if err != nil {
			return err
		}
	}
	if a.Run.Docker != nil {
		tag := a.Name + ":" + x.st.Version
		l.Printf("building image %s from %s", tag, p.Build.Dockerfile)
		bctx, cancel := context.WithTimeout(ctx, p.Build.Timeout.Duration())
		defer cancel()
		if err := x.s.o.Engine.BuildImage(bctx, x.work, p.Build.Dockerfile, tag, l); err != nil {
			return fmt.Errorf("docker build of %s: %w", tag, err)
		}
		addNote(cur, "built image "+tag)
		return nil
	}
	from := filepath.Join(x.work, p.Build.Artifact)
	if fi, err := os.Stat(from); err != nil || !fi.IsDir() {
		return fmt.Errorf("the build left no directory %s (pipeline.build.artifact) in the checkout", p.Build.Artifact)
	}
	if err := os.WriteFile(filepath.Join(from, artifactMark), []byte(x.st.Commit.SHA+"\n"), 0o600); err != nil {
		return fmt.Errorf("mark the artifact: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(art), 0o700); err != nil {
		return fmt.Errorf("create the artifacts directory: %w", err)
	}
	_ = os.RemoveAll(art) // an unfinished earlier build (no mark)
	if err := os.Rename(from, art); err != nil {
		return fmt.Errorf("keep the artifact: %w", err)
	}
	addNote(cur, "artifact kept in "+art)
	l.Printf("artifact kept in %s", art)
	return nil
}

// test runs a test stage in the artifact (the checkout with run.docker).
func (x *execution) test(ctx context.Context, a *spec.App, cur *Stage, l *stageLog) error {
	var t spec.PipelineTest
	for _, c := range a.Pipeline.Tests {
		if c.Name == cur.Name {
			t = c
		}
	}
	if len(t.Command) == 0 {
		return fmt.Errorf("the spec has no test %q any more", cur.Name)
	}
	dir, extra := x.s.ArtifactDir(a.Name, x.st.Version), []string{}
	if a.Run.Docker != nil {
		src, err := x.s.source(a.Name, a.Pipeline)
		if err != nil {
			return err
		}
		if _, err := os.Stat(x.work); err != nil { // resumed: check out again
			if err := src.Checkout(ctx, x.st.Commit.SHA, x.work); err != nil {
				return err
			}
		}
		dir, extra = x.work, []string{"CUTOVER_IMAGE=" + a.Name + ":" + x.st.Version}
	}
	extra = append(extra, "CUTOVER_ARTIFACT="+dir)
	l.Printf("running %q in %s", t.Command, dir)
	code, err := runCommand(ctx, t.Command, dir, x.env(a, extra...), t.Timeout.Duration(), l)
	cur.Exit = &code
	return err
}

// deploy creates the release's deployment (once; a resumed run waits for the one it
// recorded) and waits for it to end. A deployment of the app already in progress (a
// manual one) is waited out first, never interrupted.
func (x *execution) deploy(ctx context.Context, a *spec.App) error {
	e := x.s.o.Engine
	cur := x.st.Stage(KindDeploy)
	for x.st.Deployment == "" {
		d, err := e.DeployRelease(ctx, a.Name, x.st.Version, x.release)
		var active *store.ActiveError
		switch {
		case err == nil:
			x.st.Deployment = d.ID
			cur.Note = "deployment " + d.ID
			if err := x.s.save(x.st); err != nil {
				return err
			}
		case errors.As(err, &active):
			cur.Note = "waiting for deployment " + active.ID + " to end"
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
		default:
			return err
		}
	}
	for {
		d, err := e.Deployment(x.st.Deployment)
		if err != nil {
			return err
		}
		if d.Phase.Terminal() {
			if d.Phase == deploy.PhaseSucceeded {
				return nil
			}
			return fmt.Errorf("deployment %s %s: %s", d.ID, d.Phase, d.Reason)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			if x.s.ctx.Err() == nil {
				_ = e.Command(a.Name, deploy.CmdAbort) // interrupted by a newer commit
			}
			return err
		}
	}
}

// release points a new release's spec at its artifact. The release keeps no pipeline
// section: it is what runs, built already.
func (x *execution) release(rel *spec.App) {
	rel.Pipeline = nil
	switch {
	case rel.Run.Process != nil:
		p := *rel.Run.Process
		p.Dir = p.ArtifactDir(x.s.ArtifactDir(rel.Name, x.st.Version))
		rel.Run.Process = &p
	case rel.Run.Docker != nil:
		d := *rel.Run.Docker
		d.Image = rel.Name + ":" + x.st.Version
		rel.Run.Docker = &d
	}
}

// addNote adds a sentence to the stage's note (a resumed stage keeps saying so).
func addNote(st *Stage, note string) {
	if st.Note == "" {
		st.Note = note
		return
	}
	st.Note += "; " + note
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
