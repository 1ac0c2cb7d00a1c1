// Package egress decides which hosts the server's outbound calls on a spec's behalf (HTTP
// hooks with a url, webhooks, external analysis checks) may reach, and dials only those.
//
// A Policy is a list of entries: an exact host name (hooks.example.com), a wildcard for any
// subdomain (*.example.com), an IP address (10.1.2.3, ::1) or a CIDR block (10.0.0.0/8). A
// destination is allowed when its host name matches a name entry, or when the address it
// resolves to, checked at connect time on every address tried, falls in an IP or CIDR
// entry. Checking the address the socket connects to, not a lookup made before it, means a
// name that resolves differently the second time (DNS rebinding) cannot slip past an IP
// rule. An empty Policy allows everything, as before the feature existed.
package egress

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Policy is a parsed allow-list. Its zero value allows every destination.
type Policy struct {
	// Owner names where the list comes from in refusals, e.g. "the app's egress.allow".
	Owner    string
	names    []string // exact, lowercase
	suffixes []string // ".example.com" for "*.example.com"
	prefixes []netip.Prefix
}

// Parse builds a Policy from entries; owner names the list in refusals. It reports the first
// entry that is none of a host name, "*." wildcard, IP address or CIDR block.
func Parse(owner string, entries []string) (Policy, error) {
	p := Policy{Owner: owner}
	for _, e := range entries {
		if err := p.add(e); err != nil {
			return Policy{}, err
		}
	}
	return p, nil
}

// Check says why entry is not a valid allow-list entry, or returns nil.
func Check(entry string) error {
	var p Policy
	return p.add(entry)
}

func (p *Policy) add(e string) error {
	s := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e), "."))
	if pre, err := netip.ParsePrefix(s); err == nil {
		p.prefixes = append(p.prefixes, pre.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
		p.prefixes = append(p.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		return nil
	}
	if rest, ok := strings.CutPrefix(s, "*."); ok && validName(rest) {
		p.suffixes = append(p.suffixes, "."+rest)
		return nil
	}
	if validName(s) {
		p.names = append(p.names, s)
		return nil
	}
	return fmt.Errorf("%q is not a host name (hooks.example.com), a \"*.\" wildcard (*.example.com), an IP address or a CIDR block (10.0.0.0/8); give no port or scheme", e)
}

// validName reports whether s is a DNS name of letters, digits, dashes and dots.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// Empty reports whether p has no entries, so it allows everything.
func (p Policy) Empty() bool {
	return len(p.names) == 0 && len(p.suffixes) == 0 && len(p.prefixes) == 0
}

// AllowsName reports whether host (a name or an IP literal, no port) matches a name entry,
// or, as an IP literal, an address entry.
func (p Policy) AllowsName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return p.AllowsIP(ip)
	}
	for _, n := range p.names {
		if h == n {
			return true
		}
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(h, s) && len(h) > len(s) {
			return true
		}
	}
	return false
}

// AllowsIP reports whether ip falls in an IP or CIDR entry.
func (p Policy) AllowsIP(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, pre := range p.prefixes {
		if pre.Contains(ip) {
			return true
		}
	}
	return false
}

// refusal is the error for a destination p does not allow.
func (p Policy) refusal(host string, ip netip.Addr) error {
	dest := host
	if ip.IsValid() && ip.String() != strings.Trim(host, "[]") {
		dest = fmt.Sprintf("%s (%s)", host, ip)
	}
	return fmt.Errorf("%w: %s does not allow %s: add the host name or its address to it", ErrRefused, p.Owner, dest)
}

// ErrRefused is wrapped by every refusal of a destination.
var ErrRefused = fmt.Errorf("egress refused")

// hostOf is addr's host without port or brackets.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// Merge is p with q's entries added; p's Owner stays.
func (p Policy) Merge(q Policy) Policy {
	p.names = append(append([]string(nil), p.names...), q.names...)
	p.suffixes = append(append([]string(nil), p.suffixes...), q.suffixes...)
	p.prefixes = append(append([]netip.Prefix(nil), p.prefixes...), q.prefixes...)
	return p
}

// MayResolveAllowed reports whether host, a name that no name entry matches, could still
// pass by the address it resolves to: p has address entries and host is not an IP literal.
func (p Policy) MayResolveAllowed(host string) bool {
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return false
	}
	return len(p.prefixes) > 0
}
