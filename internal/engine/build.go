package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/runtime"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// imageBuilder is a driver that builds images (the docker driver), for releases whose spec
// says run.docker.build.
type imageBuilder interface {
	// ImageExists reports whether the engine has ref, e.g. "web:v2".
	ImageExists(ctx context.Context, ref string) (bool, error)
	// Build builds the image in contextDir from dockerfile (relative to it) and tags it tag,
	// writing the build's output to out as it comes. Its error ends with the output's last
	// lines.
	Build(ctx context.Context, contextDir, dockerfile, tag string, out io.Writer) error
}

// ensureImage builds the image of a release whose spec has run.docker.build, unless the
// engine has it already: one image per release, tagged APP:VERSION, built before any of its
// instances starts. The outcome goes into the deployment's events, the output lines into the
// log. A failed build is returned, and fails the deployment the way a failed start does.
func (f *fleet) ensureImage(ctx context.Context, drv runtime.Driver, a *spec.App, version string) error {
	d := a.Run.Docker
	if d == nil || d.Build == nil {
		return nil
	}
	b, ok := drv.(imageBuilder)
	if !ok {
		return fmt.Errorf("run.docker.build: the driver cannot build images; build the image yourself and name it in run.docker.image")
	}
	tag := d.ImageFor(a.Name, version)
	if have, err := b.ImageExists(ctx, tag); err != nil {
		return fmt.Errorf("look for image %s before building it: %w", tag, err)
	} else if have {
		return nil
	}
	f.e.note(a.Name, "building image %s from %s (%s)", tag, d.Build.Context, d.Build.Dockerfile)
	out := &lineLog{log: f.e.log.With("app", a.Name, "image", tag, "deployment", f.e.activeID(a.Name)), mask: f.e.masker(a.Name, version)}
	start := time.Now()
	err := b.Build(ctx, d.Build.Context, d.Build.Dockerfile, tag, out)
	out.flush()
	if err != nil {
		return fmt.Errorf("build of %s failed: %w", tag, err)
	}
	f.e.note(a.Name, "built image %s in %s", tag, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// lineLog writes a build's output to the engine log, one entry per line, secrets masked.
type lineLog struct {
	log  *slog.Logger
	mask spec.Masker
	buf  []byte
}

const maxLogLine = 4096

func (w *lineLog) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) > maxLogLine {
				w.emit(w.buf)
				w.buf = w.buf[:0]
			}
			return len(p), nil
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

func (w *lineLog) flush() {
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}

func (w *lineLog) emit(line []byte) {
	if l := bytes.TrimRight(line, "\r"); len(bytes.TrimSpace(l)) > 0 {
		w.log.Info("build output", "line", w.mask.Mask(string(l)))
	}
}

// activeID is the ID of app's deployment in progress, "" if none.
func (e *Engine) activeID(app string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.active[app]; r != nil {
		return r.id
	}
	return ""
}

// note records a message in the events of app's deployment in progress (a build's outcome,
// say) without changing its state, publishes it, and logs it. With no deployment in
// progress it is only logged.
func (e *Engine) note(app, format string, args ...any) {
	msg := e.masker(app).Mask(fmt.Sprintf(format, args...))
	id := e.activeID(app)
	if id == "" {
		e.log.Info(msg, "app", app)
		return
	}
	e.log.Info(msg, "deployment", id)
	s, err := e.Deployment(id)
	if err != nil {
		e.log.Warn("record an event", "deployment", id, "err", err)
		return
	}
	ev := deploy.Event{At: e.clock.Now(), Phase: s.Phase, Step: s.Step, Weight: s.Weight, Message: msg}
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	if err := e.store.UpdateDeployment(id, nil, false, store.Event{At: ev.At, Data: data}); err != nil {
		e.log.Warn("record an event", "deployment", id, "err", err)
		return
	}
	e.feed.publish(Notice{App: app, Deployment: id, Event: ev})
}
