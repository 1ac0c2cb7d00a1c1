package apiserver

import (
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
)

func TestToDeployment(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	plan := deploy.Plan{GreenVersion: "v2", BlueVersion: "v1",
		Steps: []deploy.Step{{Weight: 10, Pause: time.Minute}, {Weight: 50, Approval: true}, {Weight: 100}}}
	for _, c := range []struct {
		desc     string
		s        deploy.State
		step     int
		weight   float64
		endsAt   *time.Time
		terminal bool
	}{
		{desc: "starting", s: deploy.State{Phase: deploy.PhaseStarting}},
		{desc: "first step, pausing", s: deploy.State{Phase: deploy.PhaseShifting, Weight: 1000, StepReachedAt: t0},
			step: 1, weight: 10, endsAt: new(t0.Add(time.Minute))},
		{desc: "first step, paused by the user", s: deploy.State{Phase: deploy.PhaseShifting, Weight: 1000, StepReachedAt: t0, Paused: true},
			step: 1, weight: 10},
		{desc: "approval gate", s: deploy.State{Phase: deploy.PhaseShifting, Step: 1, Weight: 5000, StepReachedAt: t0}, step: 2, weight: 50},
		{desc: "succeeded", s: deploy.State{Phase: deploy.PhaseSucceeded, Step: 2, Weight: 10000, EndedAt: t0}, step: 3, weight: 100, terminal: true},
		{desc: "aborted at the gate", s: deploy.State{Phase: deploy.PhaseAborted, Step: 1, StepReachedAt: t0, EndedAt: t0}, step: 2, terminal: true},
	} {
		t.Run(c.desc, func(t *testing.T) {
			c.s.Plan = plan
			d := toDeployment(c.s)
			if d.Step != c.step || d.Steps != 3 || d.Weight != c.weight || d.Terminal != c.terminal || d.Green != "v2" || d.Blue != "v1" {
				t.Fatalf("got %+v", d)
			}
			if (d.StepEndsAt == nil) != (c.endsAt == nil) || (c.endsAt != nil && !d.StepEndsAt.Equal(*c.endsAt)) {
				t.Fatalf("step ends at %v, want %v", d.StepEndsAt, c.endsAt)
			}
			if (d.EndedAt != nil) != c.terminal {
				t.Fatalf("ended at %v for terminal=%v", d.EndedAt, c.terminal)
			}
		})
	}
}
