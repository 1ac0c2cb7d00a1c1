package engine

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cutover/cutover/internal/deploy"
)

// metrics is the control plane's Prometheus view: deployments by phase and outcome, their
// durations, why they rolled back, and the last value of every analysis check. All of it is
// updated where decisions are saved, so it can never disagree with the store.
type metrics struct {
	started   *prometheus.CounterVec
	ended     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	rollbacks *prometheus.CounterVec
	inPhase   *prometheus.GaugeVec
	analysis  *prometheus.GaugeVec

	mu      sync.Mutex
	phase   map[string]deploy.Phase // deployment ID -> phase counted in inPhase
	counted map[string]bool         // deployment IDs whose end was counted (a later event on it is not an end)
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutover_deployments_started_total",
			Help: "Deployments created."}, []string{"app"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutover_deployments_ended_total",
			Help: "Deployments that reached a terminal state, by outcome."}, []string{"app", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cutover_deployment_duration_seconds",
			Help:    "Time from a deployment's creation to its terminal state.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}}, []string{"outcome"}),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutover_deployment_rollbacks_total",
			Help: "Deployments that ended without promoting green (rolled back, failed, aborted), by cause."}, []string{"app", "cause"}),
		inPhase: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cutover_deployments_in_phase",
			Help: "Deployments in progress, by phase."}, []string{"phase"}),
		analysis: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cutover_analysis_value",
			Help: "The last value each analysis check measured (error rate in percent, latency in seconds, request rate per second, or the external value)."}, []string{"app", "check"}),
		phase: map[string]deploy.Phase{}, counted: map[string]bool{},
	}
	if reg != nil {
		reg.MustRegister(m.started, m.ended, m.duration, m.rollbacks, m.inPhase, m.analysis)
	}
	return m
}

// saved records one persisted decision.
func (m *metrics) saved(s deploy.State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.phase[s.ID]; ok {
		if prev == s.Phase {
			return
		}
		m.inPhase.WithLabelValues(string(prev)).Dec()
		delete(m.phase, s.ID)
	}
	if !s.Phase.Terminal() {
		m.phase[s.ID] = s.Phase
		m.inPhase.WithLabelValues(string(s.Phase)).Inc()
		return
	}
	if m.counted[s.ID] {
		return
	}
	m.counted[s.ID] = true
	if s.Kind == deploy.KindRollback {
		m.rollbacks.WithLabelValues(s.App, "rollback_after_success").Inc()
		return
	}
	outcome := string(s.Phase)
	m.ended.WithLabelValues(s.App, outcome).Inc()
	m.duration.WithLabelValues(outcome).Observe(s.EndedAt.Sub(s.CreatedAt).Seconds())
	if s.Phase != deploy.PhaseSucceeded {
		m.rollbacks.WithLabelValues(s.App, Cause(s.Reason)).Inc()
	}
}

// Cause classifies why a deployment ended without promoting green, from its reason, for
// metrics and dashboards: analysis, hook, instance_exited, unhealthy, deadline,
// approval_timeout, user, or other.
func Cause(reason string) string {
	switch {
	case strings.Contains(reason, "aborted by user"):
		return "user"
	case strings.Contains(reason, "analysis failed"):
		return "analysis"
	case strings.Contains(reason, " hook "):
		return "hook"
	case strings.Contains(reason, "green instance") && strings.Contains(reason, "exited"):
		return "instance_exited"
	case strings.Contains(reason, "did not become healthy") || strings.Contains(reason, "became healthy within"):
		return "unhealthy"
	case strings.Contains(reason, "no approval within"):
		return "approval_timeout"
	case strings.Contains(reason, "deadline"):
		return "deadline"
	}
	return "other"
}
