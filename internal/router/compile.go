package router

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync/atomic"
)

// snapshot is a compiled, immutable Table. Requests read it through one atomic pointer load;
// nothing in it changes after it is published.
type snapshot struct {
	table     Table
	listeners map[string]*listenerRoutes
	apps      map[string]*appRoute
	trusted   []netip.Prefix
	byID      map[string]*backend
}

// listenerRoutes is what one listener serves: either one app's green pool (a test listener)
// or routes by host and path.
type listenerRoutes struct {
	test     *appRoute
	exact    map[string][]pathRoute // host -> prefixes, longest first
	wildcard []wildcardRoutes       // "*.example.com", longest suffix first
	anyHost  []pathRoute
}

type wildcardRoutes struct {
	suffix string // ".example.com"
	paths  []pathRoute
}

type pathRoute struct {
	prefix string
	app    *appRoute
}

// appRoute is one app as the request path sees it.
type appRoute struct {
	name        string
	blue, green pool
	weight      int // green, in basis points
	override    Override
	bucketName  string // sticky cohort cookie
	rebalance   int64  // App.Rebalance: older cookies on blue's side get a new bucket
	limits      Limits
	cohort      cohortSeq // buckets for new clients; its counter outlives the snapshot
	seen        *seen     // buckets of returning clients at this weight
}

// pool is the backends of one version; role is "blue" or "green".
type pool struct {
	role, version string
	backends      []*backend
}

// compile builds a snapshot from a validated table. Backends of prev are reused by instance
// ID (same app, address and version); next receives every backend the snapshot uses.
func compile(t Table, next, prev map[string]*backend) (*snapshot, error) {
	s := &snapshot{table: t, listeners: map[string]*listenerRoutes{}, apps: map[string]*appRoute{}, byID: next}
	for _, c := range t.TrustedProxies {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", c, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		s.trusted = append(s.trusted, p)
	}
	for _, l := range t.Listeners {
		s.listeners[l.Addr] = &listenerRoutes{exact: map[string][]pathRoute{}}
	}
	for i := range t.Apps {
		a := &t.Apps[i]
		limits, override := a.withDefaults()
		ar := &appRoute{
			name: a.Name, weight: a.GreenWeight, override: override, limits: limits,
			bucketName: "cutover-bucket-" + a.Name, rebalance: a.Rebalance,
			cohort: cohortSeq{n: new(atomic.Uint64)}, seen: new(seen),
			blue:  pool{role: "blue", version: a.Blue.Version, backends: backends(a.Name, a.Blue, next, prev)},
			green: pool{role: "green", version: a.Green.Version, backends: backends(a.Name, a.Green, next, prev)},
		}
		s.apps[a.Name] = ar
		if a.TestListener != "" {
			s.listeners[a.TestListener].test = ar
		}
		for _, r := range a.Routes {
			lr := s.listeners[r.Listener]
			pr := pathRoute{prefix: routePrefix(r.PathPrefix), app: ar}
			switch {
			case r.Host == "":
				lr.anyHost = append(lr.anyHost, pr)
			case strings.HasPrefix(r.Host, "*."):
				lr.addWildcard(r.Host[1:], pr)
			default:
				lr.exact[r.Host] = append(lr.exact[r.Host], pr)
			}
		}
	}
	for _, lr := range s.listeners {
		for h := range lr.exact {
			sortPaths(lr.exact[h])
		}
		for i := range lr.wildcard {
			sortPaths(lr.wildcard[i].paths)
		}
		sort.Slice(lr.wildcard, func(i, j int) bool { return len(lr.wildcard[i].suffix) > len(lr.wildcard[j].suffix) })
		sortPaths(lr.anyHost)
	}
	return s, nil
}

func backends(app string, p Pool, next, prev map[string]*backend) []*backend {
	out := make([]*backend, 0, len(p.Instances))
	for _, in := range p.Instances {
		b := prev[in.ID]
		if b == nil || b.app != app || b.addr != in.Addr || b.version != p.Version {
			b = newBackend(app, p.Version, in)
		}
		next[in.ID] = b
		out = append(out, b)
	}
	return out
}

func (lr *listenerRoutes) addWildcard(suffix string, pr pathRoute) {
	for i := range lr.wildcard {
		if lr.wildcard[i].suffix == suffix {
			lr.wildcard[i].paths = append(lr.wildcard[i].paths, pr)
			return
		}
	}
	lr.wildcard = append(lr.wildcard, wildcardRoutes{suffix: suffix, paths: []pathRoute{pr}})
}

func sortPaths(ps []pathRoute) {
	sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].prefix) > len(ps[j].prefix) })
}

// match finds the app for a request. host may carry a port and any case; path is the
// request path. test is true when the listener is a test listener.
func (lr *listenerRoutes) match(host, path string) (app *appRoute, test bool) {
	if lr.test != nil {
		return lr.test, true
	}
	host = normalizeHost(host)
	if len(lr.exact) > 0 {
		if ps, ok := lr.exact[host]; ok {
			if a := matchPath(ps, path); a != nil {
				return a, false
			}
		}
	}
	for _, w := range lr.wildcard {
		// One level deep: "a.example.com" matches "*.example.com", "example.com" does not.
		if len(host) > len(w.suffix) && strings.HasSuffix(host, w.suffix) &&
			!strings.Contains(host[:len(host)-len(w.suffix)], ".") {
			if a := matchPath(w.paths, path); a != nil {
				return a, false
			}
		}
	}
	return matchPath(lr.anyHost, path), false
}

// matchPath returns the app of the longest prefix that matches path on a segment boundary:
// "/api" matches "/api" and "/api/x" but not "/apix".
func matchPath(ps []pathRoute, path string) *appRoute {
	for _, p := range ps {
		if p.prefix == "/" {
			return p.app
		}
		if strings.HasPrefix(path, p.prefix) {
			if len(path) == len(p.prefix) || path[len(p.prefix)] == '/' || p.prefix[len(p.prefix)-1] == '/' {
				return p.app
			}
		}
	}
	return nil
}

// normalizeHost strips a port and a trailing dot and lowercases, without allocating for the
// common already-lowercase case.
func normalizeHost(h string) string {
	switch {
	case strings.HasPrefix(h, "["): // [v6]:port or [v6]
		if i := strings.IndexByte(h, ']'); i >= 0 {
			h = h[:i+1]
		}
	case strings.Count(h, ":") == 1: // name:port or v4:port; a bare v6 address has several
		h = h[:strings.IndexByte(h, ':')]
	}
	h = strings.TrimRight(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// isTrusted reports whether a remote address belongs to a configured proxy.
func (s *snapshot) isTrusted(remote netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(remote) {
			return true
		}
	}
	return false
}
