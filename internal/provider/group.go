package provider

import "context"

// Release names what a GroupDriver runs: a version of an app in a slot, with the
// driver-specific part of the release's spec (an image, a task definition).
type Release struct {
	App, Version string
	Slot         Slot
	Image        string            // the artifact, when the driver runs images
	Env          map[string]string // extra environment; drivers add CUTOVER_VERSION etc.
}

// Group is one release's group as a driver made it. It is a value the engine persists.
type Group struct {
	App, Version string
	Slot         Slot
	Ref          string  // the driver's ID for it (a task set ARN, an instance ID prefix)
	Backend      Backend // what a TrafficProvider binds for this group
}

// GroupStatus is what a driver observes of a group.
type GroupStatus struct {
	Desired, Running, Healthy int
	Stable                    bool     // the driver reports it reached its desired state
	Failures                  []string // why tasks or instances stopped or are unhealthy
	// Crashed says instances of the group keep exiting (a crash loop, an OOM kill, a failed
	// pod) rather than being on their way: the engine treats the group as exited and does
	// not wait for it to recover, before traffic or after.
	Crashed bool
}

// GroupDriver runs releases as groups. Every method is idempotent: EnsureRelease finds
// before it creates (a create can fail after creating), Retire of a gone group succeeds.
type GroupDriver interface {
	// EnsureRelease makes r's group exist at count and returns it.
	EnsureRelease(ctx context.Context, r Release, count int) (Group, error)
	// Scale sets g's count.
	Scale(ctx context.Context, g Group, count int) error
	// Observe reports on g.
	Observe(ctx context.Context, g Group) (GroupStatus, error)
	// Retire scales g to nothing and deletes it; a group that is gone is retired.
	Retire(ctx context.Context, g Group) error
	// List returns app's groups the driver made, for re-adoption after a restart.
	List(ctx context.Context, app string) ([]Group, error)
}

// Promoter is implemented by drivers that mark the serving group (ECS primary task set).
type Promoter interface {
	Promote(ctx context.Context, g Group) error
}

// Replacer is implemented by drivers that can move a running group to another release in
// place, the mixed-fleet pattern: an Auto Scaling group's launch template changed and its
// instances replaced batch instances at a time, the group's size kept. When a batch does
// not become healthy in time the group runs the release it had again (the old instances'
// replacements launched from it) and the error says why. It returns the group at r.Version.
// A repeated call (after a crash) goes on from where the group is.
type Replacer interface {
	Replace(ctx context.Context, g Group, r Release, batch int) (Group, error)
}
