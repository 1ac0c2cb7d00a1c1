package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/api"
)

// call sends one request with token and returns the status and the error body, if any.
func call(t *testing.T, base, token, method, path string, body []byte) (int, api.Error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends event streams once the status is read
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var eb api.ErrorBody
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(data, &eb)
	}
	if eb.Error == nil {
		eb.Error = &api.Error{}
	}
	return resp.StatusCode, *eb.Error
}

// requestsFor is every concrete request a route answers: each value of an enumerated path
// wildcard, a real app and deployment, and a body of the route's kind.
func requestsFor(rt route, spec []byte, deployment string) (paths []string, body []byte) {
	path := strings.NewReplacer("{app}", "web", "{id}", deployment).Replace(rt.path)
	paths = []string{path}
	for _, p := range rt.query {
		if p.in == "path" && strings.Contains(path, "{"+p.name+"}") {
			paths = nil
			for _, v := range p.enum {
				paths = append(paths, strings.ReplaceAll(path, "{"+p.name+"}", v))
			}
		}
	}
	switch {
	case rt.reqYAML:
		body = spec
	case rt.reqJSON != nil:
		body = []byte(`{"version": "v9"}`)
	}
	return paths, body
}

// snapshot is what a refused request must not have changed.
type snapshot struct {
	Apps     []api.App
	History  []string // id phase weight step paused, per deployment
	Releases int
}

func (r *rig) snapshot() snapshot {
	r.t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	if s.Apps, err = r.client.Apps(ctx); err != nil {
		r.t.Fatal(err)
	}
	hist, err := r.client.History(ctx, "web")
	if err != nil {
		r.t.Fatal(err)
	}
	for _, d := range hist {
		s.History = append(s.History, fmt.Sprintf("%s %s %g%% step %d paused %t", d.ID, d.Phase, d.Weight, d.Step, d.Paused))
	}
	rels, err := r.client.Releases(ctx, "web")
	if err != nil {
		r.t.Fatal(err)
	}
	s.Releases = len(rels)
	return s
}

// TestReadOnlyToken: the viewer token may call every route the table marks viewer, and is
// refused, with nothing changed, by every other route in the table, under every value of its
// path wildcards. A route added to the table is covered without touching this test.
func TestReadOnlyToken(t *testing.T) {
	r := newRig(t)
	r.apply(gated)
	r.deploy("v1")
	d, err := r.client.Deploy(context.Background(), "web", api.DeployRequest{Version: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	r.waitFor(d.ID, "held at the gate", func(d api.Deployment) bool { return d.Phase == "shifting" && d.Weight == 10 })
	// A spec that differs from the applied one, so an apply that got through would show.
	changed := bytes.Replace(r.specText(gated), []byte("stop_grace: 2s"), []byte("stop_grace: 3s"), 1)

	before := r.snapshot()
	refused := 0
	for _, rt := range routeTable() {
		if rt.public {
			continue // no token at all: its signature (the webhook's) is what lets it in
		}
		paths, body := requestsFor(rt, changed, d.ID)
		for _, path := range paths {
			status, e := call(t, r.srv.URL, testViewerToken, rt.method, path, body)
			switch {
			case rt.viewer && (status == http.StatusForbidden || status == http.StatusUnauthorized):
				t.Errorf("viewer: %s %s: %d %s, want it allowed", rt.method, path, status, e.Message)
			case !rt.viewer && (status != http.StatusForbidden || e.Code != api.CodeForbidden || !strings.Contains(e.Message, "read-only")):
				t.Errorf("viewer: %s %s: %d %+v, want 403 forbidden saying the token is read-only", rt.method, path, status, e)
			case !rt.viewer:
				refused++
			}
		}
	}
	// apply, delete, deploy, five commands, rollback, a following router's two routes (the
	// table names every instance's address; a report feeds analysis), a pipeline run and
	// its approval.
	if refused != 13 {
		t.Errorf("%d requests refused to the viewer, want 13", refused)
	}
	if after := r.snapshot(); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused requests changed the state:\nbefore %+v\nafter  %+v", before, after)
	}

	// The admin token may do what the viewer may not.
	if status, e := call(t, r.srv.URL, testToken, "POST", "/api/v1/apps/web/abort", nil); status != http.StatusAccepted {
		t.Fatalf("admin abort: %d %+v", status, e)
	}
	r.waitFor(d.ID, "aborted", terminal)
	if status, _ := call(t, r.srv.URL, testViewerToken+"x", "GET", "/api/v1/apps", nil); status != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", status)
	}
}

func TestWhoAmI(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, c := range []struct {
		desc   string
		client *api.Client
		want   string
	}{
		{"admin token", r.client, api.RoleAdmin},
		{"read-only token", api.NewTCP(r.srv.URL, testViewerToken, nil), api.RoleViewer},
	} {
		if w, err := c.client.WhoAmI(ctx); err != nil || w.Role != c.want {
			t.Errorf("%s: %+v, %v; want role %s", c.desc, w, err, c.want)
		}
	}
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.srv.Config.Handler.ServeHTTP(w, req.WithContext(WithLocal(req.Context())))
	}))
	defer local.Close()
	if w, err := api.NewTCP(local.URL, "", nil).WhoAmI(ctx); err != nil || w.Role != api.RoleAdmin {
		t.Errorf("unix socket: %+v, %v; want admin", w, err)
	}
}

// TestNoReadOnlyToken: a server given no read-only token accepts no empty or blank bearer
// as one.
func TestNoReadOnlyToken(t *testing.T) {
	s := newServer(Options{Token: testToken})
	for _, auth := range []string{"Bearer ", "Bearer  ", "Bearer"} {
		req := httptest.NewRequest("GET", "/api/v1/whoami", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, rec.Code)
		}
	}
}

// TestViewerRoutesChangeNothing pins the routes a viewer may call that are not GETs: each
// one must be read-only by nature, so adding one here is a decision, not an accident.
func TestViewerRoutesChangeNothing(t *testing.T) {
	allowed := map[string]bool{"POST /api/v1/validate": true}
	for _, rt := range routeTable() {
		if rt.viewer && rt.method != http.MethodGet && !allowed[rt.pattern()] {
			t.Errorf("%s is open to the read-only token but is not a GET", rt.pattern())
		}
	}
	// The document says which role each operation needs, and that admin ones may answer 403.
	doc := openAPIDoc(routeTable())
	for _, rt := range routeTable() {
		op := doc["paths"].(map[string]any)[rt.path].(map[string]any)[strings.ToLower(rt.method)].(map[string]any)
		want, want403 := api.RoleViewer, false
		switch {
		case rt.public:
			want = "public"
			if sec, ok := op["security"].([]any); !ok || len(sec) != 0 {
				t.Errorf("%s: security %v, want none (a public route)", rt.pattern(), op["security"])
			}
		case !rt.viewer:
			want, want403 = api.RoleAdmin, true
		}
		_, has403 := op["responses"].(map[string]any)["403"]
		if op["x-cutover-role"] != want || has403 != want403 {
			t.Errorf("%s: x-cutover-role %v, 403 documented %v; want %s", rt.pattern(), op["x-cutover-role"], has403, want)
		}
	}
}
