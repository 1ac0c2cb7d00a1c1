package router

import "time"

// Table is everything the router serves from: listeners, apps, their routes, pools and
// weights. The owner builds a complete Table and hands it to Router.Apply, which validates
// and compiles it into an immutable snapshot and swaps it in with one pointer store.
// A Table is plain data: it marshals to JSON for persistence and for `cutover router --table`.
type Table struct {
	// Listeners are the addresses the router accepts connections on.
	Listeners []Listener `json:"listeners"`
	// Apps are the routable services.
	Apps []App `json:"apps"`
	// TrustedProxies are CIDRs (or single IPs) whose X-Forwarded-* headers are kept and
	// appended to; from anyone else those headers are replaced.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
}

// Listener is one address the router listens on, plain or TLS.
type Listener struct {
	// Addr is host:port, e.g. "127.0.0.1:8080" or ":443".
	Addr string `json:"addr"`
	// CertFile and KeyFile, when both set, make this a TLS listener offering h2 and http/1.1 by
	// ALPN. Without them the listener speaks HTTP/1.1 and cleartext HTTP/2 (h2c).
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
}

// App is one routable service with a blue pool (serving now) and an optional green pool
// (being deployed) that receives GreenWeight of the traffic.
type App struct {
	// Name identifies the app: lowercase letters, digits and dashes.
	Name string `json:"name"`
	// Routes say which requests belong to this app.
	Routes []Route `json:"routes"`
	// TestListener, if set, is the address of a listener (declared in Table.Listeners) that
	// sends every request to green only, and is used by no other app.
	TestListener string `json:"test_listener,omitempty"`
	// Blue is the pool serving production traffic now.
	Blue Pool `json:"blue"`
	// Green is the pool being deployed; empty when no deployment is in progress.
	Green Pool `json:"green"`
	// GreenWeight is green's share of production traffic in basis points: 0 to 10000
	// (10000 = 100%, 1 = 0.01%).
	GreenWeight int `json:"green_weight"`
	// Rebalance, when set (a generation, by convention the Unix time the engine asked), gives
	// a new cohort bucket to every returning client whose cookie was set under an older
	// generation and whose bucket is on blue's side: the clients green has not served are
	// split again by the fair sequence, green's keep theirs. Cookies set from then on carry
	// the generation. 0: never.
	Rebalance int64 `json:"rebalance,omitempty"`
	// Override lets testers force a version with a header or cookie.
	Override Override `json:"override"`
	// Health configures active probes for this app's instances; nil means no active probes
	// (passive ejection still applies).
	Health *HealthCheck `json:"health,omitempty"`
	// Limits bound requests and upstream waits; zero values take the defaults.
	Limits Limits `json:"limits"`
}

// Route matches requests by listener, host and path prefix.
type Route struct {
	// Listener is the address of a listener declared in Table.Listeners.
	Listener string `json:"listener"`
	// Host is an exact host ("shop.example.com"), a wildcard one level deep
	// ("*.example.com"), or empty for any host.
	Host string `json:"host,omitempty"`
	// PathPrefix is the path prefix, starting with "/"; empty means "/". The longest
	// matching prefix wins.
	PathPrefix string `json:"path_prefix,omitempty"`
}

// Pool is the set of instances of one release.
type Pool struct {
	// Version is the release label ("v2"); it names the pool in signals and logs.
	Version string `json:"version,omitempty"`
	// Instances are the running copies of the release.
	Instances []Instance `json:"instances,omitempty"`
}

// Instance is one running copy of a release, reachable at Addr.
type Instance struct {
	// ID is unique within the table, e.g. "web-v2-1".
	ID string `json:"id"`
	// Addr is host:port of the instance's HTTP server.
	Addr string `json:"addr"`
}

// Override lets a client force a version.
type Override struct {
	// Disabled turns the override off: header and cookie are ignored.
	Disabled bool `json:"disabled,omitempty"`
	// Header is the request header naming "blue" or "green"; default "X-Cutover-Version".
	Header string `json:"header,omitempty"`
	// Cookie is the cookie naming "blue" or "green"; default "cutover-version".
	Cookie string `json:"cookie,omitempty"`
}

// HealthCheck configures active HTTP probes.
type HealthCheck struct {
	Path               string   `json:"path"`
	Interval           Duration `json:"interval,omitempty"`
	Timeout            Duration `json:"timeout,omitempty"`
	HealthyThreshold   int      `json:"healthy_threshold,omitempty"`
	UnhealthyThreshold int      `json:"unhealthy_threshold,omitempty"`
	// StatusMin and StatusMax bound the expected status; defaults 200 and 399.
	StatusMin int `json:"status_min,omitempty"`
	StatusMax int `json:"status_max,omitempty"`
}

// Limits bound what one request may take. Zero means the default.
type Limits struct {
	MaxBodyBytes    int64    `json:"max_body_bytes,omitempty"`   // default 64 MiB; 413 above
	UpstreamTimeout Duration `json:"upstream_timeout,omitempty"` // response headers; default 30s; 504
	DialTimeout     Duration `json:"dial_timeout,omitempty"`     // default 2s
	FailureEject    int      `json:"failure_eject,omitempty"`    // consecutive connect errors; default 3
	EjectCooldown   Duration `json:"eject_cooldown,omitempty"`   // re-admit after this without probes; default 10s
}

// Duration is a time.Duration that marshals as a Go duration string ("1.5s").
type Duration time.Duration

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string such as "500ms" or "2s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
