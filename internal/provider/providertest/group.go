package providertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/provider"
)

// GroupHarness adapts a GroupDriver to the suite.
type GroupHarness struct {
	// New returns a fresh driver over fresh state.
	New func(t *testing.T) provider.GroupDriver
	// Release returns a release of app "web" at version in slot that the driver can run.
	Release func(t *testing.T, version string, slot provider.Slot) provider.Release
	// Reopen returns a driver over old's state, as after a restart; nil when the driver
	// keeps no state of its own.
	Reopen func(t *testing.T, old provider.GroupDriver) provider.GroupDriver
	// Counts says the driver observes running counts (moto's ECS does not).
	Counts bool
	// Healthy says the driver itself observes health (the local fleet leaves it to the router).
	Healthy bool
	// Tick advances a fake clock while the suite polls; nil for real time.
	Tick func(d time.Duration)
}

// RunGroups runs the GroupDriver contract suite.
func RunGroups(t *testing.T, h GroupHarness) {
	t.Helper()
	t.Run("EnsureIsIdempotent", func(t *testing.T) { testEnsure(t, h) })
	t.Run("ScaleIsObserved", func(t *testing.T) { testScale(t, h) })
	t.Run("RetireIsIdempotent", func(t *testing.T) { testRetire(t, h) })
	if h.Reopen != nil {
		t.Run("ReopenLists", func(t *testing.T) { testReopenGroups(t, h) })
	}
}

var versionN int

func version() string { versionN++; return fmt.Sprintf("v%d-%d", versionN, time.Now().UnixNano()%1e5) }

func ensure(t *testing.T, h GroupHarness, d provider.GroupDriver, slot provider.Slot, count int) provider.Group {
	t.Helper()
	g, err := d.EnsureRelease(context.Background(), h.Release(t, version(), slot), count)
	if err != nil {
		t.Fatalf("EnsureRelease: %v", err)
	}
	return g
}

// reaches polls Observe until the group's desired count is count (and running and healthy,
// as far as the driver counts them).
func reaches(t *testing.T, h GroupHarness, d provider.GroupDriver, g provider.Group, count int) {
	t.Helper()
	end := time.Now().Add(deadline)
	var last string
	for time.Now().Before(end) {
		st, err := d.Observe(context.Background(), g)
		if err == nil && st.Desired == count && (!h.Counts || st.Running == count) && (!h.Healthy || st.Healthy == count) {
			return
		}
		last = fmt.Sprintf("%+v %v", st, err)
		if h.Tick != nil {
			h.Tick(100 * time.Millisecond)
		}
		time.Sleep(pollEvery)
	}
	t.Fatalf("group %s never reached %d: last %s", g.Ref, count, last)
}

func testEnsure(t *testing.T, h GroupHarness) {
	d := h.New(t)
	r := h.Release(t, version(), provider.Green)
	a, err := d.EnsureRelease(context.Background(), r, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.EnsureRelease(context.Background(), r, 2)
	if err != nil {
		t.Fatal(err)
	}
	if a.Ref == "" || a.Ref != b.Ref || a.Backend.Kind == "" {
		t.Fatalf("two EnsureRelease of one release gave %+v and %+v", a, b)
	}
	reaches(t, h, d, a, 2)
	gs, err := d.List(context.Background(), r.App)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRef(gs, a.Ref); n != 1 {
		t.Fatalf("List has the release's group %d times, want once: %+v", n, gs)
	}
}

func countRef(gs []provider.Group, ref string) int {
	return len(slices.DeleteFunc(slices.Clone(gs), func(g provider.Group) bool { return g.Ref != ref }))
}

func testScale(t *testing.T, h GroupHarness) {
	d := h.New(t)
	g := ensure(t, h, d, provider.Blue, 2)
	reaches(t, h, d, g, 2)
	if err := d.Scale(context.Background(), g, 1); err != nil {
		t.Fatal(err)
	}
	reaches(t, h, d, g, 1)
}

func testRetire(t *testing.T, h GroupHarness) {
	d := h.New(t)
	keep := ensure(t, h, d, provider.Blue, 1)
	g := ensure(t, h, d, provider.Green, 1)
	for i := range 2 {
		if err := d.Retire(context.Background(), g); err != nil {
			t.Fatalf("Retire #%d: %v", i+1, err)
		}
	}
	if _, err := d.Observe(context.Background(), g); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("Observe of a retired group = %v, want ErrNotFound", err)
	}
	gs, err := d.List(context.Background(), g.App)
	if err != nil {
		t.Fatal(err)
	}
	if countRef(gs, g.Ref) != 0 || countRef(gs, keep.Ref) != 1 {
		t.Fatalf("after retiring %s List has %+v", g.Ref, gs)
	}
}

func testReopenGroups(t *testing.T, h GroupHarness) {
	d := h.New(t)
	g := ensure(t, h, d, provider.Green, 1)
	d2 := h.Reopen(t, d)
	gs, err := d2.List(context.Background(), g.App)
	if err != nil {
		t.Fatal(err)
	}
	if countRef(gs, g.Ref) != 1 {
		t.Fatalf("a reopened driver lists %+v, without %s", gs, g.Ref)
	}
	reaches(t, h, d2, g, 1)
}
