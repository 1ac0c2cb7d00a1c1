package apiserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/spec"
)

// FuzzMutatingRoutes sends arbitrary bodies, path parameters and query strings to every
// route that can change state, through the real handler over a real engine and store.
//
//	go test -run '^$' -fuzz '^FuzzMutatingRoutes$' -fuzztime 60s -parallel 1 ./internal/apiserver/
//
// Properties: the handler never panics and never answers 5xx; every 4xx is a JSON api.Error
// with a code and a message; a request that is not a success changes nothing (apps, specs,
// releases, deployments); and whatever a success stored reads back as a valid spec. After a
// success the rig is reset to its one app, so every input starts from the same state.
func FuzzMutatingRoutes(f *testing.F) {
	rig := newFuzzRig(f)
	valid := fuzzSpec(rig.listen)
	for _, s := range []struct {
		route        uint8
		app, param   string
		query, body  string
		withoutToken bool
	}{
		{route: routePut, app: fuzzApp, body: valid},
		{route: routePut, app: "other", body: valid},
		{route: routePut, app: "other", body: strings.Replace(valid, "app: fz", "app: other", 1)}, // the listener is taken
		{route: routePut, app: fuzzApp, body: valid + "strategy:\n  canary:\n    steps: [{weight: 150}]\n"},
		{route: routePut, app: fuzzApp, body: "app: fz\nroutes: [{listen: nowhere}]\nrun: {process: {command: []}}\n"},
		{route: routePut, app: fuzzApp, body: "\xff\xfe{[", query: "dry=1"},
		{route: routePut, app: "%2e%2e", body: valid},
		{route: routeValidate, body: valid},
		{route: routeValidate, body: "app: [unclosed"},
		{route: routeDelete, app: fuzzApp},
		{route: routeDelete, app: "nope"},
		{route: routeDeploy, app: fuzzApp, body: `{"version":"v2"}`},
		{route: routeDeploy, app: fuzzApp, body: `{"version":"v2","set":{"LOG_LEVEL":"debug"}}`},
		{route: routeDeploy, app: fuzzApp, body: `{"version":"v2","set":{"PORT":"1"}}`},
		{route: routeDeploy, app: fuzzApp, body: `{"version":"../../etc"}`},
		{route: routeDeploy, app: fuzzApp, body: `{"version":"v2"} {"version":"v3"}`},
		{route: routeDeploy, app: fuzzApp, body: `{"version":"v2","extra":true}`},
		{route: routeDeploy, app: "nope", body: `{"version":"v2"}`},
		{route: routeDeploy, app: fuzzApp, body: `{"version":"v2"}`, withoutToken: true},
		{route: routeCommand, app: fuzzApp, param: "abort"},
		{route: routeCommand, app: fuzzApp, param: "self-destruct"},
		{route: routeCommand, app: "nope", param: "promote", query: "force=true"},
		{route: routeRollback, app: fuzzApp},
		{route: routeRollback, app: "nope"},
	} {
		route := s.route
		if s.withoutToken {
			route |= noToken
		}
		f.Add(route, s.app, s.param, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, route uint8, app, param, query string, body []byte) {
		req := fuzzRequest(route, app, param, query, body)
		if req == nil {
			return // net/http would refuse it before any handler runs
		}
		if req.Method == http.MethodPut {
			// An accepted spec makes the router listen: keep it on the loopback interface.
			if a, err := spec.Parse(bytes.NewReader(body)); err == nil && !loopbackOnly(a) {
				return
			}
		}
		if rig.dirty { // the previous input failed half-way
			rig.reset(t)
		}
		rig.dirty = true
		defer func() { rig.dirty = t.Failed() }()
		before := rig.state(t)
		w := httptest.NewRecorder()
		rig.h.ServeHTTP(w, req)
		status, got := w.Code, w.Body.String()
		what := fmt.Sprintf("%s %s with body %q", req.Method, req.RequestURI, clipped(body))
		if status >= 500 {
			t.Fatalf("%s: %d for a client's input: %s", what, status, got)
		}
		if status >= 400 {
			checkErrorBody(t, what, w)
		}
		if status >= 300 {
			rig.settle(t)
			if after := rig.state(t); after != before {
				t.Fatalf("%s was refused with %d but changed the state:\nbefore:\n%s\nafter:\n%s", what, status, before, after)
			}
			return
		}
		rig.settle(t)
		apps, err := rig.eng.Apps()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			rig.storedSpecsParse(t, a.Name)
		}
		if req.Method != http.MethodPost || req.URL.Path != "/api/v1/validate" {
			rig.reset(t)
		}
	})
}

// The mutating routes FuzzMutatingRoutes drives, by the route byte modulo their number; the
// high bit of the byte sends the request without the token.
const (
	routePut uint8 = iota
	routeValidate
	routeDelete
	routeDeploy
	routeCommand
	routeRollback
	mutatingRoutes
	noToken uint8 = 0x80
)

// fuzzRequest builds a request as net/http's server would read it off the wire: the raw app
// and command segments and query go into the request target as they are. It returns nil for
// a request the server would refuse to parse.
func fuzzRequest(route uint8, app, param, query string, body []byte) *http.Request {
	var method, target, ctype string
	switch route &^ noToken % mutatingRoutes {
	case routePut:
		method, target, ctype = "PUT", "/api/v1/apps/"+app, "application/yaml"
	case routeValidate:
		method, target, ctype = "POST", "/api/v1/validate", "application/yaml"
	case routeDelete:
		method, target = "DELETE", "/api/v1/apps/"+app
	case routeDeploy:
		method, target, ctype = "POST", "/api/v1/apps/"+app+"/deployments", "application/json"
	case routeCommand:
		method, target = "POST", "/api/v1/apps/"+app+"/"+param
	case routeRollback:
		method, target = "POST", "/api/v1/apps/"+app+"/rollback"
	}
	if query != "" {
		target += "?" + query
	}
	var raw bytes.Buffer
	fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: cutover.test\r\nContent-Length: %d\r\n", method, target, len(body))
	if route&noToken == 0 {
		raw.WriteString("Authorization: Bearer " + testToken + "\r\n")
	}
	if ctype != "" {
		raw.WriteString("Content-Type: " + ctype + "\r\n")
	}
	raw.WriteString("\r\n")
	raw.Write(body)
	req, err := http.ReadRequest(bufio.NewReader(&raw))
	if err != nil {
		return nil
	}
	return req
}

// checkErrorBody fails unless w holds a JSON api.Error with a code and a message.
func checkErrorBody(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: %d with Content-Type %q, want application/json: %s", what, w.Code, ct, w.Body)
	}
	var eb api.ErrorBody
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil || eb.Error == nil {
		t.Fatalf("%s: %d with a body that is not an api.ErrorBody (%v): %s", what, w.Code, err, w.Body)
	}
	if eb.Error.Code == "" || strings.TrimSpace(eb.Error.Message) == "" {
		t.Fatalf("%s: %d with an error lacking a code or a message: %+v", what, w.Code, eb.Error)
	}
}

// clipped is at most 200 bytes of b, for messages.
func clipped(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "..."...)
	}
	return b
}
