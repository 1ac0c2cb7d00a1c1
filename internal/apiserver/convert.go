package apiserver

import (
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/router"
	"github.com/cutover/cutover/internal/signals"
)

// percent turns basis points (deploy.WeightScale = 100%) into percent.
func percent(bp int) float64 { return float64(bp) * 100 / deploy.WeightScale }

// toDeployment is a deployment as the API shows it; events are added by the caller that wants
// them.
func toDeployment(s deploy.State) api.Deployment {
	d := api.Deployment{
		ID: s.ID, App: s.App, Kind: s.Kind, Phase: string(s.Phase), Terminal: s.Phase.Terminal(),
		Green: s.Plan.GreenVersion, Blue: s.Plan.BlueVersion, Weight: percent(s.Weight),
		Steps: len(s.Plan.Steps), Paused: s.Paused, Reason: s.Reason, Evidence: s.Evidence, Traffic: s.TrafficEvidence(), CreatedAt: s.CreatedAt,
	}
	switch s.Phase {
	case deploy.PhaseBeforeStart, deploy.PhaseStarting, deploy.PhaseTesting:
		// No step reached yet.
	case deploy.PhaseFullTraffic, deploy.PhaseSucceeded:
		d.Step = d.Steps
	default:
		if !s.StepReachedAt.IsZero() || s.Phase == deploy.PhaseShifting {
			d.Step = min(s.Step+1, d.Steps)
		}
	}
	if s.Phase == deploy.PhaseShifting && !s.Paused && !s.StepReachedAt.IsZero() && s.Step < len(s.Plan.Steps) {
		if pause := s.Plan.Steps[s.Step].Pause; pause > 0 {
			at := s.StepReachedAt.Add(pause)
			d.StepEndsAt = &at
		}
	}
	if d.Terminal && !s.EndedAt.IsZero() {
		at := s.EndedAt
		d.EndedAt = &at
	}
	return d
}

func toEvent(e deploy.Event) api.Event {
	return api.Event{At: e.At, Phase: string(e.Phase), Weight: percent(e.Weight), Message: e.Message}
}

func toNotice(n engine.Notice) api.Notice {
	return api.Notice{App: n.App, Deployment: n.Deployment, Event: toEvent(n.Event)}
}

func toSignals(s router.AppSignals, window time.Duration) api.Signals {
	return api.Signals{App: s.App, Window: window.String(), Weight: percent(s.GreenWeight),
		Blue: toVersionSignals(s.Blue), Green: toVersionSignals(s.Green)}
}

func toVersionSignals(v router.VersionSignals) api.VersionSignals {
	t := v.Total
	return api.VersionSignals{
		Version: v.Version, Requests: t.Total(), Errors: t.Errors(), Rate: t.Rate(),
		// ErrorRate stays a fraction from 0 to 1, as signals.Snapshot reports it (not percent).
		ErrorRate: t.ErrorRate(),
		P50Ms:     ms(t, 0.5), P90Ms: ms(t, 0.9), P99Ms: ms(t, 0.99),
	}
}

func ms(s signals.Snapshot, q float64) float64 {
	return float64(s.Quantile(q)) / float64(time.Millisecond)
}
