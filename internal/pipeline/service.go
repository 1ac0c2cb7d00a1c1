package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/pipeline/gitsrc"
	"github.com/cutover/cutover/internal/spec"
	"github.com/cutover/cutover/internal/store"
)

// Engine is what a run needs of the engine (the *engine.Engine).
type Engine interface {
	Spec(app string) (*spec.App, error)
	DeployRelease(ctx context.Context, app, version string, edit func(*spec.App)) (deploy.State, error)
	Deployment(id string) (deploy.State, error)
	Command(app string, kind deploy.CommandKind) error
	BuildImage(ctx context.Context, contextDir, dockerfile, tag string, out io.Writer) error
}

// Keeper says which releases still need their artifacts, and carries the runs' notices to
// the event stream (the *engine.Engine).
type Keeper interface {
	InUse(app string) ([]string, error)
	Announce(app, source string, ev deploy.Event)
	// RemoveImage removes an image a run built (run.docker) once retain no longer keeps it.
	RemoveImage(ctx context.Context, tag string) error
}

// Source reads a repository's commits (gitsrc over the git CLI).
type Source interface {
	Head(ctx context.Context) (gitsrc.Commit, error)
	Resolve(ctx context.Context, rev string) (gitsrc.Commit, error)
	Checkout(ctx context.Context, sha, dir string) error
}

// Options wire a Service.
type Options struct {
	Store  *store.Store
	Engine Engine
	Keeper Keeper
	// Dir holds the runs' work trees and logs (Dir/pipelines) and the artifacts
	// (Dir/artifacts): the server's data directory.
	Dir string
	Log *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OpenSource opens a repository; default gitsrc.New.
	OpenSource func(url, branch, cacheDir string) (Source, error)
	// Poll is how often the poller looks at the specs; default 1s (each spec's
	// pipeline.source.poll says how often its repository is fetched).
	Poll time.Duration
}

// ErrNoPipeline is returned for an app whose spec has no pipeline section.
var ErrNoPipeline = errors.New("no pipeline")

// ErrInvalid is returned for a request that names something wrong (an unknown commit).
var ErrInvalid = errors.New("invalid request")

// Service runs every app's pipeline.
type Service struct {
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	workers map[string]*worker
	sources map[string]sourceAt // by app
	polled  map[string]time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type sourceAt struct {
	repo, branch string
	src          Source
}

// worker drives one app's runs, one at a time.
type worker struct {
	wake    chan struct{}
	approve chan struct{}
	mu      sync.Mutex
	cancel  map[string]context.CancelFunc // the run in progress
}

// New restores the runs left open by a previous server and starts driving them and
// polling.
func New(opts Options) (*Service, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.OpenSource == nil {
		opts.OpenSource = func(url, branch, cache string) (Source, error) { return gitsrc.New(url, branch, cache) }
	}
	for _, d := range []string{"pipelines", "artifacts"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("pipelines: create %s under the data directory: %w", d, err)
		}
	}
	s := &Service{o: opts, log: opts.Log, workers: map[string]*worker{}, sources: map[string]sourceAt{}, polled: map[string]time.Time{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	open, err := opts.Store.OpenRuns()
	if err != nil {
		return nil, fmt.Errorf("pipelines: %w", err)
	}
	for _, r := range open {
		s.workerOf(r.App)
	}
	s.wg.Add(1)
	go s.pollLoop()
	return s, nil
}

// Close stops driving runs; their state is saved and a new Service resumes them.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// workerOf returns app's worker, starting it (and waking it) the first time.
func (s *Service) workerOf(app string) *worker {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.workers[app]
	if w == nil {
		w = &worker{wake: make(chan struct{}, 1), approve: make(chan struct{}, 1), cancel: map[string]context.CancelFunc{}}
		s.workers[app] = w
		s.wg.Add(1)
		go s.drive(app, w)
	}
	w.poke()
	return w
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// source returns the app's repository, reopened when the spec names another.
func (s *Service) source(app string, p *spec.Pipeline) (Source, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.sources[app]; ok && at.repo == p.Source.Repo && at.branch == p.Source.Branch {
		return at.src, nil
	}
	cache := filepath.Join(s.o.Dir, "pipelines", app, "mirror")
	_ = os.RemoveAll(cache) // another repository or branch: start the mirror again
	src, err := s.o.OpenSource(p.Source.Repo, p.Source.Branch, cache)
	if err != nil {
		return nil, fmt.Errorf("pipeline.source: %w", err)
	}
	s.sources[app] = sourceAt{repo: p.Source.Repo, branch: p.Source.Branch, src: src}
	return src, nil
}

// pipelineOf is app's current spec and its pipeline, or ErrNoPipeline.
func (s *Service) pipelineOf(app string) (*spec.App, error) {
	a, err := s.o.Engine.Spec(app)
	if err != nil {
		return nil, err
	}
	if a.Pipeline == nil {
		return nil, fmt.Errorf("app %s: %w section in its spec; add one to build and deploy its commits (see docs/pipelines.md)", app, ErrNoPipeline)
	}
	return a, nil
}

var revRE = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// Trigger starts a run of app's pipeline for rev (a commit SHA, full or abbreviated; "" for
// the branch head) and says what became of the trigger: the new run, or the open run that
// already takes that commit.
func (s *Service) Trigger(ctx context.Context, app, trigger, rev string) (State, error) {
	a, err := s.pipelineOf(app)
	if err != nil {
		return State{}, err
	}
	want := ""
	if rev != "" {
		if !revRE.MatchString(rev) {
			return State{}, fmt.Errorf("commit %q: %w: give a commit SHA, 7 to 40 lowercase hex digits", clip(rev), ErrInvalid)
		}
		src, err := s.source(app, a.Pipeline)
		if err != nil {
			return State{}, err
		}
		c, err := src.Resolve(ctx, rev)
		if err != nil {
			return State{}, fmt.Errorf("commit %s: %w: %v", rev, ErrInvalid, err)
		}
		want = c.SHA
	}
	return s.admit(app, a, trigger, want)
}

// admit records a run for want, superseding the queued runs it replaces.
func (s *Service) admit(app string, a *spec.App, trigger, want string) (State, error) {
	w := s.workerOf(app)
	w.mu.Lock()
	defer w.mu.Unlock()
	open, err := s.open(app)
	if err != nil {
		return State{}, err
	}
	ad := Admit(open, want, a.Pipeline.Interrupt)
	if !ad.Create {
		return s.Run(ad.Existing)
	}
	now := s.o.Now()
	st := State{App: app, Trigger: trigger, Want: want, Phase: Queued, Stages: Plan(a), CreatedAt: now, Reason: "queued"}
	if want != "" { // known before the source stage runs: shown while the run waits
		st.Commit = Commit{SHA: want, Short: want[:min(12, len(want))]}
	}
	rec, err := s.o.Store.CreateRun(store.Run{App: app, State: mustJSON(st)})
	if err != nil {
		return State{}, fmt.Errorf("record the run: %w", err)
	}
	st.ID = rec.ID
	if err := s.save(st); err != nil {
		return State{}, err
	}
	for _, id := range ad.Supersede {
		old, err := s.Run(id)
		if err != nil {
			return State{}, err
		}
		old.end(Superseded, Skipped, supersededReason(st.ID, ""), now)
		if err := s.save(old); err != nil {
			return State{}, err
		}
	}
	if ad.Interrupt != "" {
		if cancel := w.cancel[ad.Interrupt]; cancel != nil {
			cancel()
		}
	}
	s.announce(st, fmt.Sprintf("pipeline run %s queued (%s%s)", st.ID, trigger, shortOr(want, " of the branch head")))
	w.poke()
	return st, nil
}

// Approve passes the approval gate of app's run waiting at one.
func (s *Service) Approve(app string) error {
	open, err := s.open(app)
	if err != nil {
		return err
	}
	for _, r := range open {
		if r.Phase == Approval {
			w := s.workerOf(app)
			select {
			case w.approve <- struct{}{}:
			default:
			}
			return nil
		}
	}
	return fmt.Errorf("app %s has no pipeline run waiting for approval", app)
}

// Run returns the run with id.
func (s *Service) Run(id string) (State, error) {
	rec, err := s.o.Store.GetRun(id)
	if err != nil {
		return State{}, err
	}
	return decode(rec)
}

// Runs returns app's runs, newest first, at most limit (0: all).
func (s *Service) Runs(app string, limit int) ([]State, error) {
	recs, err := s.o.Store.ListRuns(app, limit)
	if err != nil {
		return nil, err
	}
	out := make([]State, 0, len(recs))
	for _, r := range recs {
		st, err := decode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// open is app's runs that have not ended, oldest first.
func (s *Service) open(app string) ([]State, error) {
	all, err := s.Runs(app, 0)
	if err != nil {
		return nil, err
	}
	var out []State
	for i := len(all) - 1; i >= 0; i-- {
		if !all[i].Phase.Terminal() {
			out = append(out, all[i])
		}
	}
	return out, nil
}

func (s *Service) save(st State) error {
	if _, err := s.o.Store.UpdateRun(st.ID, mustJSON(st), st.Phase.Terminal()); err != nil {
		return fmt.Errorf("save pipeline run %s: %w", st.ID, err)
	}
	return nil
}

func (s *Service) announce(st State, msg string) {
	if s.o.Keeper != nil {
		s.o.Keeper.Announce(st.App, st.ID, deploy.Event{At: s.o.Now(), Message: msg})
	}
}

func decode(r store.Run) (State, error) {
	var st State
	if err := json.Unmarshal(r.State, &st); err != nil {
		return State{}, fmt.Errorf("pipeline run %s: %w; the state file is damaged", r.ID, err)
	}
	st.ID = r.ID
	return st, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // State holds only marshalable fields
	}
	return b
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func shortOr(sha, none string) string {
	if sha == "" {
		return none
	}
	if len(sha) > 12 {
		sha = sha[:12]
	}
	return " of " + sha
}
