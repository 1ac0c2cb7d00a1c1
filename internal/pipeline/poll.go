package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// pollLoop looks for new commits of every app whose pipeline polls, each at its
// pipeline.source.poll interval.
func (s *Service) pollLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.o.Poll)
	defer t.Stop()
	for {
		s.pollOnce()
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) pollOnce() {
	apps, err := s.o.Store.ListApps()
	if err != nil {
		s.log.Warn("pipeline: list apps to poll", "err", err)
		return
	}
	for _, rec := range apps {
		a, err := s.pipelineOf(rec.Name)
		if err != nil || a.Pipeline.Source.Poll == nil || *a.Pipeline.Source.Poll <= 0 {
			continue
		}
		now := s.o.Now()
		s.mu.Lock()
		due := now.Sub(s.polled[a.Name]) >= a.Pipeline.Source.Poll.Duration()
		if due {
			s.polled[a.Name] = now
		}
		s.mu.Unlock()
		if !due {
			continue
		}
		src, err := s.source(a.Name, a.Pipeline)
		if err != nil {
			s.log.Warn("pipeline: poll", "app", a.Name, "err", err)
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
		head, err := src.Head(ctx)
		cancel()
		if err != nil {
			s.log.Warn("pipeline: poll", "app", a.Name, "err", err)
			continue
		}
		last, err := s.Runs(a.Name, 1)
		if err != nil || (len(last) == 1 && (last[0].Commit.SHA == head.SHA || last[0].Want == head.SHA)) {
			continue
		}
		if _, err := s.admit(a.Name, a, "poll", head.SHA); err != nil {
			s.log.Warn("pipeline: queue a polled commit", "app", a.Name, "err", err)
		}
	}
}

// pruneImages removes the images runs of app built beyond the newest retain, except those
// of releases still in use.
func (s *Service) pruneImages(app string, retain int) {
	if s.o.Keeper == nil {
		return
	}
	inUse, err := s.o.Keeper.InUse(app)
	if err != nil {
		return // not knowing what is in use, keep everything
	}
	runs, err := s.Runs(app, 0)
	if err != nil {
		return
	}
	var built []string // newest first, once each
	for _, r := range runs {
		if b := r.Stage(KindBuild); b != nil && b.Status == Passed && r.Version != "" && !slices.Contains(built, r.Version) {
			built = append(built, r.Version)
		}
	}
	for i, v := range built {
		if i < retain || slices.Contains(inUse, v) {
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		if err := s.o.Keeper.RemoveImage(ctx, app+":"+v); err != nil {
			s.log.Warn("pipeline: prune an image", "app", app, "version", v, "err", err)
		}
		cancel()
	}
}

// prune removes the artifacts of app beyond the newest retain, except those of releases
// still in use (serving, green, or a blue kept warm).
func (s *Service) prune(app string, retain int) {
	root := filepath.Join(s.o.Dir, "artifacts", app)
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	type art struct {
		name string
		at   time.Time
	}
	var arts []art
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && e.IsDir() {
			arts = append(arts, art{e.Name(), fi.ModTime()})
		}
	}
	sort.Slice(arts, func(i, j int) bool { return arts[i].at.After(arts[j].at) })
	var inUse []string
	if s.o.Keeper != nil {
		if inUse, err = s.o.Keeper.InUse(app); err != nil {
			return // not knowing what is in use, keep everything
		}
	}
	for i, a := range arts {
		if i < retain || slices.Contains(inUse, a.name) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, a.name)); err == nil {
			s.log.Info("pipeline: pruned an artifact", "app", app, "version", a.name)
		}
	}
}
