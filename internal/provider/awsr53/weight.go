package awsr53

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider"
)

// MaxWeight is Route 53's largest record weight.
const MaxWeight = 255

// Quantum is the most, in basis points, a written share is from the one asked for (near
// 0% and 100%, where the closest fractions are 0 and 1/255).
const Quantum = 20

// Quantise maps bp to Route 53 weights (0..255 each): the fraction green/(blue+green) with
// blue+green at most 255 closest to bp, the smallest such denominator on a tie, scaled up
// to the largest sum at most 255. Every whole percentage is exact (10% is blue=225
// green=25), every share is within Quantum, and blue and green are never both 0 (Route 53
// splits evenly between records that all weigh 0). It returns the weights and the share
// they really give green.
func Quantise(bp int) (blue, green int64, got int) {
	bp = min(max(bp, 0), provider.MaxBP)
	bestQ, bestG, bestErr := int64(1), int64(0), math.Inf(1)
	for q := int64(1); q <= MaxWeight; q++ {
		g := int64(math.Round(float64(bp) * float64(q) / provider.MaxBP))
		if e := math.Abs(float64(g)/float64(q)*provider.MaxBP - float64(bp)); e < bestErr-1e-9 {
			bestQ, bestG, bestErr = q, g, e
		}
	}
	k := MaxWeight / bestQ
	blue, green = (bestQ-bestG)*k, bestG*k
	return blue, green, share(blue, green)
}

// share is the part of the answers Route 53 gives green, in basis points. Records that all
// weigh 0 share evenly.
func share(blue, green int64) int {
	if blue+green == 0 {
		return provider.MaxBP / 2
	}
	return int(math.Round(float64(green) * provider.MaxBP / float64(blue+green)))
}

// SetWeight writes, in one batch, both weighted records (with the values bound) and the
// ownership record with the share written. It refuses, writing nothing, when the ownership
// record names another owner or is gone. It reads the records back after the write.
func (p *Provider) SetWeight(ctx context.Context, bp int) (provider.Written, error) {
	if err := provider.CheckWeight(bp); err != nil {
		return provider.Written{}, p.errf("%w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !p.prepared:
		return provider.Written{}, p.errf("set weight: %w: prepare first", provider.ErrNotFound)
	case p.ref[provider.Blue] == "" || p.ref[provider.Green] == "":
		return provider.Written{}, p.errf("set weight: %w: bind both slots first (blue %q, green %q)", provider.ErrNotFound, p.ref[provider.Blue], p.ref[provider.Green])
	}
	own, err := p.readOwner(ctx)
	if err != nil {
		return provider.Written{}, err
	}
	if own == nil {
		return provider.Written{}, p.errf("set weight: %w: the ownership record %s TXT is gone; prepare again to claim %s", provider.ErrNotOwned, p.ownerName(), p.name)
	}
	if own.owner != p.c.Owner {
		return provider.Written{}, p.notOwned(own.owner)
	}
	blue, green, got := Quantise(bp)
	at := p.c.Now()
	txt := ownerValue(p.c.Owner, strconv.Itoa(got), at.UTC().Format(time.RFC3339Nano))
	out, err := p.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(p.zone),
		ChangeBatch: &types.ChangeBatch{
			Comment: aws.String(fmt.Sprintf("cutover %s: green %d bp", p.c.App, got)),
			Changes: []types.Change{
				{Action: types.ChangeActionUpsert, ResourceRecordSet: p.weighted(provider.Blue, blue)},
				{Action: types.ChangeActionUpsert, ResourceRecordSet: p.weighted(provider.Green, green)},
				{Action: types.ChangeActionUpsert, ResourceRecordSet: p.txt(txt)},
			},
		},
	})
	if err != nil {
		// Route 53 refused the batch whole when it answered; without an answer it may
		// have landed under a change ID never received, so nothing counts as converged
		// until a write succeeds.
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			p.change = change{lost: fmt.Sprintf("the outcome of cutover's write of green %d bp is unknown; write the weight again", got)}
		}
		return provider.Written{}, classify(ctx, p.errf("ChangeResourceRecordSets %s (blue=%d green=%d)", p.name, blue, green).Error(), err, true)
	}
	p.change = change{id: changeID(out.ChangeInfo)}
	if out.ChangeInfo != nil && out.ChangeInfo.Status == types.ChangeStatusInsync {
		p.change.insyncAt = p.c.Now()
	}
	p.held[provider.Blue], p.held[provider.Green] = p.ref[provider.Blue], p.ref[provider.Green]
	w := provider.Written{GreenBP: got, Raw: fmt.Sprintf("blue=%d green=%d", blue, green), At: at}
	o, err := p.observe(ctx) // read back after each write
	if err != nil {
		return w, p.errf("read back after writing %s: %w", w.Raw, err)
	}
	if o.GreenBP != got {
		return w, p.errf("wrote %s but ListResourceRecordSets reads green at %d bp: %w", w.Raw, o.GreenBP, provider.ErrUnknownOutcome)
	}
	return w, nil
}

// weighted is slot's record set with weight w.
func (p *Provider) weighted(slot provider.Slot, w int64) *types.ResourceRecordSet {
	if zone, name, ok := parseAlias(p.ref[slot]); ok {
		return &types.ResourceRecordSet{
			Name: aws.String(p.name), Type: types.RRTypeA, SetIdentifier: aws.String(string(slot)), Weight: aws.Int64(w),
			AliasTarget: &types.AliasTarget{HostedZoneId: aws.String(zone), DNSName: aws.String(name), EvaluateTargetHealth: true},
		}
	}
	return &types.ResourceRecordSet{
		Name: aws.String(p.name), Type: types.RRType(p.typ), SetIdentifier: aws.String(string(slot)),
		Weight: aws.Int64(w), TTL: aws.Int64(int64(p.c.TTL / time.Second)),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(p.ref[slot])}},
	}
}

// txt is the ownership record with value v.
func (p *Provider) txt(v string) *types.ResourceRecordSet {
	return &types.ResourceRecordSet{
		Name: aws.String(p.ownerName()), Type: types.RRTypeTxt, TTL: aws.Int64(int64(p.c.TTL / time.Second)),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(v)}},
	}
}

func changeID(ci *types.ChangeInfo) string {
	if ci == nil {
		return ""
	}
	return trimChange(aws.ToString(ci.Id))
}
