package awsr53

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover/cutover/internal/provider"
)

// Fields of the ownership record's value, one quoted string each:
// "owner=cutover/web" "green-bp=1000" "written-at=2006-01-02T15:04:05Z".
const (
	fieldOwner   = "owner"
	fieldGreenBP = "green-bp"   // absent until cutover has written a weight
	fieldAt      = "written-at" // RFC 3339
)

// ownership is the ownership record as read.
type ownership struct {
	set    types.ResourceRecordSet // exactly as Route 53 holds it, for a DELETE
	owner  string                  // "" when the record does not name one
	wrote  string                  // the green share written, "" before any write
	at     string
	fields map[string]string
}

// ownerValue is the TXT value of the ownership record. The green share and the time are
// left out when empty (the claim Prepare makes before anything is written).
func ownerValue(owner, greenBP, at string) string {
	v := fmt.Sprintf("%q", fieldOwner+"="+owner)
	if greenBP != "" {
		v += fmt.Sprintf(" %q %q", fieldGreenBP+"="+greenBP, fieldAt+"="+at)
	}
	return v
}

// parseTXT splits a TXT value into its quoted strings' key=value fields.
func parseTXT(v string) map[string]string {
	m := map[string]string{}
	var cur strings.Builder
	in, esc := false, false
	for _, r := range v {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case in && r == '\\':
			esc = true
		case r == '"':
			if in {
				if k, val, ok := strings.Cut(cur.String(), "="); ok {
					m[k] = val
				}
				cur.Reset()
			}
			in = !in
		case in:
			cur.WriteRune(r)
		}
	}
	return m
}

// readOwner reads the ownership record; nil when there is none.
func (p *Provider) readOwner(ctx context.Context) (*ownership, error) {
	out, err := p.api.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(p.zone), StartRecordName: aws.String(p.ownerName()),
		StartRecordType: types.RRTypeTxt, MaxItems: aws.Int32(1),
	})
	if err != nil {
		return nil, classify(ctx, p.errf("ListResourceRecordSets %s TXT", p.ownerName()).Error(), err, false)
	}
	if len(out.ResourceRecordSets) == 0 {
		return nil, nil
	}
	s := out.ResourceRecordSets[0]
	if fqdn(aws.ToString(s.Name)) != p.ownerName() || s.Type != types.RRTypeTxt {
		return nil, nil
	}
	var vals []string
	for _, r := range s.ResourceRecords {
		vals = append(vals, aws.ToString(r.Value))
	}
	f := parseTXT(strings.Join(vals, " "))
	return &ownership{set: s, owner: f[fieldOwner], wrote: f[fieldGreenBP], at: f[fieldAt], fields: f}, nil
}

// records are the record sets at the name, sorted into cutover's and the others that
// answer for it.
type records struct {
	slot    map[provider.Slot]types.ResourceRecordSet // weighted, SetIdentifier blue or green
	foreign []string                                  // "CNAME (simple)", "A set x", ...
	// mistyped is the type of blue or green weighted records that are not of the type
	// asked for, "" when there are none.
	mistyped types.RRType
}

// readRecords lists every record set at the name, with typ the type cutover's records
// are (empty for any of A, AAAA and CNAME): the list is sorted by name, then type,
// then set identifier, and starts at StartRecordName; it stops at the first name past it.
// It does not narrow by StartRecordType, so that a record of another type that would
// answer for the name (a CNAME beside A records) is seen too.
func (p *Provider) readRecords(ctx context.Context, typ string) (records, error) {
	rs := records{slot: map[provider.Slot]types.ResourceRecordSet{}}
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(p.zone), StartRecordName: aws.String(p.name)}
	for page := 0; ; page++ {
		out, err := p.api.ListResourceRecordSets(ctx, in)
		if err != nil {
			return records{}, classify(ctx, p.errf("ListResourceRecordSets %s", p.name).Error(), err, false)
		}
		for _, s := range out.ResourceRecordSets {
			if fqdn(aws.ToString(s.Name)) != p.name {
				return rs, nil // sorted: past the name
			}
			rs.add(s, typ)
		}
		next := fqdn(aws.ToString(out.NextRecordName))
		if !out.IsTruncated || next != p.name {
			return rs, nil
		}
		if page > 100 || (out.NextRecordType == in.StartRecordType && aws.ToString(out.NextRecordIdentifier) == aws.ToString(in.StartRecordIdentifier)) {
			return records{}, p.errf("ListResourceRecordSets %s: the pages do not advance (next %s %s %q)", p.name, next, out.NextRecordType, aws.ToString(out.NextRecordIdentifier))
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
}

// answers reports whether a record of type t answers for a name whose records are typ
// (empty while unknown): records of typ, CNAMEs (they exclude everything else), and
// anything at all beside a CNAME.
func answers(t types.RRType, typ string) bool {
	switch {
	case t == types.RRTypeCname || typ == "CNAME":
		return true
	case typ == "":
		return t == types.RRTypeA || t == types.RRTypeAaaa
	}
	return string(t) == typ
}

// add sorts s, a record set at the name, with typ the type cutover's records are.
func (rs *records) add(s types.ResourceRecordSet, typ string) {
	id := aws.ToString(s.SetIdentifier)
	slot := provider.Slot(id)
	weighted := slot.Valid() && s.Weight != nil &&
		(s.Type == types.RRTypeA || s.Type == types.RRTypeAaaa || s.Type == types.RRTypeCname)
	_, dup := rs.slot[slot]
	switch {
	case weighted && (typ == "" || string(s.Type) == typ) && !dup:
		rs.slot[slot] = s
	case weighted && dup:
		rs.foreign = append(rs.foreign, fmt.Sprintf("%s weighted %s (a second one)", s.Type, id))
	case weighted:
		rs.mistyped = s.Type
		rs.foreign = append(rs.foreign, fmt.Sprintf("%s weighted %s", s.Type, id))
	case !answers(s.Type, typ): // a TXT or MX beside A records
	case id == "":
		rs.foreign = append(rs.foreign, fmt.Sprintf("%s (simple)", s.Type))
	default:
		rs.foreign = append(rs.foreign, fmt.Sprintf("%s set %s", s.Type, id))
	}
}

// value is the first value of s, or its alias target.
func value(s types.ResourceRecordSet) string {
	if s.AliasTarget != nil {
		return "alias " + aws.ToString(s.AliasTarget.DNSName)
	}
	if len(s.ResourceRecords) == 0 {
		return ""
	}
	return aws.ToString(s.ResourceRecords[0].Value)
}

// sameValue compares two record values as DNS does (case and a trailing dot aside).
func sameValue(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

func trimChange(id string) string { return strings.TrimPrefix(id, "/change/") }

// notOwned is the refusal of an ownership record that names owner, not us.
func (p *Provider) notOwned(owner string) error {
	if owner == "" {
		owner = "nobody (no " + fieldOwner + "= in it)"
	}
	return p.errf("%s is owned by %s, not %s (record %s TXT): %w; pick another name, or set its value to %s to hand it to cutover",
		p.name, owner, p.c.Owner, p.ownerName(), provider.ErrNotOwned, ownerValue(p.c.Owner, "", ""))
}
