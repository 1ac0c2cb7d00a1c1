package apiserver

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// openAPI serves the document generated from the route table.
func (s *server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, openAPIDoc(s.routes))
	return nil
}

var wildcardRE = regexp.MustCompile(`\{([a-z]+)\}`)

// openAPIDoc describes routes as an OpenAPI 3.0 document; the schemas of the wire types are
// generated from the Go types in package api by reflection.
func openAPIDoc(routes []route) map[string]any {
	g := &schemas{defs: map[string]any{}}
	errRef := g.of(reflect.TypeFor[api.ErrorBody]())
	paths := map[string]any{}
	for _, rt := range routes {
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": strings.ToLower(rt.method) + operationName(rt.path),
			"responses": map[string]any{
				strconv.Itoa(rt.status): g.response(rt),
				"default":               map[string]any{"description": "an error", "content": jsonContent(errRef)},
			},
		}
		op["x-cutover-role"] = api.RoleViewer
		switch {
		case rt.public:
			op["x-cutover-role"] = "public"
			op["security"] = []any{} // the request's own signature authenticates it
		case !rt.viewer:
			op["x-cutover-role"] = api.RoleAdmin
			op["responses"].(map[string]any)["403"] = map[string]any{
				"description": "forbidden: the token is read-only, and this operation needs the admin token", "content": jsonContent(errRef)}
		}
		var params []any
		enums := map[string][]string{}
		for _, p := range rt.query {
			if p.in == "path" {
				enums[p.name] = p.enum
				continue
			}
			params = append(params, map[string]any{"name": p.name, "in": "query", "description": p.desc, "schema": map[string]any{"type": "string"}})
		}
		for _, m := range wildcardRE.FindAllStringSubmatch(rt.path, -1) {
			sch := map[string]any{"type": "string"}
			if e := enums[m[1]]; e != nil {
				sch["enum"] = e
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": sch})
		}
		if params != nil {
			op["parameters"] = params
		}
		switch {
		case rt.reqYAML:
			op["requestBody"] = map[string]any{"required": true, "description": "an app spec in YAML (at most 1 MiB)",
				"content": map[string]any{"application/yaml": map[string]any{"schema": map[string]any{"type": "string"}}}}
		case rt.reqJSON != nil:
			op["requestBody"] = map[string]any{"required": true, "content": jsonContent(g.of(reflect.TypeOf(rt.reqJSON)))}
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "cutover", "version": "v1",
			"description": "Blue/green and canary deployments with a built-in router. Every request needs Authorization: Bearer <token> unless it comes over the unix socket. " +
				"The admin token (the server's " + api.TokenFile + " file) may call every operation; the read-only token (" + api.ReadOnlyTokenFile + ") only those whose x-cutover-role is viewer, the others answer it 403. " +
				"The web dashboard authenticates instead with the " + api.SessionCookie + " cookie that POST /ui/login (form field token) sets, with that token's role; " +
				"a request carrying it with any method but GET and HEAD must also send the session's CSRF token (from GET /ui/session) as " + api.CSRFHeader + ", else 403. " +
				"An event stream opened with a session ends when the session does."},
		"paths":    paths,
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}},
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": api.SessionCookie},
			},
		},
	}
}

// operationName turns "/api/v1/apps/{app}/logs" into "AppsAppLogs".
func operationName(path string) string {
	var b strings.Builder
	for _, part := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(path, "/api/v1"), "/api"), "/") {
		part = strings.Trim(part, "{}")
		part = strings.NewReplacer(".", "", "-", "").Replace(part)
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func jsonContent(schema any) map[string]any {
	return map[string]any{mediaJSON: map[string]any{"schema": schema}}
}

func (g *schemas) response(rt route) map[string]any {
	r := map[string]any{"description": http.StatusText(rt.status)}
	switch {
	case rt.media == mediaEvents:
		r["description"] = "server-sent events; each data line is a JSON " + reflect.TypeOf(rt.resp).Name() + ", a \": ping\" comment keeps the stream alive"
		r["content"] = map[string]any{mediaEvents: map[string]any{"schema": map[string]any{"type": "string"}}}
		g.of(reflect.TypeOf(rt.resp))
	case rt.media == mediaText:
		r["content"] = map[string]any{mediaText: map[string]any{"schema": map[string]any{"type": "string"}}}
	case rt.resp != nil:
		r["content"] = jsonContent(g.of(reflect.TypeOf(rt.resp)))
	case rt.path == "/api/openapi.json":
		r["content"] = jsonContent(map[string]any{"type": "object"})
	}
	return r
}

// schemas builds JSON schemas from Go types; named structs become components.
type schemas struct {
	defs map[string]any
}

var timeType = reflect.TypeFor[time.Time]()

func (g *schemas) of(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		return g.of(t.Elem())
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Struct:
		ref := map[string]any{"$ref": "#/components/schemas/" + t.Name()}
		if _, done := g.defs[t.Name()]; done {
			return ref
		}
		g.defs[t.Name()] = nil // a placeholder against recursion
		props := map[string]any{}
		var required []string
		for f := range t.Fields() {
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.of(f.Type)
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
		def := map[string]any{"type": "object", "properties": props}
		if required != nil {
			def["required"] = required
		}
		g.defs[t.Name()] = def
		return ref
	}
	return map[string]any{}
}
