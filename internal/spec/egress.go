package spec

import (
	"net/url"

	"github.com/cutover/cutover/internal/egress"
)

// Egress restricts the hosts the server calls on the app's behalf.
type Egress struct {
	// Hosts that HTTP hooks with a url, webhooks and external analysis checks may reach:
	// host names (hooks.example.com), "*." wildcards for subdomains (*.example.com), IP
	// addresses or CIDR blocks (10.0.0.0/8), no ports. A destination passes when its name
	// matches, or when every address it connects to is in an address entry. Hooks against
	// green or the test listener (no url) and command hooks are not restricted. When the
	// server has its own list (cutover server --egress-allow), a destination must pass both.
	//
	// Default: any host the server can reach.
	// Example: [hooks.example.com, "*.internal.example.com", 10.0.0.0/8]
	Allow []string `yaml:"allow,omitempty"`
}

// Policy is the parsed allow list; invalid entries are left out (Validate reports them).
func (e Egress) Policy() egress.Policy {
	p := egress.Policy{Owner: "the app's egress.allow"}
	for _, a := range e.Allow {
		if q, err := egress.Parse(p.Owner, []string{a}); err == nil {
			p = p.Merge(q)
		}
	}
	return p
}

// validateEgress checks each entry, and that every outbound URL the spec names with an IP
// address (or, when the list has no address entries, with any host) is allowed: such a
// destination would be refused on every call, so it is a mistake in the spec.
func (a *App) validateEgress(c *checker) {
	if len(a.Egress.Allow) == 0 {
		return
	}
	for i, e := range a.Egress.Allow {
		if err := egress.Check(e); err != nil {
			c.add(index("egress.allow", i), "%s", err)
		}
	}
	p := a.Egress.Policy()
	check := func(path, raw string) {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			return // the URL's own check reports it
		}
		if !p.AllowsName(u.Hostname()) && !p.MayResolveAllowed(u.Hostname()) {
			c.add(path, "%q is not allowed by egress.allow: add %q (or its addresses) to egress.allow", clip(u.Host), u.Hostname())
		}
	}
	for i, h := range a.Hooks {
		p := index("hooks", i)
		if h.HTTP != nil && h.HTTP.URL != "" {
			check(p+".http.url", h.HTTP.URL)
		}
		if h.Webhook != nil {
			check(p+".webhook.url", h.Webhook.URL)
		}
	}
	if a.AWS.Endpoint != "" {
		check("aws.endpoint", a.AWS.Endpoint)
	}
	if a.Analysis != nil {
		if al := a.Analysis.Alarms; al != nil && al.Endpoint != "" {
			check("analysis.alarms.endpoint", al.Endpoint)
		}
		for i, ch := range a.Analysis.Checks {
			if ch.External != nil {
				check(index("analysis.checks", i)+".external.url", ch.External.URL)
			}
		}
	}
}
