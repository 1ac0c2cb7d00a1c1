package deploy

import (
	"context"
	"time"
)

// Endpoint is one running instance as the engine needs to know it.
type Endpoint struct {
	ID      string
	Addr    string
	Version string
}

// Fleet starts, watches and stops the instances of an app's releases.
type Fleet interface {
	// Ensure makes count instances of version run (starting the missing ones) and returns them.
	Ensure(ctx context.Context, app, version string, count int) ([]Endpoint, error)
	// Observe reports on every instance of version, exited ones with the reason and last logs.
	Observe(ctx context.Context, app, version string) ([]InstanceObs, error)
	// Stop stops every instance of version; stopping nothing is not an error.
	Stop(ctx context.Context, app, version string) error
	// Endpoints lists the running instances of version, in instance order.
	Endpoints(ctx context.Context, app, version string) ([]Endpoint, error)
	// Scale stops the instances of version beyond the first count (they are no longer
	// routed), draining them first.
	Scale(ctx context.Context, app, version string, count int) error
}

// Traffic is the router as the engine drives it.
type Traffic interface {
	// Route serves blue plus green at weight (basis points); nil green removes green.
	// Instances no longer routed drain in the background.
	Route(app string, blue, green []Endpoint, weight int) error
	// Health reports on the routed instances of app by ID: Healthy only once a health check
	// has passed since the instance was routed, and the reason when it is not.
	Health(app string) map[string]Health
	// Split counts production requests per version since t.
	Split(app string, since time.Time) Split
	// Rebalance gives the returning clients of app that are not in green's cohort new
	// cohort buckets, once per generation gen: a gen not above the last one changes nothing.
	Rebalance(app string, gen int64) error
}

// Analyzer judges green against blue over the window.
type Analyzer interface {
	Evaluate(ctx context.Context, app string, window time.Duration, minRequests uint64) AnalysisResult
}

// HookRunner runs one hook of an app to completion.
type HookRunner interface {
	Run(ctx context.Context, s State, h HookWait) HookResult
}

// Store persists a deployment's state with the events of the decision that produced it.
type Store interface {
	Save(ctx context.Context, s State, events []Event) error
}

// Clock is the time source; tests drive it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Health is one instance's health as the router sees it.
type Health struct {
	Healthy bool
	Reason  string
}
