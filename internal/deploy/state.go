// Package deploy is the deployment state machine: it takes an app from its blue release to a
// green one and always ends in a terminal state with the reason written down.
//
// The next move is Decide, a pure function of (State, Observation, now) returning the next
// State, the Actions to perform and the Events to record. A Runner persists each decision
// before it performs the actions, and every action is idempotent ("make it so"), so a crash
// between any two lines resumes cleanly: on resume the runner performs the actions the
// persisted state implies (Ensure) and decides again.
//
// It knows nothing of how instances run, how traffic is routed or where state is kept: those
// are ports the Runner declares (Instances, Traffic, Store, HookRunner, Analyzer).
package deploy

import (
	"strconv"
	"time"

	"github.com/cutover/cutover/internal/analysis"
)

// Phase is where a deployment is.
type Phase string

// Phases in order; the last four are terminal.
const (
	PhaseBeforeStart Phase = "before_start" // hooks before green starts (migrations)
	PhaseStarting    Phase = "starting"     // green instances starting, waiting healthy
	PhaseTesting     Phase = "testing"      // hooks against the test listener, no production traffic
	PhaseShifting    Phase = "shifting"     // moving production traffic step by step
	PhaseFullTraffic Phase = "full_traffic" // green has 100%: hooks, final bake
	PhaseSucceeded   Phase = "succeeded"
	PhaseRolledBack  Phase = "rolled_back"
	PhaseFailed      Phase = "failed" // green never served production traffic
	PhaseAborted     Phase = "aborted"
)

// Terminal reports whether the deployment has ended.
func (p Phase) Terminal() bool {
	return p == PhaseSucceeded || p == PhaseRolledBack || p == PhaseFailed || p == PhaseAborted
}

// Point is a lifecycle point where hooks run.
type Point string

// Hook points, CodeDeploy style.
const (
	BeforeStart      Point = "before_start"
	GreenHealthy     Point = "green_healthy"
	AfterTestTraffic Point = "after_test_traffic"
	AfterStep        Point = "after_step"
	AfterFullTraffic Point = "after_full_traffic"
	AfterBlueRetired Point = "after_blue_retired"
)

// Step is one traffic step: green's share in percent, then a pause and/or an approval gate.
type Step struct {
	Weight   float64       `json:"weight"`
	Pause    time.Duration `json:"pause"`
	Approval bool          `json:"approval,omitempty"`
}

// AnalysisPlan says how often green is judged and what counts as passing a step.
type AnalysisPlan struct {
	Interval             time.Duration `json:"interval"`
	Window               time.Duration `json:"window"`
	MinRequests          uint64        `json:"min_requests"`
	FailureLimit         int           `json:"failure_limit"`
	ConsecutiveSuccesses int           `json:"consecutive_successes"`
}

// Plan is everything a deployment needs to know, fixed when it is created so that a spec
// edited mid-deployment does not change a deployment in flight.
type Plan struct {
	GreenVersion string `json:"green_version"`
	BlueVersion  string `json:"blue_version,omitempty"` // empty for the first deployment
	Instances    int    `json:"instances"`
	Steps        []Step `json:"steps"`
	// Rolling replaces instances in place (a mixed fleet): at each step green runs its share of
	// Instances and blue is scaled down by as many, instead of both running in full.
	Rolling  bool               `json:"rolling,omitempty"`
	Hooks    map[Point][]string `json:"hooks,omitempty"` // hook names per point, in order
	Analysis *AnalysisPlan      `json:"analysis,omitempty"`
	// Deadlines: every wait has one.
	StartupGrace time.Duration `json:"startup_grace"` // green healthy
	Deadline     time.Duration `json:"deadline"`      // the whole deployment
	Approval     time.Duration `json:"approval"`      // any approval gate
	HookTimeout  time.Duration `json:"hook_timeout"`  // any hook
	KeepWarm     time.Duration `json:"keep_warm"`
	DrainTimeout time.Duration `json:"drain_timeout"`
	// SplitTolerance is how far (in percentage points) the observed split may stray from the
	// weight before the engine pauses; SplitMinRequests is how many requests make it count.
	SplitTolerance   float64 `json:"split_tolerance"`
	SplitMinRequests uint64  `json:"split_min_requests"`
	// SplitDeadline is how long green's share may stay off its weight before the step fails
	// (0: DefaultSplitDeadline); SplitWait keeps waiting instead, up to the deployment's
	// deadline, saying why.
	SplitDeadline time.Duration `json:"split_deadline,omitempty"`
	SplitWait     bool          `json:"split_wait,omitempty"`
	// SplitRebalance re-balances the cohorts once per step when the split is first found
	// off (clients not in green's cohort are split again), then fails at SplitDeadline.
	SplitRebalance bool `json:"split_rebalance,omitempty"`
	// VerifyTraffic: the traffic provider is eventually consistent (a load balancer), so a
	// written weight counts only once the provider is observed holding it, converged and
	// settled; until then a step's pause does not start, analysis is not judged and blue is
	// not retired. VerifyTimeout bounds the wait of each step (0: DefaultVerifyTimeout).
	VerifyTraffic bool          `json:"verify_traffic,omitempty"`
	VerifyTimeout time.Duration `json:"verify_timeout,omitempty"`
}

// splitSince is when the split of the current step is counted from: the step's start, or its
// re-balance.
func (s *State) splitSince() time.Time {
	if s.SplitRebalancedAt.After(s.StepReachedAt) {
		return s.SplitRebalancedAt
	}
	return s.StepReachedAt
}

// DefaultSplitDeadline is how long a step waits for a split that stays off before it fails.
const DefaultSplitDeadline = 5 * time.Minute

// HookWait is the hook a deployment is running.
type HookWait struct {
	Point     Point     `json:"point"`
	Index     int       `json:"index"` // into Plan.Hooks[Point]
	Name      string    `json:"name"`
	Step      int       `json:"step"` // for after_step hooks
	StartedAt time.Time `json:"started_at"`
}

// Key identifies one run of a hook, so a result is matched to the wait it answers.
func (h HookWait) Key() string {
	return string(h.Point) + "/" + h.Name + "/" + strconv.Itoa(h.Step)
}

// State is a deployment as persisted. It is plain data.
type State struct {
	ID  string `json:"id"`
	App string `json:"app"`
	// Kind is empty for a deployment and KindRollback for a rollback after success.
	Kind      string    `json:"kind,omitempty"`
	Plan      Plan      `json:"plan"`
	Phase     Phase     `json:"phase"`
	CreatedAt time.Time `json:"created_at"`
	// PhaseSince is when the current phase (or step) began.
	PhaseSince time.Time `json:"phase_since"`
	// Step is the index into Plan.Steps while shifting.
	Step int `json:"step"`
	// Weight is green's share of production traffic, in basis points (0-10000).
	Weight int `json:"weight"`
	// GreenTarget and BlueTarget are how many instances of each run in a rolling update.
	GreenTarget int `json:"green_target,omitempty"`
	BlueTarget  int `json:"blue_target,omitempty"`
	// Scaling: a rolling update waits for this step's new green instances to be healthy
	// before it moves traffic and retires as many blue ones.
	Scaling bool `json:"scaling,omitempty"`
	// StepReachedAt is when the current step's weight was set.
	StepReachedAt time.Time `json:"step_reached_at,omitzero"`
	// Hook is the hook being run, if any.
	Hook *HookWait `json:"hook,omitempty"`
	// HooksDone counts hooks finished at the current point (the next to run is at that index).
	HooksDone int `json:"hooks_done"`
	// HookPoint is the point HooksDone counts at; points before it are done.
	HookPoint Point `json:"hook_point,omitempty"`
	// BakeDone is set once the current step's pause, approval and analysis are satisfied.
	BakeDone bool `json:"bake_done,omitempty"`
	// Analysis bookkeeping for the current step.
	Tracker        analysis.Tracker `json:"tracker"`
	NextAnalysisAt time.Time        `json:"next_analysis_at,omitzero"`
	Approved       bool             `json:"approved,omitempty"`
	Paused         bool             `json:"paused,omitempty"`
	PauseReason    string           `json:"pause_reason,omitempty"`
	// SplitOffSince is when the split check last found green's share off its weight in this
	// step (zero while it is in range), and SplitNote says how.
	SplitOffSince time.Time `json:"split_off_since,omitzero"`
	SplitNote     string    `json:"split_note,omitempty"`
	// SplitRebalancedAt is when this step re-balanced the cohorts (zero: not yet); the split
	// is judged from then on. RebalanceGen is the generation last asked of the router.
	SplitRebalancedAt time.Time `json:"split_rebalanced_at,omitzero"`
	RebalanceGen      int64     `json:"rebalance_gen,omitempty"`
	// VerifiedWeight is the weight last verified held by the traffic provider and
	// VerifiedAt when (zero: not yet for this weight); only with Plan.VerifyTraffic.
	VerifiedWeight int       `json:"verified_weight,omitempty"`
	VerifiedAt     time.Time `json:"verified_at,omitzero"`
	// Drift is what the provider held instead of what cutover wrote, when someone else
	// changed it; the deployment is paused on it, never overwriting it silently.
	Drift string `json:"drift,omitempty"`
	// Traffic is the provider's own evidence of what it holds, from the read-back that
	// verified the weight ("ALB listener :80 weights web-blue=90 web-green=10 read back at
	// 12:01:03"), or what the read-back waits on; only with Plan.VerifyTraffic.
	Traffic string `json:"traffic,omitempty"`
	// Reason is why the deployment is where it is: the last transition with its evidence.
	Reason string `json:"reason"`
	// Evidence is the last analysis outcome, for `why`.
	Evidence []string `json:"evidence,omitempty"`
	// EndedAt is set in a terminal phase.
	EndedAt time.Time `json:"ended_at,omitzero"`
	// RetireBlueAt is when the previous blue may be stopped (succeeded + keep-warm).
	RetireBlueAt time.Time `json:"retire_blue_at,omitzero"`
}

// KindRollback marks the record of a rollback after success: a table swap back to the warm
// previous version, terminal as soon as it is made.
const KindRollback = "rollback"

// Deadline is when the whole deployment must have ended.
func (s *State) Deadline() time.Time { return s.CreatedAt.Add(s.Plan.Deadline) }
