package store

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestApps(t *testing.T) {
	s := newStore(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, name := range []string{"web", "api", "worker"} {
		if err := s.PutApp(App{Name: name, Spec: []byte("name: " + name), UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutApp(App{Name: "web", Spec: []byte("name: web\nport: 80")}); err != nil {
		t.Fatal(err)
	}

	web, err := s.GetApp("web")
	if err != nil {
		t.Fatal(err)
	}
	if string(web.Spec) != "name: web\nport: 80" || web.UpdatedAt.IsZero() || web.UpdatedAt.Equal(at) {
		t.Errorf("GetApp(web) = %+v, want the replaced spec with a fresh time", web)
	}
	api, _ := s.GetApp("api")
	if !api.UpdatedAt.Equal(at) {
		t.Errorf("api.UpdatedAt = %v, want the caller's %v", api.UpdatedAt, at)
	}

	apps, err := s.ListApps()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "api,web,worker" {
		t.Errorf("ListApps = %s, want api,web,worker", got)
	}

	if err := s.PutApp(App{}); err == nil {
		t.Error("PutApp with no name succeeded")
	}
	_, err = s.GetApp("nope")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("GetApp(nope) = %v, want ErrNotFound naming it", err)
	}
	if err := s.DeleteApp("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteApp(nope) = %v, want ErrNotFound", err)
	}
}

func TestDeleteAppCascades(t *testing.T) {
	s := newStore(t)
	mustPutApp(t, s, "web")
	mustPutApp(t, s, "api")
	for _, app := range []string{"web", "api"} {
		if _, err := s.CreateRelease(Release{App: app, Version: "v1"}); err != nil {
			t.Fatal(err)
		}
		d, err := s.CreateDeployment(Deployment{App: app}, Event{Data: json.RawMessage(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutInstance(Instance{ID: app + "-i1", App: app, Release: "v1", Driver: "process"}); err != nil {
			t.Fatal(err)
		}

		// While a deployment runs, the app stays.
		err = s.DeleteApp(app)
		var active *ActiveError
		if !errors.As(err, &active) || active.ID != d.ID || !errors.Is(err, ErrActiveDeployment) {
			t.Fatalf("DeleteApp(%s) during %s = %v, want an ActiveError naming it", app, d.ID, err)
		}
		if err := s.UpdateDeployment(d.ID, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	webDeployments, _ := s.ListDeployments("web")

	if err := s.DeleteApp("web"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetApp("web"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetApp after delete = %v", err)
	}
	if _, err := s.GetRelease("web", "v1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRelease after delete = %v", err)
	}
	if _, err := s.GetDeployment(webDeployments[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDeployment after delete = %v", err)
	}
	if _, err := s.Events(webDeployments[0].ID, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Events after delete = %v", err)
	}
	if ins, _ := s.ListInstances(""); len(ins) != 1 || ins[0].App != "api" {
		t.Errorf("instances after delete = %+v, want only api's", ins)
	}

	// The other app is untouched, and the name can be used afresh.
	if rels, _ := s.ListReleases("api"); len(rels) != 1 {
		t.Errorf("api releases = %+v", rels)
	}
	mustPutApp(t, s, "web")
	if rels, err := s.ListReleases("web"); err != nil || len(rels) != 0 {
		t.Errorf("recreated web releases = %+v, %v; want none", rels, err)
	}
	d, err := s.CreateDeployment(Deployment{App: "web"})
	if err != nil || d.ID != "web-1" {
		t.Errorf("first deployment of the recreated app = %+v, %v", d, err)
	}
}

func TestReleases(t *testing.T) {
	s := newStore(t)
	mustPutApp(t, s, "web")
	mustPutApp(t, s, "api")
	for i, v := range []string{"v1", "v2", "v10"} {
		r, err := s.CreateRelease(Release{App: "web", Version: v, Spec: []byte("image: web:" + v)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Number != i+1 || r.CreatedAt.IsZero() {
			t.Errorf("CreateRelease(%s) = %+v, want number %d and a time", v, r, i+1)
		}
	}
	if r, err := s.CreateRelease(Release{App: "api", Version: "v1"}); err != nil || r.Number != 1 {
		t.Errorf("first api release = %+v, %v; numbers are per app", r, err)
	}

	r, err := s.GetRelease("web", "v2")
	if err != nil || r.Number != 2 || string(r.Spec) != "image: web:v2" || r.App != "web" {
		t.Errorf("GetRelease(web, v2) = %+v, %v", r, err)
	}
	rels, err := s.ListReleases("web")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rels {
		if r.Number != i+1 {
			t.Errorf("ListReleases[%d].Number = %d; want numeric order (v10 after v2)", i, r.Number)
		}
	}
	if len(rels) != 3 || rels[2].Version != "v10" {
		t.Errorf("ListReleases = %+v", rels)
	}

	for _, tc := range []struct {
		desc string
		rel  Release
		want error
	}{
		{"taken version", Release{App: "web", Version: "v2"}, ErrConflict},
		{"missing app", Release{App: "nope", Version: "v1"}, ErrNotFound},
		{"no version", Release{App: "web"}, nil},
		{"no app", Release{Version: "v1"}, nil},
	} {
		_, err := s.CreateRelease(tc.rel)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: CreateRelease = %v, want %v", tc.desc, err, tc.want)
		}
	}
	if _, err := s.CreateRelease(Release{App: "web", Version: "v2"}); !strings.Contains(err.Error(), "release #2") {
		t.Errorf("conflict message %q does not say which release holds the version", err)
	}
	if _, err := s.GetRelease("web", "v9"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"v9"`) {
		t.Errorf("GetRelease(v9) = %v", err)
	}
	if _, err := s.GetRelease("nope", "v1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRelease(nope) = %v", err)
	}
	if _, err := s.ListReleases("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListReleases(nope) = %v", err)
	}
}

func TestInstances(t *testing.T) {
	s := newStore(t)
	mustPutApp(t, s, "web")
	mustPutApp(t, s, "api")
	put := func(in Instance) {
		t.Helper()
		if err := s.PutInstance(in); err != nil {
			t.Fatal(err)
		}
	}
	put(Instance{ID: "web-b", App: "web", Release: "v1", Driver: "process", Handle: json.RawMessage(`{"pid":42}`)})
	put(Instance{ID: "web-a", App: "web", Release: "v1", Driver: "process"})
	put(Instance{ID: "api-a", App: "api", Release: "v3", Driver: "docker"})
	put(Instance{ID: "web-b", App: "web", Release: "v2", Driver: "process", Handle: json.RawMessage(`{"pid":43}`)})

	ins, err := s.ListInstances("web")
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 || ins[0].ID != "web-a" || ins[1].ID != "web-b" || ins[1].Release != "v2" || string(ins[1].Handle) != `{"pid":43}` || ins[1].CreatedAt.IsZero() {
		t.Errorf("ListInstances(web) = %+v", ins)
	}
	if all, _ := s.ListInstances(""); len(all) != 3 {
		t.Errorf("ListInstances(\"\") = %d instances, want 3", len(all))
	}

	for _, tc := range []struct {
		desc string
		in   Instance
		want error
	}{
		{"ID of another app's instance", Instance{ID: "api-a", App: "web"}, ErrConflict},
		{"missing app", Instance{ID: "x", App: "nope"}, ErrNotFound},
		{"no ID", Instance{App: "web"}, nil},
		{"handle not JSON", Instance{ID: "x", App: "web", Handle: json.RawMessage(`{pid`)}, nil},
	} {
		if err := s.PutInstance(tc.in); err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: PutInstance = %v, want %v", tc.desc, err, tc.want)
		}
	}
	if _, err := s.ListInstances("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListInstances(nope) = %v", err)
	}

	for range 2 { // the second delete finds nothing, and that is fine
		if err := s.DeleteInstance("web-a"); err != nil {
			t.Errorf("DeleteInstance(web-a) = %v", err)
		}
	}
	if err := s.DeleteInstance("never-existed"); err != nil {
		t.Errorf("DeleteInstance(never-existed) = %v", err)
	}
	if ins, _ := s.ListInstances("web"); len(ins) != 1 || ins[0].ID != "web-b" {
		t.Errorf("after delete: %+v", ins)
	}
}
