// Package awsr53 is provider.TrafficProvider over Amazon Route 53 weighted records: two
// record sets under one name in a hosted zone, SetIdentifier "blue" and "green", each
// answering its slot's release (a host name as a CNAME, an address as an A or AAAA record).
// A weight is written as both records' weights in one ChangeResourceRecordSets batch, so
// clients never see a half-written split.
//
// Route 53 records carry no tags and the API has no conditional writes, so ownership and
// the weight cutover last wrote are kept in a TXT record beside the name,
// _cutover.<name>, written in the same batch as the weights. A restarted cutover reads it
// back: records that exist without it, or with another owner in it, are refused; weights
// that differ from it are drift.
//
// A weight is effective only once Route 53 reports the change INSYNC and the record's TTL
// has passed since: resolvers cache the previous answer for that long. cutover cannot see
// the split resolvers really apply.
//
// It must not know deployments, the engine or the spec; the SDK client comes from the caller.
package awsr53

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/cutover/cutover/internal/provider"
)

// API is the part of the Route 53 client the provider uses; *route53.Client is one.
type API interface {
	GetHostedZone(context.Context, *route53.GetHostedZoneInput, ...func(*route53.Options)) (*route53.GetHostedZoneOutput, error)
	ListResourceRecordSets(context.Context, *route53.ListResourceRecordSetsInput, ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(context.Context, *route53.ChangeResourceRecordSetsInput, ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(context.Context, *route53.GetChangeInput, ...func(*route53.Options)) (*route53.GetChangeOutput, error)
}

var _ API = (*route53.Client)(nil)

// BackendKind is the Backend.Kind Bind accepts: Ref is the record's value, a host name or
// an IP address.
const BackendKind = "dns"

// OwnerPrefix is prepended to Name to make the name of the ownership TXT record.
const OwnerPrefix = "_cutover."

// MaxTTL is the largest TTL Route 53 accepts, in seconds.
const MaxTTL = 2147483647

// Config is one app's weighted records in a hosted zone.
type Config struct {
	App          string
	HostedZoneID string // "Z0123..." or "/hostedzone/Z0123..."
	Name         string // the record name, with or without the trailing dot
	// Type is the records' type: "CNAME" for host names, "A" or "AAAA" for addresses.
	// Empty takes it from the records cutover already owns, else from the first Bind.
	Type string
	// TTL of the records, whole seconds; zero is 60 s. A weight counts as effective a TTL
	// after Route 53 reports it INSYNC.
	TTL   time.Duration
	Owner string           // the ownership record's owner; empty is "cutover/<app>"
	Now   func() time.Time // nil is time.Now
}

// Provider is the Route 53 traffic provider of one app. Its methods may be called from
// several goroutines; they run one at a time.
type Provider struct {
	api  API
	c    Config
	zone string // the hosted zone's ID, without /hostedzone/
	name string // Name as a lower-case FQDN with the trailing dot

	mu       sync.Mutex
	prepared bool
	typ      string                   // the records' type, once known
	ref      map[provider.Slot]string // the values bound
	held     map[provider.Slot]string // the values cutover last wrote or adopted
	change   change                   // the last change cutover made
}

// change is a ChangeResourceRecordSets batch of cutover's, and when INSYNC was first seen.
type change struct {
	id       string
	insyncAt time.Time
	lost     string // why id is empty after a write, when it is
}

var _ provider.TrafficProvider = (*Provider)(nil)

var (
	zoneIDRE  = regexp.MustCompile(`^[A-Z0-9]{1,32}$`)
	dnsNameRE = regexp.MustCompile(`^([a-z0-9_]([a-z0-9_-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?\.$`)
	ownerRE   = regexp.MustCompile(`^[!#-\[\]-~]{1,200}$`) // printable ASCII without space, '"' or '\'
)

// New returns the provider of c over api. It checks c; it calls nothing.
func New(api API, c Config) (*Provider, error) {
	zone := strings.TrimPrefix(c.HostedZoneID, "/hostedzone/")
	name := fqdn(c.Name)
	if c.Owner == "" {
		c.Owner = "cutover/" + c.App
	}
	if c.TTL == 0 {
		c.TTL = 60 * time.Second
	}
	switch {
	case c.App == "":
		return nil, fmt.Errorf("route53: the app name is required: %w", provider.ErrInvalid)
	case !zoneIDRE.MatchString(zone):
		return nil, fmt.Errorf("route53 %s: hosted zone ID %q is not like Z0123456789ABCDEFGHIJ: %w", c.App, c.HostedZoneID, provider.ErrInvalid)
	case len(OwnerPrefix+name) > 254 || !dnsNameRE.MatchString(name) || net.ParseIP(strings.TrimSuffix(name, ".")) != nil:
		return nil, fmt.Errorf("route53 %s: record name %q is not a DNS name of at most %d characters: %w", c.App, c.Name, 253-len(OwnerPrefix), provider.ErrInvalid)
	case c.Type != "" && c.Type != "CNAME" && c.Type != "A" && c.Type != "AAAA":
		return nil, fmt.Errorf("route53 %s: record type %q: %w: use CNAME, A or AAAA", c.App, c.Type, provider.ErrInvalid)
	case c.TTL < time.Second || c.TTL%time.Second != 0 || c.TTL > MaxTTL*time.Second:
		return nil, fmt.Errorf("route53 %s: TTL %s must be whole seconds, 1s to %ds: %w", c.App, c.TTL, MaxTTL, provider.ErrInvalid)
	case !ownerRE.MatchString(c.Owner):
		return nil, fmt.Errorf("route53 %s: owner %q must be 1 to 200 printable characters without spaces, quotes or backslashes: %w", c.App, c.Owner, provider.ErrInvalid)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Provider{api: api, c: c, zone: zone, name: name, typ: c.Type,
		ref: map[provider.Slot]string{}, held: map[provider.Slot]string{}}, nil
}

// fqdn is name in lower case with one trailing dot.
func fqdn(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) + "." }

// ownerName is the name of the ownership TXT record.
func (p *Provider) ownerName() string { return OwnerPrefix + p.name }

func (p *Provider) errf(format string, a ...any) error {
	return fmt.Errorf("route53 %s: "+format, append([]any{p.c.App}, a...)...)
}

// TypeOf is the record type that answers ref: A for an IPv4 address, AAAA for IPv6, CNAME
// for a host name; empty when ref is neither.
func TypeOf(ref string) string {
	if _, _, ok := parseAlias(ref); ok {
		return "A"
	}
	if ip := net.ParseIP(ref); ip != nil {
		if ip.To4() != nil {
			return "A"
		}
		return "AAAA"
	}
	if n := fqdn(ref); len(n) <= 254 && dnsNameRE.MatchString(n) {
		return "CNAME"
	}
	return ""
}

// AliasRef is the Backend.Ref of an alias record to a load balancer (or any AWS target)
// with DNS name dnsName in hosted zone zoneID: an A record whose answers are the target's,
// with EvaluateTargetHealth, so an unhealthy load balancer gets no answers.
func AliasRef(zoneID, dnsName string) string { return "alias " + zoneID + " " + fqdn(dnsName) }

// parseAlias splits an AliasRef.
func parseAlias(ref string) (zone, name string, ok bool) {
	f := strings.Fields(ref)
	if len(f) != 3 || f[0] != "alias" || !zoneIDRE.MatchString(f[1]) || !dnsNameRE.MatchString(fqdn(f[2])) {
		return "", "", false
	}
	return f[1], fqdn(f[2]), true
}

// shown is ref as value shows a record: an alias without its zone.
func shown(ref string) string {
	if _, name, ok := parseAlias(ref); ok {
		return "alias " + name
	}
	return ref
}

// Bind records b.Ref as slot's answer. It writes nothing: the next SetWeight writes both
// records, values and weights, in one batch, so binding green never moves traffic.
func (p *Provider) Bind(_ context.Context, slot provider.Slot, b provider.Backend) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	typ := TypeOf(b.Ref)
	switch {
	case !slot.Valid():
		return p.errf("bind slot %q: %w", slot, provider.ErrInvalid)
	case !p.prepared:
		return p.errf("bind %s: %w: prepare first", slot, provider.ErrNotFound)
	case b.Kind != BackendKind:
		return p.errf("bind %s to a %q backend: %w: Route 53 answers %q backends (a host name or an IP address)", slot, b.Kind, provider.ErrInvalid, BackendKind)
	case typ == "":
		return p.errf("bind %s to %q: %w: not a host name or an IP address", slot, b.Ref, provider.ErrInvalid)
	case p.typ != "" && typ != p.typ:
		return p.errf("bind %s to %q (a %s record): %w: the records at %s are %s; both slots answer the same type (release the records to change it)",
			slot, b.Ref, typ, provider.ErrInvalid, p.name, p.typ)
	}
	p.typ = typ
	p.ref[slot] = b.Ref
	return nil
}
