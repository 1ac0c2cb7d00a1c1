package apiserver

import (
	"github.com/cutover/cutover/internal/api"

	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes walks the served document: every path and method in it is served
// by a registered pattern (neither 404 nor 405 from the mux), and every registered route is
// in it.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := newServer(Options{Token: testToken})
	req := httptest.NewRequest("GET", "/api/openapi.json", nil)
	req = req.WithContext(WithLocal(context.Background()))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Security   []map[string][]string                 `json:"security"`
		Components struct {
			SecuritySchemes map[string]map[string]string `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	// Both ways in are documented: a bearer token, or the dashboard's session cookie.
	if b := doc.Components.SecuritySchemes["bearer"]; b["type"] != "http" || b["scheme"] != "bearer" {
		t.Errorf("bearer scheme %v", b)
	}
	if c := doc.Components.SecuritySchemes["session"]; c["type"] != "apiKey" || c["in"] != "cookie" || c["name"] != api.SessionCookie {
		t.Errorf("session scheme %v, want an apiKey in the %s cookie", c, api.SessionCookie)
	}
	if len(doc.Security) != 2 || doc.Security[0]["bearer"] == nil || doc.Security[1]["session"] == nil {
		t.Errorf("security %v, want bearer or session", doc.Security)
	}
	samples := map[string]string{"app": "web", "id": "d-1", "command": "promote", "stage": "build"}
	public := map[string]bool{}
	for _, rt := range routeTable() {
		public[rt.pattern()] = rt.public
	}
	wild := regexp.MustCompile(`\{([a-z]+)\}`)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			method = strings.ToUpper(method)
			documented[method+" "+path] = true
			concrete := wild.ReplaceAllStringFunc(path, func(m string) string { return samples[strings.Trim(m, "{}")] })
			req := httptest.NewRequest(method, concrete, nil)
			mux := s.mux
			if public[method+" "+path] {
				mux = s.public
			}
			if _, pattern := mux.Handler(req); pattern != method+" "+path {
				t.Errorf("%s %s (as %s) is served by pattern %q", method, path, concrete, pattern)
			}
		}
	}
	for _, rt := range routeTable() {
		if !documented[rt.pattern()] {
			t.Errorf("route %s is not in the document", rt.pattern())
		}
	}
	if len(documented) != len(routeTable()) {
		t.Errorf("the document has %d operations, the table %d routes", len(documented), len(routeTable()))
	}
	// Every route the api package documents is in the table (its doc comment lists them).
	for _, want := range []string{"GET /api/v1/apps", "PUT /api/v1/apps/{app}", "POST /api/v1/validate", "DELETE /api/v1/apps/{app}",
		"POST /api/v1/apps/{app}/deployments", "GET /api/v1/deployments/{id}/events", "GET /metrics"} {
		if !documented[want] {
			t.Errorf("%s missing from the document", want)
		}
	}
}

// TestOpenAPISchemas checks the wire types are described from their Go definitions.
func TestOpenAPISchemas(t *testing.T) {
	doc := openAPIDoc(routeTable())
	defs := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"App", "Deployment", "Event", "DeployRequest", "ErrorBody", "Error", "Problem", "Signals", "VersionSignals", "Notice", "Why", "Instance", "LogLine", "Release", "Validation"} {
		if defs[name] == nil {
			t.Errorf("schema %s missing", name)
		}
	}
	props := defs["Deployment"].(map[string]any)["properties"].(map[string]any)
	if props["step_ends_at"].(map[string]any)["format"] != "date-time" {
		t.Errorf("Deployment.step_ends_at: %v", props["step_ends_at"])
	}
	if _, err := json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
}
