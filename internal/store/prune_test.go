package store

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDeleteDeploymentsAndReleases(t *testing.T) {
	s := newStore(t)
	mustPutApp(t, s, "web")
	mustPutApp(t, s, "api")
	ev := Event{Data: json.RawMessage(`{"msg":"x"}`)}
	var ids []string
	for range 3 {
		d, err := s.CreateDeployment(Deployment{App: "web", Terminal: true}, ev)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	active, err := s.CreateDeployment(Deployment{App: "web"}, ev)
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateDeployment(Deployment{App: "api", Terminal: true}, ev)
	if err != nil {
		t.Fatal(err)
	}

	// The deployment in progress refuses the whole call.
	var ae *ActiveError
	if err := s.DeleteDeployments("web", []string{ids[0], active.ID}); !errors.As(err, &ae) || ae.ID != active.ID {
		t.Fatalf("deleting the active deployment: %v, want an ActiveError", err)
	}
	if _, err := s.GetDeployment(ids[0]); err != nil {
		t.Fatalf("a refused delete deleted %s: %v", ids[0], err)
	}
	// Another app's deployment is skipped, not deleted.
	if err := s.DeleteDeployments("web", []string{ids[0], ids[1], other.ID, "web-99"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:2] {
		if _, err := s.GetDeployment(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s after delete: %v, want not found", id, err)
		}
		if _, err := s.Events(id, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("events of %s after delete: %v, want not found", id, err)
		}
	}
	if _, err := s.GetDeployment(other.ID); err != nil {
		t.Errorf("api's deployment was touched: %v", err)
	}
	ds, err := s.ListDeployments("web")
	if err != nil || len(ds) != 2 || ds[0].ID != active.ID || ds[1].ID != ids[2] {
		t.Fatalf("web's deployments after delete: %+v, %v", ds, err)
	}
	// The sequence goes on: no ID is reused.
	if err := s.UpdateDeployment(active.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	if d, err := s.CreateDeployment(Deployment{App: "web"}); err != nil || d.ID != "web-5" {
		t.Fatalf("next deployment: %+v, %v; want web-5", d, err)
	}

	for _, v := range []string{"v1", "v2", "v3"} {
		if _, err := s.CreateRelease(Release{App: "web", Version: v, Spec: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteReleases("web", []string{"v1", "nope"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRelease("web", "v1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("v1 after delete: %v, want not found", err)
	}
	rels, err := s.ListReleases("web")
	if err != nil || len(rels) != 2 || rels[0].Version != "v2" {
		t.Fatalf("releases after delete: %+v, %v", rels, err)
	}
	rel, err := s.CreateRelease(Release{App: "web", Version: "v1", Spec: []byte("again")})
	if err != nil || rel.Number != 4 {
		t.Fatalf("v1 created again: %+v, %v; want number 4", rel, err)
	}
}
