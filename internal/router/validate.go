package router

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
)

// Defaults applied where a Table leaves a value zero.
const (
	DefaultOverrideHeader  = "X-Cutover-Version"
	DefaultOverrideCookie  = "cutover-version"
	DefaultMaxBodyBytes    = 64 << 20
	DefaultUpstreamTimeout = Duration(30e9)
	DefaultDialTimeout     = Duration(2e9)
	DefaultFailureEject    = 3
	DefaultEjectCooldown   = Duration(10e9)
	// WeightScale is 100% in GreenWeight units (basis points).
	WeightScale = 10000
)

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	tokenRE  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	hostRE   = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)
	idRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	labelRE  = regexp.MustCompile(`^[A-Za-z0-9._+-]{0,64}$`)
	errTable = errors.New("invalid routing table")
)

// ValidationError lists every problem found in a Table, each with its path.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%v: %s", errTable, strings.Join(e.Problems, "; "))
}

// Unwrap lets callers test errors.Is(err, ErrInvalidTable).
func (e *ValidationError) Unwrap() error { return errTable }

// ErrInvalidTable is wrapped by every validation error.
var ErrInvalidTable = errTable

type problems []string

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, path+": "+fmt.Sprintf(format, args...))
}

// Validate reports every problem in t at once, or nil.
func (t *Table) Validate() error {
	var p problems
	listeners := map[string]bool{}
	for i, l := range t.Listeners {
		path := fmt.Sprintf("listeners[%d]", i)
		if _, _, err := net.SplitHostPort(l.Addr); err != nil {
			p.add(path+".addr", "%q is not host:port", l.Addr)
		}
		if listeners[l.Addr] {
			p.add(path+".addr", "%q is declared twice", l.Addr)
		}
		listeners[l.Addr] = true
		if (l.CertFile == "") != (l.KeyFile == "") {
			p.add(path, "cert_file and key_file must be set together")
		}
	}
	for i, c := range t.TrustedProxies {
		if _, err := netip.ParsePrefix(c); err != nil {
			if _, err := netip.ParseAddr(c); err != nil {
				p.add(fmt.Sprintf("trusted_proxies[%d]", i), "%q is neither an IP nor a CIDR", c)
			}
		}
	}
	v := &validator{p: &p, listeners: listeners, apps: map[string]bool{}, ids: map[string]string{},
		testListeners: map[string]string{}, routeOwner: map[string]string{}, routes: map[string]string{}}
	for i := range t.Apps {
		v.app(fmt.Sprintf("apps[%d]", i), &t.Apps[i])
	}
	for addr, app := range v.testListeners {
		if owner, ok := v.routeOwner[addr]; ok {
			p.add("apps."+app+".test_listener", "%q also carries routes of app %q; a test listener must be its own", addr, owner)
		}
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// validator carries what one Validate call has seen so far, to catch duplicates across apps.
type validator struct {
	p               *problems
	listeners, apps map[string]bool
	ids             map[string]string // instance ID -> path
	testListeners   map[string]string // addr -> app
	routeOwner      map[string]string // listener addr -> an app routed there
	routes          map[string]string // listener|host|prefix -> app
}

func (v *validator) app(path string, a *App) {
	p, listeners, apps, ids, testListeners, routeOwner := v.p, v.listeners, v.apps, v.ids, v.testListeners, v.routeOwner
	if !nameRE.MatchString(a.Name) {
		p.add(path+".name", "%q must be lowercase letters, digits and dashes (1-63)", a.Name)
	} else if apps[a.Name] {
		p.add(path+".name", "app %q is declared twice", a.Name)
	}
	apps[a.Name] = true
	if len(a.Routes) == 0 {
		p.add(path+".routes", "at least one route is required")
	}
	for j, r := range a.Routes {
		rp := fmt.Sprintf("%s.routes[%d]", path, j)
		if !listeners[r.Listener] {
			p.add(rp+".listener", "%q is not a declared listener", r.Listener)
		}
		if r.Host != "" && !hostRE.MatchString(r.Host) {
			p.add(rp+".host", "%q must be a lowercase host name, optionally starting with \"*.\"", r.Host)
		}
		if r.PathPrefix != "" && (!strings.HasPrefix(r.PathPrefix, "/") || strings.ContainsAny(r.PathPrefix, "?# \t\r\n")) {
			p.add(rp+".path_prefix", "%q must start with / and hold no query, fragment or space", r.PathPrefix)
		}
		routeOwner[r.Listener] = a.Name
		key := r.Listener + "|" + r.Host + "|" + routePrefix(r.PathPrefix)
		if other, dup := v.routes[key]; dup {
			p.add(rp, "listener %q host %q path %q is already routed to app %q", r.Listener, r.Host, routePrefix(r.PathPrefix), other)
		}
		v.routes[key] = a.Name
	}
	if a.TestListener != "" {
		if !listeners[a.TestListener] {
			p.add(path+".test_listener", "%q is not a declared listener", a.TestListener)
		} else if other, ok := testListeners[a.TestListener]; ok {
			p.add(path+".test_listener", "%q is already the test listener of app %q", a.TestListener, other)
		}
		testListeners[a.TestListener] = a.Name
	}
	validatePool(p, path+".blue", a.Blue, ids)
	validatePool(p, path+".green", a.Green, ids)
	if a.GreenWeight < 0 || a.GreenWeight > WeightScale {
		p.add(path+".green_weight", "%d must be between 0 and %d (basis points)", a.GreenWeight, WeightScale)
	}
	if a.Rebalance < 0 {
		p.add(path+".rebalance", "%d must not be negative (a generation; 0 for none)", a.Rebalance)
	}
	if a.GreenWeight > 0 && len(a.Green.Instances) == 0 {
		p.add(path+".green_weight", "is %d but the green pool has no instances", a.GreenWeight)
	}
	if h := a.Override.Header; h != "" && !tokenRE.MatchString(h) {
		p.add(path+".override.header", "%q is not a valid header name", h)
	}
	if c := a.Override.Cookie; c != "" && !tokenRE.MatchString(c) {
		p.add(path+".override.cookie", "%q is not a valid cookie name", c)
	}
	if h := a.Health; h != nil {
		if !strings.HasPrefix(h.Path, "/") {
			p.add(path+".health.path", "%q must start with /", h.Path)
		}
		if h.Interval < 0 || h.Timeout < 0 || h.HealthyThreshold < 0 || h.UnhealthyThreshold < 0 {
			p.add(path+".health", "intervals, timeouts and thresholds must not be negative")
		}
		if h.StatusMin != 0 && h.StatusMax != 0 && (h.StatusMin < 100 || h.StatusMax > 599 || h.StatusMin > h.StatusMax) {
			p.add(path+".health", "status range %d-%d must lie within 100-599", h.StatusMin, h.StatusMax)
		}
	}
	l := a.Limits
	if l.MaxBodyBytes < 0 || l.UpstreamTimeout < 0 || l.DialTimeout < 0 || l.FailureEject < 0 || l.EjectCooldown < 0 {
		p.add(path+".limits", "limits must not be negative")
	}
}

func validatePool(p *problems, path string, pool Pool, ids map[string]string) {
	if !labelRE.MatchString(pool.Version) {
		p.add(path+".version", "%q must be at most 64 letters, digits and ._+-", pool.Version)
	}
	for k, in := range pool.Instances {
		ip := fmt.Sprintf("%s.instances[%d]", path, k)
		if !idRE.MatchString(in.ID) {
			p.add(ip+".id", "%q must be 1-128 letters, digits and ._- starting with a letter or digit", in.ID)
		} else if prev, dup := ids[in.ID]; dup {
			p.add(ip+".id", "%q is already used at %s", in.ID, prev)
		}
		ids[in.ID] = ip
		if host, port, err := net.SplitHostPort(in.Addr); err != nil || host == "" || port == "" {
			p.add(ip+".addr", "%q is not host:port", in.Addr)
		}
	}
}

// withDefaults returns a copy of the app's limits and override with zero values filled.
func (a *App) withDefaults() (Limits, Override) {
	l, o := a.Limits, a.Override
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.UpstreamTimeout == 0 {
		l.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if l.DialTimeout == 0 {
		l.DialTimeout = DefaultDialTimeout
	}
	if l.FailureEject == 0 {
		l.FailureEject = DefaultFailureEject
	}
	if l.EjectCooldown == 0 {
		l.EjectCooldown = DefaultEjectCooldown
	}
	if o.Header == "" {
		o.Header = DefaultOverrideHeader
	}
	if o.Cookie == "" {
		o.Cookie = DefaultOverrideCookie
	}
	return l, o
}

func routePrefix(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
