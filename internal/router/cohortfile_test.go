package router

import (
	"path/filepath"
	"testing"
)

// TestCohortFileSharedAndLasting: two mappings of one file (two router processes of a data
// dir, an upgrade's old and new process) count on the same word, and a router started later
// continues where the others left off; apps get their own slots.
func TestCohortFileSharedAndLasting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router-cohorts")
	a, err := openCohortFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openCohortFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := a.counter("web"), b.counter("web")
	for i := 0; i < 10; i++ {
		ca.Add(1)
		cb.Add(1)
	}
	if got := ca.Load(); got != 20 || cb.Load() != 20 {
		t.Fatalf("counters %d and %d after 10 adds on each mapping, want 20 on both", got, cb.Load())
	}
	if other := b.counter("api"); other.Load() != 0 || other == cb {
		t.Fatalf("app api shares web's counter (%d)", other.Load())
	}
	a.close()
	b.close()
	c, err := openCohortFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if got := c.counter("web").Load(); got != 20 {
		t.Fatalf("a reopened file counts %d for web, want 20", got)
	}
}

// TestRouterCohortsContinueAcrossRestart: a router restarted on the same cohort file goes on
// with the sequence, so clients arriving around a restart still split fairly.
func TestRouterCohortsContinueAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router-cohorts")
	blue, green := startInstance(t, "blue", nil), startInstance(t, "green", nil)
	tbl := appTable([]*testInstance{blue}, []*testInstance{green}, 1000)
	for run := 1; run <= 2; run++ {
		tr := startRouter(t, Options{CohortFile: path}, tbl)
		for i := 0; i < 5; i++ {
			get(t, newClient(), tr.url+"/")
		}
		if got := tr.cohorts[appName(tbl)].Load(); got != uint64(5*run) {
			t.Fatalf("router %d: the shared counter is at %d after %d new clients in all", run, got, 5*run)
		}
		_ = tr.Close(t.Context())
	}
}

func appName(t Table) string { return t.Apps[0].Name }
