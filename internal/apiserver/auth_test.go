package apiserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/api"
)

func TestAuth(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	spec := r.specText("")
	for _, c := range []struct {
		desc   string
		client *api.Client
	}{
		{"no token", api.NewTCP(r.srv.URL, "", nil)},
		{"wrong token", api.NewTCP(r.srv.URL, "not-the-token", nil)},
		{"token prefix", api.NewTCP(r.srv.URL, testToken[:4], nil)},
	} {
		t.Run(c.desc, func(t *testing.T) {
			_, err := c.client.Apps(ctx)
			e := apiErr(t, err, http.StatusUnauthorized, api.CodeUnauthorized)
			if !strings.Contains(e.Message, "token file") {
				t.Errorf("the message should say where the token is: %q", e.Message)
			}
			_, err = c.client.Apply(ctx, "web", spec)
			apiErr(t, err, http.StatusUnauthorized, api.CodeUnauthorized)
			_, err = c.client.Deploy(ctx, "web", api.DeployRequest{Version: "v1"})
			apiErr(t, err, http.StatusUnauthorized, api.CodeUnauthorized)
			for _, path := range []string{"/metrics", "/api/openapi.json", "/no/such/route"} {
				resp, err := http.Get(r.srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("GET %s without a token: %s", path, resp.Status)
				}
			}
		})
	}
	apps, err := r.client.Apps(ctx)
	if err != nil || len(apps) != 0 {
		t.Fatalf("after refused writes the app list is %v, %v; want empty", apps, err)
	}

	// A request marked local (the unix socket) needs no token.
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.srv.Config.Handler.ServeHTTP(w, req.WithContext(WithLocal(req.Context())))
	}))
	defer local.Close()
	lc := api.NewTCP(local.URL, "", nil)
	if _, err := lc.Apply(ctx, "web", spec); err != nil {
		t.Fatalf("local apply without a token: %v", err)
	}
	if apps, err := lc.Apps(ctx); err != nil || len(apps) != 1 || apps[0].Name != "web" {
		t.Fatalf("local list: %v, %v", apps, err)
	}
	resp, err := http.Get(local.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "cutover_up") {
		t.Fatalf("local /metrics: %s %q", resp.Status, body)
	}
}

func TestInvalidSpecListsEveryProblem(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	bad := strings.Replace(string(r.specText("")), "instances: 1", "instances: -3", 1)
	bad = strings.Replace(bad, "interval: 100ms", "interval: soon", 1)
	bad = strings.Replace(bad, "keep_warm: 30s", "keep_warm: 30s\ncolour: blue", 1)
	_, err := r.client.Apply(ctx, "web", []byte(bad))
	e := apiErr(t, err, http.StatusBadRequest, api.CodeInvalidSpec)
	if len(e.Problems) != 3 {
		t.Fatalf("want 3 problems, got %d: %+v", len(e.Problems), e.Problems)
	}
	for _, p := range e.Problems {
		if p.Path == "" || p.Message == "" {
			t.Errorf("a problem without a path or message: %+v", p)
		}
	}
	if apps, err := r.eng.Apps(); err != nil || len(apps) != 0 {
		t.Fatalf("an invalid spec changed the store: %v, %v", apps, err)
	}
	// Validate reports the same problems without storing anything.
	v, err := r.client.Validate(ctx, []byte(bad))
	if err != nil || v.Valid || len(v.Problems) != 3 {
		t.Fatalf("validate: %+v, %v", v, err)
	}
	// The spec's app must be the one the URL names.
	_, err = r.client.Apply(ctx, "other", r.specText(""))
	if e := apiErr(t, err, http.StatusBadRequest, api.CodeBadRequest); !strings.Contains(e.Message, "other") {
		t.Errorf("mismatch message: %q", e.Message)
	}
}

func TestHostileInput(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.apply("")
	do := func(method, path, body string) (int, api.Error) {
		t.Helper()
		req, _ := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode >= 300 && ct != "application/json" {
			t.Errorf("%s %s: error content type %q", method, path, ct)
		}
		var eb api.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		if eb.Error == nil {
			eb.Error = &api.Error{}
		}
		return resp.StatusCode, *eb.Error
	}
	for _, c := range []struct {
		desc, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown field", "POST", "/api/v1/apps/web/deployments", `{"version":"v1","force":true}`, 400, api.CodeBadRequest},
		{"empty version", "POST", "/api/v1/apps/web/deployments", `{"version":""}`, 400, api.CodeBadRequest},
		{"bad version", "POST", "/api/v1/apps/web/deployments", `{"version":"../etc"}`, 400, api.CodeBadRequest},
		{"not JSON", "POST", "/api/v1/apps/web/deployments", `version=v1`, 400, api.CodeBadRequest},
		{"two bodies", "POST", "/api/v1/apps/web/deployments", `{"version":"v1"}{"version":"v2"}`, 400, api.CodeBadRequest},
		{"spec too large", "PUT", "/api/v1/apps/web", "app: web\n" + strings.Repeat("#", maxBody), 413, api.CodeBadRequest},
		{"deploy body too large", "POST", "/api/v1/apps/web/deployments", `{"version":"` + strings.Repeat("v", maxBody) + `"}`, 413, api.CodeBadRequest},
		{"unknown app", "GET", "/api/v1/apps/nope", "", 404, api.CodeNotFound},
		{"unknown deployment", "GET", "/api/v1/deployments/nope", "", 404, api.CodeNotFound},
		{"unknown command", "POST", "/api/v1/apps/web/explode", "", 404, api.CodeNotFound},
		{"command with nothing running", "POST", "/api/v1/apps/web/approve", "", 409, api.CodeConflict},
		{"rollback with nothing to go back to", "POST", "/api/v1/apps/web/rollback", "", 409, api.CodeConflict},
		{"why before any deployment", "GET", "/api/v1/apps/web/why", "", 404, api.CodeNotFound},
		{"bad window", "GET", "/api/v1/apps/web/signals?window=forever", "", 400, api.CodeBadRequest},
		{"bad lines", "GET", "/api/v1/apps/web/logs?lines=-1", "", 400, api.CodeBadRequest},
		{"no route", "GET", "/api/v2/apps", "", 404, api.CodeNotFound},
		{"wrong method", "PATCH", "/api/v1/apps/web", "", 405, api.CodeBadRequest},
	} {
		t.Run(c.desc, func(t *testing.T) {
			status, e := do(c.method, c.path, c.body)
			if status != c.status || e.Code != c.code || e.Message == "" {
				t.Fatalf("%s %s: %d %+v, want %d %s", c.method, c.path, status, e, c.status, c.code)
			}
		})
	}
	if h, err := r.client.History(ctx, "web"); err != nil || len(h) != 0 {
		t.Fatalf("hostile requests started deployments: %v, %v", h, err)
	}
	if _, err := r.client.Signals(ctx, "web", 0); err == nil {
		t.Fatal("a zero window should be refused")
	}
}
