package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
	"github.com/cutover/cutover/internal/store"
)

func TestForget(t *testing.T) {
	dep := func(id string, phase deploy.Phase, green, blue string) deploy.State {
		return deploy.State{ID: id, Phase: phase, Plan: deploy.Plan{GreenVersion: green, BlueVersion: blue}}
	}
	rels := func(vs ...string) []release {
		out := make([]release, len(vs))
		for i, v := range vs {
			out[i] = release{number: i + 1, version: v}
		}
		return out
	}
	tests := []struct {
		desc           string
		hist           []deploy.State
		rels           []release
		keepD, keepR   int
		wantD, wantRel []string
	}{
		{desc: "within the limits nothing goes",
			hist: []deploy.State{dep("w-2", deploy.PhaseSucceeded, "v2", "v1"), dep("w-1", deploy.PhaseSucceeded, "v1", "")},
			rels: rels("v1", "v2"), keepD: 5, keepR: 5},
		{desc: "old successes go, and releases no kept one names",
			hist: []deploy.State{dep("w-4", deploy.PhaseSucceeded, "v4", "v3"), dep("w-3", deploy.PhaseSucceeded, "v3", "v2"),
				dep("w-2", deploy.PhaseSucceeded, "v2", "v1"), dep("w-1", deploy.PhaseSucceeded, "v1", "")},
			rels: rels("v1", "v2", "v3", "v4"), keepD: 2, keepR: 1, wantD: []string{"w-2", "w-1"}, wantRel: []string{"v1"}},
		{desc: "the newest success stays behind failures, and the blue it names",
			hist: []deploy.State{dep("w-5", deploy.PhaseFailed, "v5", "v2"), dep("w-4", deploy.PhaseRolledBack, "v4", "v2"),
				dep("w-3", deploy.PhaseFailed, "v3", "v2"), dep("w-2", deploy.PhaseSucceeded, "v2", "v1"), dep("w-1", deploy.PhaseSucceeded, "v1", "")},
			rels: rels("v1", "v2", "v3", "v4", "v5"), keepD: 2, keepR: 1, wantD: []string{"w-3", "w-1"}, wantRel: []string{"v3"}},
		{desc: "the deployment in progress stays past the count",
			hist: []deploy.State{dep("w-3", deploy.PhaseShifting, "v3", "v2"), dep("w-2", deploy.PhaseSucceeded, "v2", "v1"), dep("w-1", deploy.PhaseFailed, "v1", "")},
			rels: rels("v0", "v1", "v2", "v3"), keepD: 0, keepR: 0, wantD: []string{"w-1"}, wantRel: []string{"v0"}},
		{desc: "releases never deployed go by age",
			hist: []deploy.State{dep("w-1", deploy.PhaseSucceeded, "v9", "")},
			rels: rels("a", "b", "c", "v9"), keepD: 1, keepR: 2, wantRel: []string{"a", "b"}},
	}
	for _, tc := range tests {
		ids, versions := forget(tc.hist, tc.rels, tc.keepD, tc.keepR)
		if !slices.Equal(ids, tc.wantD) || !slices.Equal(versions, tc.wantRel) {
			t.Errorf("%s: forget = %v, %v; want %v, %v", tc.desc, ids, versions, tc.wantD, tc.wantRel)
		}
	}
}

// TestE2EHistoryIsPruned: an engine keeping 2 deployments and 1 release per app, and 1 app,
// forgets older history as deployments start, keeps what blue and a rollback need, and
// refuses a second app with a message that says what to do.
func TestE2EHistoryIsPruned(t *testing.T) {
	r := newRig(t)
	r.close()
	r.limits = Limits{MaxApps: 1, KeepDeployments: 2, KeepReleases: 1}
	r.open()
	text := sampletest.Spec(t, r.listen, sampletest.Options{Instances: 1, StartupGrace: "1s"}, "strategy: {preset: AllAtOnce}\n")
	if err := r.eng.Apply(r.parse(text)); err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(sampletest.Spec(t, sampletest.FreeAddr(t), sampletest.Options{}, ""), "app: web", "app: other", 1)
	err := r.eng.Apply(r.parse(other))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "--max-apps") {
		t.Fatalf("a second app past MaxApps 1: %v, want ErrLimit naming --max-apps", err)
	}
	if err := r.eng.Apply(r.parse(text)); err != nil {
		t.Fatalf("applying the same app again: %v", err)
	}

	var ids []string
	for _, v := range []string{"v1", "v2", "v3", "v4", "v5"} {
		var set map[string]string
		if v > "v2" {
			set = map[string]string{"SAMPLE_UNHEALTHY": "1"}
		}
		s := r.deploy(v, set)
		if want := map[bool]deploy.Phase{true: deploy.PhaseSucceeded, false: deploy.PhaseFailed}[set == nil]; s.Phase != want {
			t.Fatalf("%s: %s (%s), want %s", v, s.Phase, s.Reason, want)
		}
		ids = append(ids, s.ID)
	}
	hist, err := r.eng.History("web")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, s := range hist {
		kept = append(kept, s.Plan.GreenVersion)
	}
	// v5 started when v1-v4 were stored: v4 and v5 are the newest two, v2 the newest success.
	if want := []string{"v5", "v4", "v2"}; !slices.Equal(kept, want) {
		t.Fatalf("history keeps %v, want %v", kept, want)
	}
	for _, i := range []int{0, 2} {
		if _, err := r.eng.Deployment(ids[i]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("pruned deployment %s: %v, want not found", ids[i], err)
		}
		if _, err := r.store.Events(ids[i], 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("events of pruned deployment %s: %v, want not found", ids[i], err)
		}
	}
	rels, err := r.eng.Releases("web")
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, rel := range rels {
		versions = append(versions, rel.Version)
	}
	if want := []string{"v1", "v2", "v4", "v5"}; !slices.Equal(versions, want) {
		t.Fatalf("releases kept: %v, want %v (v3 named by no kept deployment)", versions, want)
	}
	if v := version(t, r.url); v != "v2" {
		t.Fatalf("blue after pruning answers %s, want v2", v)
	}
	// A rollback still finds the version before v2; v3 can be deployed again as a new release.
	if _, err := r.eng.Rollback(context.Background(), "web"); err != nil {
		t.Fatalf("rollback after pruning: %v", err)
	}
	if v := version(t, r.url); v != "v1" {
		t.Fatalf("after the rollback %s answers, want v1", v)
	}
	if s := r.deploy("v3", nil); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v3 again after its release was pruned: %s: %s", s.Phase, s.Reason)
	}
}
