package awsr53

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover/cutover/internal/provider"
)

// Prepare finds the hosted zone, then claims the name with the ownership record, or adopts
// the records when the ownership record names cutover (a restarted cutover learns their
// type and values). It refuses, changing nothing, a name whose ownership record names
// another owner, or where records answer without one.
func (p *Provider) Prepare(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	hz, err := p.api.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(p.zone)})
	if err != nil {
		return classify(ctx, p.errf("GetHostedZone %s (check the hosted zone ID and the account)", p.zone).Error(), err, false)
	}
	zoneName := fqdn(aws.ToString(hz.HostedZone.Name))
	if p.name != zoneName && !strings.HasSuffix(p.name, "."+zoneName) {
		return p.errf("%s is not in hosted zone %s (%s): %w", p.name, p.zone, zoneName, provider.ErrInvalid)
	}
	own, err := p.readOwner(ctx)
	if err != nil {
		return err
	}
	rs, err := p.readRecords(ctx, p.typ)
	if err != nil {
		return err
	}
	switch {
	case own != nil && own.owner != p.c.Owner:
		return p.notOwned(own.owner)
	case own == nil && (len(rs.slot) > 0 || len(rs.foreign) > 0):
		return p.errf("records at %s (%s) have no ownership record %s TXT: %w; pick another name, or create that TXT record with the value %s to hand them to cutover",
			p.name, strings.Join(rs.describe(), ", "), p.ownerName(), provider.ErrNotOwned, ownerValue(p.c.Owner, "", ""))
	case rs.mistyped != "":
		return p.errf("cutover's records at %s are %s records, not %s: %w; release them first, or set the record type to %s",
			p.name, rs.mistyped, p.typ, provider.ErrInvalid, rs.mistyped)
	case len(rs.foreign) > 0:
		return p.errf("records at %s that cutover does not own answer beside its own (%s): %w; remove them or pick another name",
			p.name, strings.Join(rs.foreign, ", "), provider.ErrNotOwned)
	case own == nil:
		// CREATE, not UPSERT: it fails if someone else claims the name at the same time.
		if _, err := p.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(p.zone),
			ChangeBatch: &types.ChangeBatch{Comment: aws.String("cutover " + p.c.App + ": claim " + p.name),
				Changes: []types.Change{{Action: types.ChangeActionCreate, ResourceRecordSet: p.txt(ownerValue(p.c.Owner, "", ""))}}},
		}); err != nil {
			if err := p.claimed(ctx, err); err != nil {
				return err
			}
		}
	}
	for slot, s := range rs.slot {
		if p.typ == "" {
			p.typ = string(s.Type)
		}
		p.held[slot] = value(s)
		if p.ref[slot] == "" && s.AliasTarget == nil {
			p.ref[slot] = value(s)
		}
	}
	p.prepared = true
	return nil
}

// claimed settles a failed claim by reading the ownership record again: a CREATE whose
// response was lost and which the SDK retried fails with "already exists" although it
// took, and then the record names cutover. Another owner is refused; anything else is
// the CREATE's error.
func (p *Provider) claimed(ctx context.Context, createErr error) error {
	failed := classify(ctx, p.errf("claim %s: ChangeResourceRecordSets CREATE %s TXT", p.name, p.ownerName()).Error(), createErr, false)
	own, err := p.readOwner(ctx)
	switch {
	case err != nil || own == nil:
		return failed
	case own.owner != p.c.Owner:
		return p.notOwned(own.owner)
	}
	return nil
}

// describe names every record set read, cutover's first.
func (rs records) describe() []string {
	var out []string
	for _, slot := range []provider.Slot{provider.Blue, provider.Green} {
		if s, ok := rs.slot[slot]; ok {
			out = append(out, string(s.Type)+" weighted "+string(slot))
		}
	}
	return append(out, rs.foreign...)
}

// Release deletes both weighted records and the ownership record in one batch, each
// exactly as read (a DELETE must match the record). What is gone is released; records
// whose ownership record is gone or names another owner are left alone and refused.
func (p *Provider) Release(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	own, err := p.readOwner(ctx)
	if err != nil {
		return err
	}
	rs, err := p.readRecords(ctx, "")
	if err != nil {
		return err
	}
	switch {
	case own == nil && len(rs.slot) == 0:
		p.reset()
		return nil
	case own == nil:
		return p.errf("release: the records at %s (%s) have no ownership record %s TXT any more: %w; left as they are",
			p.name, strings.Join(rs.describe(), ", "), p.ownerName(), provider.ErrNotOwned)
	case own.owner != p.c.Owner:
		return p.notOwned(own.owner)
	}
	var changes []types.Change
	for _, slot := range []provider.Slot{provider.Blue, provider.Green} {
		if s, ok := rs.slot[slot]; ok {
			changes = append(changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: &s})
		}
	}
	changes = append(changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: &own.set})
	if _, err := p.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(p.zone),
		ChangeBatch:  &types.ChangeBatch{Comment: aws.String("cutover " + p.c.App + ": release " + p.name), Changes: changes},
	}); err != nil {
		return classify(ctx, p.errf("release: ChangeResourceRecordSets DELETE at %s", p.name).Error(), err, true)
	}
	p.reset()
	return nil
}

// reset forgets what Prepare and Bind learnt.
func (p *Provider) reset() {
	p.prepared, p.typ, p.change = false, p.c.Type, change{}
	p.ref, p.held = map[provider.Slot]string{}, map[provider.Slot]string{}
}
