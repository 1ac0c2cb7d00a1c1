package deploy

import (
	"time"

	"github.com/cutover/cutover/internal/analysis"
)

// Observation is what the runner saw since the last decision.
type Observation struct {
	// Green lists the green instances the runner knows of.
	Green []InstanceObs
	// Hook is the result of the hook the state waits for, once it finished.
	Hook *HookResult
	// Analysis is an evaluation, present when the state's NextAnalysisAt had come.
	Analysis *AnalysisResult
	// Split is the production traffic the router saw since the current step began.
	Split *Split
	// Commands are user commands received since the last decision, in order.
	Commands []Command
	// Traffic is what the traffic provider holds, read back, when the plan verifies traffic.
	Traffic *TrafficCheck
	// StartError is why green instances could not be started, if they could not (a
	// missing program, say): no wait will fix it.
	StartError string
}

// TrafficCheck is a traffic provider's state, read back after a write.
type TrafficCheck struct {
	// Weight is green's share the provider holds, in basis points.
	Weight int
	// Verified: the provider holds Weight converged and settled (clients see it).
	Verified bool
	// Reason says why it is not verified; Evidence what was read, for events and `why`,
	// like "ALB listener weights 90/10 read back at 12:01:03".
	Reason, Evidence string
	// Drift is set when the provider holds what cutover did not write.
	Drift string
}

// InstanceObs is one green instance as the runner sees it.
type InstanceObs struct {
	ID      string
	Healthy bool
	Exited  bool
	Reason  string // why it is unhealthy or exited, with its last log lines
}

// HookResult answers a HookWait.
type HookResult struct {
	Key    string
	Passed bool
	Reason string
	Output string // what a command printed, or a response body: its tail goes into the event
}

// AnalysisResult is one evaluation of green.
type AnalysisResult struct {
	Verdict  analysis.Verdict
	Evidence []string
	// Alarms lists the alarms firing ("NAME: REASON"); any rolls the deployment back at
	// once, whatever the verdict.
	Alarms []string
}

// Split counts production requests per version over the current step.
type Split struct {
	Green, Total uint64
	// Sticky lists the cohort buckets (0-9999) of clients that came back with their cohort
	// cookie during the step; a bucket below the weight is green's. Nil when unknown.
	Sticky []int
}

// CommandKind is what a user asked for.
type CommandKind string

// Commands.
const (
	CmdPromote CommandKind = "promote" // skip remaining pauses and gates: go to full traffic
	CmdApprove CommandKind = "approve" // pass the current approval gate
	CmdPause   CommandKind = "pause"
	CmdResume  CommandKind = "resume"
	CmdAbort   CommandKind = "abort" // back to blue at once
)

// Command is one user command.
type Command struct {
	Kind CommandKind `json:"kind"`
	At   time.Time   `json:"at"`
}

// ActionKind is an effect the runner makes so. Every action is idempotent.
type ActionKind string

// Actions.
const (
	// ActEnsureGreen: Count green instances of Plan.GreenVersion are running.
	ActEnsureGreen ActionKind = "ensure_green"
	// ActRoute: the router serves blue plus green at Weight (basis points).
	ActRoute ActionKind = "route"
	// ActRunHook: the hook Hook is running or has a result.
	ActRunHook ActionKind = "run_hook"
	// ActPromote: green is the app's blue; the previous blue is out of the router, warm
	// until RetireBlueAt.
	ActPromote ActionKind = "promote"
	// ActStopGreen: green is out of the router (drained) and its instances are stopped.
	ActStopGreen ActionKind = "stop_green"
	// ActScaleBlue: only Count blue instances are routed and run (rolling); the others are
	// drained and stopped.
	ActScaleBlue ActionKind = "scale_blue"
	// ActEnsureBlue: Count blue instances run again (a rolling update going back).
	ActEnsureBlue ActionKind = "ensure_blue"
	// ActRebalance: the router has re-balanced the app's cohorts at generation Gen.
	ActRebalance ActionKind = "rebalance"
)

// Action is one effect to make so.
type Action struct {
	Kind   ActionKind
	Count  int
	Weight int
	Hook   *HookWait
	Gen    int64
}

// Event is one recorded transition with its reason and evidence.
type Event struct {
	At      time.Time `json:"at"`
	Phase   Phase     `json:"phase"`
	Step    int       `json:"step"`
	Weight  int       `json:"weight"`
	Message string    `json:"message"`
}
