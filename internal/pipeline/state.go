// Package pipeline takes commits of an app's git repository to production: for each commit
// of the spec's branch a run checks out the commit clean, builds one immutable artifact (a
// directory under the data dir, or the image APP:SHORTSHA on the Docker engine), runs the
// test stages against it, waits for an approval if the spec asks, and deploys it through the
// engine with the app's strategy as the release named by the short SHA.
//
// Runs are durable: every stage transition is saved in the store before it takes effect,
// and a server that restarts resumes each open run (a build or test stage starts again from
// a clean checkout; a deployment in progress is resumed by the engine and waited for). One
// run per app is active at a time; a newer commit supersedes the queued ones, which are
// recorded as superseded.
//
// The decisions (admit, next) are pure functions of the runs' states; the effects (git,
// commands, the engine) sit behind the small interfaces this package declares.
package pipeline

import (
	"time"
)

// Phase is where a run is.
type Phase string

// Run phases. Succeeded, Failed, Superseded and Canceled are terminal.
const (
	Queued     Phase = "queued"
	Running    Phase = "running"
	Approval   Phase = "waiting_approval"
	Succeeded  Phase = "succeeded"
	Failed     Phase = "failed"
	Superseded Phase = "superseded"
	Canceled   Phase = "canceled"
)

// Terminal reports whether a run in p has ended.
func (p Phase) Terminal() bool {
	return p == Succeeded || p == Failed || p == Superseded || p == Canceled
}

// Stage status.
const (
	Pending = "pending"
	Active  = "running"
	Passed  = "passed"
	Broken  = "failed"
	Skipped = "skipped"
)

// Stage kinds, which are also the names of the fixed stages.
const (
	KindSource   = "source"
	KindBuild    = "build"
	KindTest     = "test"
	KindApproval = "approval"
	KindDeploy   = "deploy"
)

// Commit is the commit a run takes to production.
type Commit struct {
	SHA     string    `json:"sha"`
	Short   string    `json:"short,omitempty"`
	Author  string    `json:"author,omitempty"`
	Email   string    `json:"email,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Time    time.Time `json:"time,omitzero"`
}

// Stage is one step of a run.
type Stage struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind"`
	Status  string    `json:"status"`
	Started time.Time `json:"started,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	// Exit is the command's exit status when it ran one (-1: it did not exit, it was killed
	// or never started).
	Exit *int `json:"exit,omitempty"`
	// Tail is the last lines of the stage's output, secrets masked.
	Tail []string `json:"tail,omitempty"`
	// Note says what happened, in a sentence.
	Note string `json:"note,omitempty"`
}

// State is a run as the store keeps it.
type State struct {
	ID      string `json:"id"`
	App     string `json:"app"`
	Trigger string `json:"trigger"` // poll, webhook, manual
	// Want is the revision the trigger named (a SHA, or "" for the branch head) until the
	// source stage resolves it into Commit.
	Want       string    `json:"want,omitempty"`
	Commit     Commit    `json:"commit"`
	Version    string    `json:"version,omitempty"`
	Phase      Phase     `json:"phase"`
	Stages     []Stage   `json:"stages"`
	Reason     string    `json:"reason,omitempty"`
	Deployment string    `json:"deployment,omitempty"`
	Resumed    int       `json:"resumed,omitempty"` // how many times a restart resumed it
	CreatedAt  time.Time `json:"created_at"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
}

// Current is the stage in progress (or the first pending one), nil when none is.
func (s *State) Current() *Stage {
	for i := range s.Stages {
		if st := s.Stages[i].Status; st == Active || st == Pending {
			return &s.Stages[i]
		}
	}
	return nil
}

// Stage returns the stage named name, nil if there is none.
func (s *State) Stage(name string) *Stage {
	for i := range s.Stages {
		if s.Stages[i].Name == name {
			return &s.Stages[i]
		}
	}
	return nil
}

// end moves the run to its terminal phase: the stage in progress takes status, the
// pending ones are skipped.
func (s *State) end(p Phase, status, reason string, now time.Time) {
	for i := range s.Stages {
		switch s.Stages[i].Status {
		case Active:
			s.Stages[i].Status, s.Stages[i].Ended = status, now
		case Pending:
			s.Stages[i].Status = Skipped
		}
	}
	s.Phase, s.Reason, s.EndedAt = p, reason, now
}
