package awsr53

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awstest"
)

// TestRoute53RestartKnowsTheLastWrite: a new provider over the same zone (a restarted
// cutover) adopts the records, knows from the ownership record the weight cutover wrote,
// can write without a new Bind, and reports drift after someone else changed the weights.
func TestRoute53RestartKnowsTheLastWrite(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	ctx := awstest.Ctx(t)
	if _, err := r.bound(t, r.config()).SetWeight(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	q := r.provider(t, r.config())
	if err := q.Prepare(ctx); err != nil {
		t.Fatalf("adopt: %v", err)
	}
	o, err := q.Observe(ctx)
	if err != nil || o.GreenBP != 1000 || o.Drift != "" || o.Converged || !strings.Contains(o.Reason, "before this process started") {
		t.Fatalf("a restarted provider observes %+v %v, want 10%% green, no drift, its change unknown", o, err)
	}
	r.tamper(t, 5000)
	o, err = q.Observe(ctx)
	if err != nil || o.GreenBP != 5000 || !strings.Contains(o.Drift, "green 5000 bp") || !strings.Contains(o.Drift, "cutover wrote green 1000 bp") {
		t.Fatalf("after tampering the restarted provider observes %+v %v, want drift naming 5000 and 1000 bp", o, err)
	}
	if w, err := q.SetWeight(ctx, 1000); err != nil || w.GreenBP != 1000 {
		t.Fatalf("a restarted provider writes the weight back: %+v %v", w, err)
	}
	if o, err = q.Observe(ctx); err != nil || o.Drift != "" || !o.Converged {
		t.Fatalf("after the rewrite Observe = %+v %v", o, err)
	}
	// Repointing a record is drift too, for the provider that wrote it.
	r.upsert(t, cname(name, "green", 25, "elsewhere.example.test"))
	if o, err = q.Observe(ctx); err != nil || !strings.Contains(o.Drift, "elsewhere.example.test") {
		t.Fatalf("after repointing green Observe = %+v %v, want drift naming the new value", o, err)
	}
}

// TestRoute53RefusesWhatItDoesNotOwn: records without the ownership record, or an
// ownership record naming another owner, are refused with ErrNotOwned and a way to hand
// them over; the refusal changes nothing.
func TestRoute53RefusesWhatItDoesNotOwn(t *testing.T) {
	r := newRig(t)
	ctx := awstest.Ctx(t)
	for _, c := range []struct {
		desc string
		sets []types.ResourceRecordSet
		says []string
	}{
		{"weighted records without the ownership record",
			[]types.ResourceRecordSet{cname(name, "blue", 255, "a.example.test"), cname(name, "green", 0, "b.example.test")},
			[]string{"CNAME weighted blue", "no ownership record _cutover." + name + ". TXT", `"owner=cutover/web"`}},
		{"an ownership record naming another owner",
			[]types.ResourceRecordSet{{Name: aws.String("_cutover." + name), Type: types.RRTypeTxt, TTL: aws.Int64(60),
				ResourceRecords: []types.ResourceRecord{{Value: aws.String(`"owner=cutover/api"`)}}}},
			[]string{"owned by cutover/api, not cutover/web", "hand it to cutover"}},
		{"a simple record beside the owned weighted ones",
			nil, []string{"CNAME (simple)", "does not own"}},
	} {
		r.fresh(t)
		if c.sets == nil { // owned weighted records, then a simple one
			if _, err := r.bound(t, r.config()).SetWeight(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := r.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(r.zone),
				ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionCreate,
					ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String(name), Type: types.RRTypeCname, TTL: aws.Int64(60),
						ResourceRecords: []types.ResourceRecord{{Value: aws.String("theirs.example.test")}}}}}}}); err != nil {
				t.Fatal(err)
			}
		} else {
			r.upsert(t, c.sets...)
		}
		before := r.list(t)
		err := r.provider(t, r.config()).Prepare(ctx)
		if !errors.Is(err, provider.ErrNotOwned) {
			t.Fatalf("%s: Prepare = %v, want ErrNotOwned", c.desc, err)
		}
		for _, s := range c.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: Prepare = %q, want it to say %q", c.desc, err, s)
			}
		}
		if c.sets != nil { // what was never ours is not released either
			if err := r.provider(t, r.config()).Release(ctx); !errors.Is(err, provider.ErrNotOwned) {
				t.Fatalf("%s: Release = %v, want ErrNotOwned", c.desc, err)
			}
		}
		if after := r.list(t); strings.Join(after, "\n") != strings.Join(before, "\n") {
			t.Fatalf("%s: a refused Prepare or Release changed the zone from %v to %v", c.desc, before, after)
		}
	}
}

// TestRoute53AddressRecords: releases at IP addresses are answered by weighted A records,
// the type taken from the first Bind; a host name for the other slot is refused.
func TestRoute53AddressRecords(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	c := r.config()
	c.Type = ""
	p := r.provider(t, c)
	ctx := awstest.Ctx(t)
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(ctx, provider.Blue, provider.Backend{Kind: BackendKind, Ref: "192.0.2.10"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(ctx, provider.Green, provider.Backend{Kind: BackendKind, Ref: "green.example.test"}); !errors.Is(err, provider.ErrInvalid) || !strings.Contains(err.Error(), "are A") {
		t.Fatalf("Bind a host name beside an address = %v, want ErrInvalid", err)
	}
	if err := p.Bind(ctx, provider.Green, provider.Backend{Kind: BackendKind, Ref: "192.0.2.20"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetWeight(ctx, 3000); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(r.list(t), "\n")
	if !strings.Contains(got, name+". A blue 175 192.0.2.10") || !strings.Contains(got, name+". A green 75 192.0.2.20") {
		t.Fatalf("the zone holds\n%s\nwant weighted A records 175/75", got)
	}
	if err := p.Bind(ctx, provider.Green, provider.Backend{Kind: "alb-target-group", Ref: "arn:aws:..."}); !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("Bind an ALB target group = %v, want ErrInvalid", err)
	}
}

// failChange is the Route 53 client with ChangeResourceRecordSets timing out, as a write
// cut short.
type failChange struct {
	API
	fail bool
}

func (f *failChange) ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, o ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	if f.fail {
		return nil, context.DeadlineExceeded
	}
	return f.API.ChangeResourceRecordSets(ctx, in, o...)
}

// TestRoute53WriteThatDidNotLandIsNotDrift: a write that timed out is an unknown outcome;
// the records still at the previous weight read as not converged, not as drift, and the
// rewrite verifies.
func TestRoute53WriteThatDidNotLandIsNotDrift(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	api := &failChange{API: r.api}
	p := r.bound(t, r.config())
	p.api = api
	ctx := awstest.Ctx(t)
	if _, err := p.SetWeight(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	api.fail = true
	_, err := p.SetWeight(ctx, 5000)
	if provider.Classify(err) != provider.Unknown {
		t.Fatalf("a timed-out write = %v, want an unknown outcome", err)
	}
	o, err := p.Observe(ctx)
	if err != nil || o.Drift != "" || o.Converged || o.GreenBP != 1000 || !strings.Contains(o.Reason, "unknown") {
		t.Fatalf("after a write that did not land Observe = %+v %v, want not converged at 10%%, no drift", o, err)
	}
	api.fail = false
	if w, err := p.SetWeight(ctx, 5000); err != nil || w.GreenBP != 5000 {
		t.Fatalf("rewrite = %+v %v", w, err)
	}
}

// lostFirstClaim sends the first ChangeResourceRecordSets to moto and then, as if its
// response were lost, sends it again and returns the retry's answer; before the retry it
// lets between run, another tool's write landing in that gap.
type lostFirstClaim struct {
	API
	between func()
	done    bool
}

func (l *lostFirstClaim) ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, o ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	if l.done {
		return l.API.ChangeResourceRecordSets(ctx, in, o...)
	}
	l.done = true
	if _, err := l.API.ChangeResourceRecordSets(ctx, in, o...); err != nil {
		return nil, err
	}
	if l.between != nil {
		l.between()
	}
	return l.API.ChangeResourceRecordSets(ctx, in, o...)
}

// TestRoute53ClaimSurvivesARetriedCreate: a claim whose CREATE took but whose retry
// failed with "already exists" is cutover's claim and Prepare goes on; when another
// owner's record is there instead, Prepare refuses with ErrNotOwned.
func TestRoute53ClaimSurvivesARetriedCreate(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	ctx := awstest.Ctx(t)
	p, err := New(&lostFirstClaim{API: r.api}, r.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Prepare(ctx); err != nil {
		t.Fatalf("Prepare after a retried claim: %v", err)
	}
	if got := strings.Join(r.list(t), "\n"); !strings.Contains(got, `"owner=cutover/web"`) {
		t.Fatalf("the zone holds\n%s\nwant cutover's ownership record", got)
	}

	r.fresh(t)
	theirs := types.ResourceRecordSet{Name: aws.String("_cutover." + name), Type: types.RRTypeTxt, TTL: aws.Int64(60),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(`"owner=someone/else"`)}}}
	l := &lostFirstClaim{API: r.api}
	l.between = func() {
		// Someone replaces the record between the two tries.
		if _, err := r.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(r.zone),
			ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionUpsert, ResourceRecordSet: &theirs}}}}); err != nil {
			t.Fatal(err)
		}
	}
	q, err := New(l, r.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Prepare(ctx); !errors.Is(err, provider.ErrNotOwned) || !strings.Contains(err.Error(), "someone/else") {
		t.Fatalf("Prepare with another owner's claim = %v, want ErrNotOwned naming someone/else", err)
	}
}
