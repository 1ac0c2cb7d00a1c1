package router

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
)

// Fuzz targets for the parts of the router that read untrusted input: the routing table file,
// the Host and path of every request, and the WebSocket byte stream from instances.
//
//	go test -run '^$' -fuzz '^FuzzDecodeTable$' -fuzztime 60s ./internal/router/

var decodeTableSeeds = []string{
	// Valid: one catch-all app.
	`{"listeners":[{"addr":"127.0.0.1:8080"}],"apps":[{"name":"web","routes":[{"listener":"127.0.0.1:8080"}],` +
		`"blue":{"version":"v1","instances":[{"id":"web-1","addr":"127.0.0.1:9001"}]},"green":{},"green_weight":0,"override":{},"limits":{}}]}`,
	// Valid: exact, wildcard and any host; nested prefixes; a green pool, a test listener,
	// health checks, limits and trusted proxies.
	`{"listeners":[{"addr":"127.0.0.1:8080"},{"addr":"127.0.0.1:8081"}],
	  "trusted_proxies":["10.0.0.0/8","192.0.2.1","::1"],
	  "apps":[
	    {"name":"shop","routes":[
	        {"listener":"127.0.0.1:8080","host":"shop.example.com"},
	        {"listener":"127.0.0.1:8080","host":"shop.example.com","path_prefix":"/api"},
	        {"listener":"127.0.0.1:8080","host":"*.example.com","path_prefix":"/static/"}],
	     "test_listener":"127.0.0.1:8081",
	     "blue":{"version":"v1","instances":[{"id":"shop-v1-1","addr":"127.0.0.1:9001"},{"id":"shop-v1-2","addr":"127.0.0.1:9002"}]},
	     "green":{"version":"v2","instances":[{"id":"shop-v2-1","addr":"127.0.0.1:9003"}]},
	     "green_weight":2500,
	     "override":{"header":"X-Version","cookie":"version"},
	     "health":{"path":"/healthz","interval":"1s","timeout":"500ms","healthy_threshold":2,"unhealthy_threshold":3,"status_min":200,"status_max":299},
	     "limits":{"max_body_bytes":1048576,"upstream_timeout":"5s","dial_timeout":"1s","failure_eject":5,"eject_cooldown":"30s"}},
	    {"name":"api","routes":[
	        {"listener":"127.0.0.1:8080","host":"shop.example.com","path_prefix":"/api/v2"},
	        {"listener":"127.0.0.1:8080","path_prefix":"/api"}],
	     "blue":{"version":"v7","instances":[{"id":"api-1","addr":"[::1]:9004"}]},"green":{},"override":{"disabled":true},"limits":{}}]}`,
	// Valid: no listeners, no apps.
	`{"listeners":[],"apps":[]}`,
	// Invalid: unknown field, trailing data, not JSON, wrong types.
	`{"listeners":[],"apps":[],"extra":1}`,
	`{"listeners":[],"apps":[]} {}`,
	`{"listeners":[`,
	`[]`,
	`{"listeners":[{"addr":8080}]}`,
	`{"apps":[{"name":"web","health":{"path":"/","interval":5}}]}`,
	// Invalid: fails validation.
	`{"listeners":[{"addr":"127.0.0.1:8080"}],"apps":[{"name":"Web","routes":[{"listener":"127.0.0.1:8080","host":"Shop.example.com","path_prefix":"api"}],` +
		`"blue":{"instances":[{"id":"-x","addr":"nowhere"}]},"green_weight":10001}]}`,
	`{"listeners":[{"addr":"127.0.0.1:8080"},{"addr":"127.0.0.1:8080"}],"apps":[{"name":"a","routes":[{"listener":"127.0.0.1:8080"}]},{"name":"b","routes":[{"listener":"127.0.0.1:8080","path_prefix":"/"}]}]}`,
	`{"listeners":[{"addr":"127.0.0.1:8080"}],"apps":[{"name":"a","routes":[{"listener":"127.0.0.1:8080"}],"test_listener":"127.0.0.1:8080"}]}`,
	`{"listeners":[{"addr":"127.0.0.1:8080"}],"apps":[{"name":"a","routes":[{"listener":"127.0.0.1:8080"}],"green_weight":5}]}`,
	`{"listeners":[{"addr":"127.0.0.1:8080","cert_file":"c.pem"}],"trusted_proxies":["10.0.0.0/33"],"apps":[]}`,
}

// decodeTableValidSeeds is how many of decodeTableSeeds, from the start, are valid tables.
const decodeTableValidSeeds = 3

// TestFuzzSeedsDecodeTable keeps the seed corpus honest: the valid seeds load (so the fuzzer
// starts from inputs that reach compile and match) and the invalid ones do not.
func TestFuzzSeedsDecodeTable(t *testing.T) {
	for i, s := range decodeTableSeeds {
		_, err := DecodeTable(strings.NewReader(s))
		if valid := i < decodeTableValidSeeds; valid != (err == nil) {
			t.Errorf("seed %d: valid %v, but DecodeTable says %v\n%s", i, valid, err, s)
		}
	}
}

// probeHost is a host that a route's Host pattern matches.
func probeHost(pattern string) string {
	switch {
	case pattern == "":
		return "anything"
	case strings.HasPrefix(pattern, "*."):
		return "a" + pattern[1:]
	default:
		return pattern
	}
}

// FuzzDecodeTable: DecodeTable never panics, and a table it accepts compiles, routes every
// route's own host and path somewhere (to the route's own app when its host is exact, as no
// other route can be more specific), sends everything on a test listener to its app, and
// survives a save/load round trip unchanged.
func FuzzDecodeTable(f *testing.F) {
	for _, s := range decodeTableSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tbl, err := DecodeTable(bytes.NewReader(b))
		if err != nil {
			return
		}
		snap, err := compile(tbl, map[string]*backend{}, map[string]*backend{})
		if err != nil {
			t.Fatalf("DecodeTable accepted a table that does not compile: %v\n%s", err, b)
		}
		for _, a := range tbl.Apps {
			for _, r := range a.Routes {
				lr := snap.listeners[r.Listener]
				if lr == nil {
					t.Fatalf("app %s: route on listener %q, which the snapshot does not have", a.Name, r.Listener)
				}
				host, path := probeHost(r.Host), routePrefix(r.PathPrefix)
				app, test := lr.match(host, path)
				switch {
				case app == nil:
					t.Fatalf("app %s: route %+v does not match its own host %q and path %q", a.Name, r, host, path)
				case test:
					t.Fatalf("app %s: route %+v is on a test listener", a.Name, r)
				case r.Host != "" && !strings.HasPrefix(r.Host, "*.") && app.name != a.Name:
					t.Fatalf("app %s: exact route %+v matched app %s", a.Name, r, app.name)
				}
			}
			if a.TestListener != "" {
				app, test := snap.listeners[a.TestListener].match("anything", "/x")
				if app == nil || !test || app.name != a.Name {
					t.Fatalf("test listener %s of app %s: got %v (test %v)", a.TestListener, a.Name, app, test)
				}
			}
		}
		saved, err := json.Marshal(tbl)
		if err != nil {
			t.Fatalf("marshal an accepted table: %v", err)
		}
		again, err := DecodeTable(bytes.NewReader(saved))
		if err != nil {
			t.Fatalf("a saved table does not load back: %v\n%s", err, saved)
		}
		resaved, _ := json.Marshal(again)
		if !bytes.Equal(saved, resaved) {
			t.Fatalf("save/load changed the table:\n%s\n%s", saved, resaved)
		}
	})
}

// matchRoutes is FuzzMatch's table: every route is its own app, named after it, so the app
// that match returns tells which route won.
var matchRoutes = []Route{
	{Host: "shop.example.com"},
	{Host: "shop.example.com", PathPrefix: "/api"},
	{Host: "shop.example.com", PathPrefix: "/api/v2"},
	{Host: "shop.example.com", PathPrefix: "/static/"},
	{Host: "api.example.com", PathPrefix: "/api/v2"}, // exact host with one deep route: the rest falls through
	{Host: "*.example.com"},
	{Host: "*.example.com", PathPrefix: "/api"},
	{Host: "*.eu.example.com", PathPrefix: "/api/v2"},
	{Host: "*.eu.example.com", PathPrefix: "/static/"},
	{PathPrefix: "/api"},
	{PathPrefix: "/api/v2"},
	{PathPrefix: "/static/"},
}

func matchTable(t testing.TB) *listenerRoutes {
	const l = "127.0.0.1:8080"
	tbl := Table{Listeners: []Listener{{Addr: l}}}
	for i, r := range matchRoutes {
		r.Listener = l
		tbl.Apps = append(tbl.Apps, App{Name: routeAppName(i), Routes: []Route{r}})
	}
	if err := tbl.Validate(); err != nil {
		t.Fatal(err)
	}
	snap, err := compile(tbl, map[string]*backend{}, map[string]*backend{})
	if err != nil {
		t.Fatal(err)
	}
	return snap.listeners[l]
}

func routeAppName(i int) string { return "r" + string(rune('a'+i)) }

// segmentPrefix reports whether prefix matches path on a segment boundary.
func segmentPrefix(prefix, path string) bool {
	if prefix == "/" || path == prefix {
		return true
	}
	return strings.HasPrefix(path, prefix) && (strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/')
}

// expectedRoute is the specification match implements, written independently: the most
// specific host tier that has a route for the path (exact host, then the one wildcard one
// label up, then any host), and within it the longest prefix on a segment boundary. It
// returns the index into matchRoutes, or -1.
func expectedRoute(host, path string) int {
	label, parent, _ := strings.Cut(host, ".")
	tiers := []func(Route) bool{
		func(r Route) bool { return r.Host != "" && !strings.HasPrefix(r.Host, "*.") && r.Host == host },
		func(r Route) bool { return strings.HasPrefix(r.Host, "*.") && label != "" && r.Host[2:] == parent },
		func(r Route) bool { return r.Host == "" },
	}
	for _, inTier := range tiers {
		best := -1
		for i, r := range matchRoutes {
			p := routePrefix(r.PathPrefix)
			if inTier(r) && segmentPrefix(p, path) && (best < 0 || len(p) > len(routePrefix(matchRoutes[best].PathPrefix))) {
				best = i
			}
		}
		if best >= 0 {
			return best
		}
	}
	return -1
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// FuzzMatch: match never panics; the route it picks is the one the specification picks, and
// its prefix matches the path on a segment boundary; a plain host written in another ASCII
// case, with a trailing dot or with a port, matches the same app.
func FuzzMatch(f *testing.F) {
	lr := matchTable(f)
	for _, s := range [][2]string{
		{"shop.example.com", "/"}, {"shop.example.com", "/api"}, {"shop.example.com", "/api/v2/x"},
		{"shop.example.com", "/apix"}, {"shop.example.com", "/static"}, {"shop.example.com", "/static/a.css"},
		{"api.example.com", "/api/v2"}, {"api.example.com", "/api/v3"}, {"a.eu.example.com", "/api/v2/"},
		{"x.example.com", "/api/v2"}, {"example.com", "/"}, {".example.com", "/api"}, {"other.org", "/api/"},
		{"SHOP.Example.COM.", "/api"}, {"shop.example.com:8080", "/api/v2"}, {"[::1]:80", "/api"}, {"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, host, path string) {
		app, test := lr.match(host, path)
		if test {
			t.Fatalf("match(%q, %q) reports a test listener", host, path)
		}
		want := expectedRoute(normalizeHost(host), path)
		switch {
		case app == nil && want >= 0:
			t.Fatalf("match(%q, %q) = nothing, want route %+v", host, path, matchRoutes[want])
		case app != nil && want < 0:
			t.Fatalf("match(%q, %q) = %s, want nothing", host, path, app.name)
		case app != nil && app.name != routeAppName(want):
			t.Fatalf("match(%q, %q) = %s, want %s (route %+v)", host, path, app.name, routeAppName(want), matchRoutes[want])
		}
		if app != nil {
			i := int(app.name[1] - 'a')
			if p := routePrefix(matchRoutes[i].PathPrefix); !segmentPrefix(p, path) {
				t.Fatalf("match(%q, %q) chose prefix %q, which does not match on a segment boundary", host, path, p)
			}
		}
		// A plain host (no port, no trailing dot, not an IPv6 literal) and its spellings.
		if strings.ContainsAny(host, ":[]") || strings.HasSuffix(host, ".") {
			return
		}
		for _, variant := range []string{upperASCII(host), host + ".", host + ":8080", upperASCII(host) + ".:443"} {
			got, _ := lr.match(variant, path)
			if got != app {
				t.Fatalf("match(%q, %q) = %v but match(%q, %q) = %v", host, path, nameOf(app), variant, path, nameOf(got))
			}
		}
	})
}

func nameOf(a *appRoute) string {
	if a == nil {
		return "nothing"
	}
	return a.name
}

// FuzzNormalizeHost: normalizeHost is idempotent, so the key it makes is canonical: a host
// and the host it normalizes to always route alike.
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"shop.example.com", "Shop.Example.COM.", "shop.example.com:8080", "[::1]:8080", "[::1]", "", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		once := normalizeHost(host)
		if twice := normalizeHost(once); twice != once {
			t.Fatalf("normalizeHost is not idempotent: %q -> %q -> %q", host, once, twice)
		}
	})
}

// wsFrame encodes one WebSocket frame with a payload of n bytes, using the 7-bit, 16-bit or
// 64-bit length form as lenForm (0, 1, 2) asks (the smallest form that fits n when it does
// not), masked or not.
func wsFrame(first byte, n int, lenForm byte, masked bool) []byte {
	var b []byte
	b = append(b, first)
	var m byte
	if masked {
		m = 0x80
	}
	switch {
	case lenForm == 0 && n < 126:
		b = append(b, m|byte(n))
	case lenForm <= 1 && n <= 0xffff:
		b = append(b, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if masked {
		b = append(b, 0x12, 0x34, 0x56, 0x78)
	}
	for i := 0; i < n; i++ {
		b = append(b, byte(i*7))
	}
	return b
}

// chunks splits p at the sizes cuts describes, cycling through them: a byte below 192 is a
// chunk of 1-64 bytes, one above it a chunk of 256 times its value (to cross long payloads
// quickly). No cuts means one chunk.
func chunks(p, cuts []byte) [][]byte {
	if len(cuts) == 0 {
		return [][]byte{p}
	}
	var out [][]byte
	for i := 0; len(p) > 0; i++ {
		n := int(cuts[i%len(cuts)])
		if n < 192 {
			n = n%64 + 1
		} else {
			n *= 256
		}
		n = min(n, len(p))
		out = append(out, p[:n])
		p = p[n:]
	}
	return out
}

// FuzzFrameTracker: feeding a stream in any split leaves the tracker where feeding it whole
// does; and over a stream of whole frames (7-, 16- and 64-bit lengths, masked or not) it is at
// a boundary after each frame and nowhere inside one.
func FuzzFrameTracker(f *testing.F) {
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}, []byte{1, 2, 3}, []byte{0x01, 5, 0, 0x82, 200, 1})
	f.Add([]byte{0x82, 0xfe, 0x01, 0x00}, []byte{0}, []byte{0x41, 0xff, 0xff, 0x02, 0, 0})
	f.Add([]byte{0x88, 0xff, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 'a', 'b', 'c'}, []byte{5, 63}, []byte{0xc2, 3, 0})
	f.Fuzz(func(t *testing.T, stream, cuts, spec []byte) {
		// Any bytes, split anyhow.
		var whole, split frameTracker
		whole.feed(stream)
		for _, c := range chunks(stream, cuts) {
			split.feed(c)
		}
		if whole.atBoundary() != split.atBoundary() || whole.hdrLen != split.hdrLen || whole.payload != split.payload ||
			!bytes.Equal(whole.hdr[:whole.hdrLen], split.hdr[:split.hdrLen]) {
			t.Fatalf("split feed ended at %+v, whole feed at %+v", split, whole)
		}

		// Up to 8 whole frames described by spec: 3 bytes each (flags, length high, length low).
		var ft frameTracker
		for i := 0; i+2 < len(spec) && i < 3*8; i += 3 {
			flags := spec[i]
			n := int(spec[i+1])<<8 | int(spec[i+2])
			form := flags & 3 % 3
			if form == 0 {
				n %= 126
			} else if form == 2 {
				n %= 1024 // the 64-bit form, kept small
			}
			frame := wsFrame(0x80|flags&0x0f, n, form, flags&0x40 != 0)
			parts := chunks(frame, cuts)
			for k, part := range parts {
				if !ft.atBoundary() && k == 0 {
					t.Fatalf("frame %d: not at a boundary before it starts: %+v", i/3, ft)
				}
				ft.feed(part)
				if k < len(parts)-1 && ft.atBoundary() {
					t.Fatalf("frame %d (%d payload bytes, length form %d, masked %v): at a boundary after %d of %d bytes",
						i/3, n, form, flags&0x40 != 0, sumLen(parts[:k+1]), len(frame))
				}
			}
			if !ft.atBoundary() {
				t.Fatalf("frame %d (%d payload bytes, length form %d, masked %v): not at a boundary after the whole frame: %+v",
					i/3, n, form, flags&0x40 != 0, ft)
			}
		}
	})
}

func sumLen(ps [][]byte) int {
	n := 0
	for _, p := range ps {
		n += len(p)
	}
	return n
}
