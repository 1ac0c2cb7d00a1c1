package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cutover/cutover/internal/provider"
)

// BackendKind is the Backend.Kind Bind accepts: Ref is the endpoint answered, a host name
// or an IP address (the same kind as Route 53's).
const BackendKind = "dns"

// Provider is one app's weighted name on a Table: provider.TrafficProvider for the local
// DNS server. Nobody but this server writes the table, so there is no drift to report.
type Provider struct {
	t   *Table
	app string
	rec Record // name and TTL to claim
	now func() time.Time
}

// NewProvider is app's provider for name, answered with ttl (whole seconds, at least 1s);
// now nil is time.Now.
func NewProvider(t *Table, app, name string, ttl time.Duration, now func() time.Time) (*Provider, error) {
	if ttl < time.Second || ttl%time.Second != 0 {
		return nil, fmt.Errorf("dns %s: TTL %s: %w: want whole seconds, at least 1s", app, ttl, provider.ErrInvalid)
	}
	if now == nil {
		now = time.Now
	}
	return &Provider{t: t, app: app, rec: Record{Name: fqdn(name), TTL: uint32(ttl / time.Second)}, now: now}, nil
}

func (p *Provider) errf(format string, a ...any) error {
	return fmt.Errorf("dns %s (%s): "+format, append([]any{p.app, p.rec.Name}, a...)...)
}

// Prepare claims the name for the app (keeping what it already answers there), or fails
// with provider.ErrNotOwned when another app answers it.
func (p *Provider) Prepare(context.Context) error {
	_, err := p.t.update(p.app, func(r *Record) error {
		r.Name, r.TTL = p.rec.Name, p.rec.TTL
		return nil
	})
	if errors.Is(err, errClaimed) {
		return p.errf("%w: %w; give this app another traffic.dns.name", provider.ErrNotOwned, err)
	}
	return err
}

// Bind makes slot answer b.Ref. Binding moves no clients to green: the share stays.
func (p *Provider) Bind(_ context.Context, slot provider.Slot, b provider.Backend) error {
	if !slot.Valid() {
		return p.errf("bind: %w: no slot %q", provider.ErrInvalid, slot)
	}
	if b.Kind != BackendKind || !validEndpoint(b.Ref) {
		return p.errf("bind %s: %w: want a %q backend with an IP address or host name, got %q %q", slot, provider.ErrInvalid, BackendKind, b.Kind, b.Ref)
	}
	_, err := p.t.update(p.app, func(r *Record) error {
		if r.Name == "" {
			return p.errf("bind %s: %w: prepare first", slot, provider.ErrNotFound)
		}
		if slot == provider.Green {
			r.Green = b.Ref
		} else {
			r.Blue = b.Ref
		}
		return nil
	})
	return err
}

// SetWeight answers green to bp of the buckets, exactly (the server's quantum is one basis
// point), from now on.
func (p *Provider) SetWeight(_ context.Context, bp int) (provider.Written, error) {
	if err := provider.CheckWeight(bp); err != nil {
		return provider.Written{}, p.errf("%w", err)
	}
	at := p.now()
	_, err := p.t.update(p.app, func(r *Record) error {
		switch {
		case r.Name == "":
			return p.errf("set weight: %w: prepare first", provider.ErrNotFound)
		case r.Blue == "" || r.Green == "":
			return p.errf("set weight: %w: bind both slots first (blue %q, green %q)", provider.ErrNotFound, r.Blue, r.Green)
		}
		r.GreenBP, r.Written = bp, at
		return nil
	})
	if err != nil {
		return provider.Written{}, err
	}
	return provider.Written{GreenBP: bp, Raw: fmt.Sprintf("green=%d bp", bp), At: at}, nil
}

// Observe reads the record the server answers. A weight is converged once written, and
// effective a TTL after the write.
func (p *Provider) Observe(context.Context) (provider.Observed, error) {
	r, ok := p.t.get(p.app)
	if !ok {
		return provider.Observed{}, p.errf("observe: %w: prepare first", provider.ErrNotFound)
	}
	o := provider.Observed{GreenBP: r.GreenBP}
	o.Evidence = "DNS " + r.Name + " " + split(r)
	if r.Written.IsZero() {
		o.Reason = fmt.Sprintf("no weight written at %s yet", r.Name)
		return o, nil
	}
	ttl := time.Duration(r.TTL) * time.Second
	o.Converged, o.EffectiveAt = true, r.Written.Add(ttl)
	o.Settle = fmt.Sprintf("TTL %ds after the write", r.TTL)
	o.Evidence += fmt.Sprintf(", written at %s, effective after TTL %ds at %s", clock(r.Written), r.TTL, clock(o.EffectiveAt))
	return o, nil
}

// Release stops answering the name.
func (p *Provider) Release(context.Context) error { return p.t.remove(p.app) }

func validEndpoint(e string) bool {
	if _, err := netip.ParseAddr(e); err == nil {
		return true
	}
	return e != "" && len(e) <= 253 && hostRE.MatchString(e)
}

// split says which endpoint the clients get: "answers 127.0.0.3 to 10.00% of clients and
// 127.0.0.2 to 90.00% (slots blue and green)".
func split(r Record) string {
	switch {
	case r.Blue == "" && r.Green == "":
		return "answers nothing yet (no slot bound)"
	case r.Blue == r.Green || r.Green == "" || r.GreenBP == 0:
		return fmt.Sprintf("answers %s to every client (slot blue)", or(r.Blue, r.Green))
	case r.Blue == "" || r.GreenBP == provider.MaxBP:
		return fmt.Sprintf("answers %s to every client (slot green)", r.Green)
	}
	return fmt.Sprintf("answers %s to %s of clients and %s to %s (slots blue and green)",
		r.Blue, pct(provider.MaxBP-r.GreenBP), r.Green, pct(r.GreenBP))
}

func or(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

func pct(bp int) string { return fmt.Sprintf("%d.%02d%%", bp/100, bp%100) }

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }
