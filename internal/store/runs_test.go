package store

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestRunsKeepOrderAndFreezeWhenDone: runs get per-app IDs in order, list newest first,
// update until done and never after, survive a reopen, and go with their app.
func TestRunsKeepOrderAndFreezeWhenDone(t *testing.T) {
	path := t.TempDir() + "/cutover.db"
	s := openStore(t, path)
	if _, err := s.CreateRun(Run{App: "web"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a run of an app never applied = %v, want ErrNotFound", err)
	}
	for _, app := range []string{"web", "api"} {
		if err := s.PutApp(App{Name: app, Spec: []byte("app: " + app)}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for i := range 3 {
		r, err := s.CreateRun(Run{App: "web", State: json.RawMessage(`{"n":` + string(rune('0'+i)) + `}`)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if ids[0] != "web-run-1" || ids[2] != "web-run-3" {
		t.Fatalf("run IDs %v, want web-run-1..3", ids)
	}
	if r, err := s.CreateRun(Run{App: "api"}); err != nil || r.ID != "api-run-1" {
		t.Fatalf("first run of api = %+v %v", r, err)
	}
	if _, err := s.UpdateRun("web-run-2", json.RawMessage(`{"n":"done"}`), true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRun("web-run-2", json.RawMessage(`{"n":"again"}`), false); !errors.Is(err, ErrConflict) {
		t.Fatalf("an update of a done run = %v, want ErrConflict", err)
	}
	if _, err := s.UpdateRun("web-run-9", nil, false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an update of a missing run = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRun("nonsense"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetRun(nonsense) = %v, want ErrNotFound", err)
	}
	s.Close()
	s = openStore(t, path)
	list, err := s.ListRuns("web", 2)
	if err != nil || len(list) != 2 || list[0].ID != "web-run-3" || list[1].ID != "web-run-2" || !list[1].Done || string(list[1].State) != `{"n":"done"}` {
		t.Fatalf("ListRuns(web, 2) = %+v %v, want runs 3 and 2 (done) after a reopen", list, err)
	}
	open, err := s.OpenRuns()
	if err != nil || len(open) != 3 {
		t.Fatalf("OpenRuns = %+v %v, want web-run-1, web-run-3 and api-run-1", open, err)
	}
	if err := s.DeleteApp("web"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListRuns("web", 0); len(list) != 0 {
		t.Fatalf("runs of a deleted app: %+v", list)
	}
}
