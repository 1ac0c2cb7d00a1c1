package awsr53

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awstest"
)

// pending is the Route 53 client with every change PENDING until insync is set, as AWS
// reports a change until its DNS servers have it.
type pending struct {
	API
	mu     sync.Mutex
	insync bool
	calls  int
}

func (a *pending) status(ci *types.ChangeInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.insync {
		ci.Status = types.ChangeStatusPending
	}
}

func (a *pending) ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, o ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	out, err := a.API.ChangeResourceRecordSets(ctx, in, o...)
	if err == nil {
		a.status(out.ChangeInfo)
	}
	return out, err
}

func (a *pending) GetChange(ctx context.Context, in *route53.GetChangeInput, o ...func(*route53.Options)) (*route53.GetChangeOutput, error) {
	a.mu.Lock()
	a.calls++
	a.mu.Unlock()
	out, err := a.API.GetChange(ctx, in, o...)
	if err == nil {
		a.status(out.ChangeInfo)
	}
	return out, err
}

// TestRoute53PendingIsNotConverged: while the change is PENDING the weight is held but not
// converged, with the change named; the TTL counts from when INSYNC was first seen, and
// GetChange is not asked again after.
func TestRoute53PendingIsNotConverged(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	api := &pending{API: r.api}
	p := r.provider(t, r.config())
	p.api = api
	ctx := awstest.Ctx(t)
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		if err := p.Bind(ctx, s, backend(s)); err != nil {
			t.Fatal(err)
		}
	}
	w, err := p.SetWeight(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(30 * time.Second)
	o, err := p.Observe(ctx)
	if err != nil || o.Converged || o.GreenBP != 1000 || !strings.HasPrefix(o.Reason, "Route 53 change ") || !strings.HasSuffix(o.Reason, " is PENDING") ||
		!strings.Contains(o.Evidence, "PENDING") {
		t.Fatalf("Observe while PENDING = %+v %v", o, err)
	}
	if ok, why := provider.Verify(o, w, r.clk.Now()); ok || !strings.Contains(why, "PENDING") {
		t.Fatalf("Verify while PENDING = %v %q", ok, why)
	}
	api.mu.Lock()
	api.insync = true
	api.mu.Unlock()
	r.clk.Advance(10 * time.Second)
	insync := r.clk.Now()
	if o, err = p.Observe(ctx); err != nil || !o.Converged || !o.EffectiveAt.Equal(insync.Add(time.Minute)) {
		t.Fatalf("Observe once INSYNC = %+v %v, want effective at %s", o, err, insync.Add(time.Minute))
	}
	calls := api.calls
	r.clk.Advance(time.Minute)
	if o, err = p.Observe(ctx); err != nil || !o.EffectiveAt.Equal(insync.Add(time.Minute)) || api.calls != calls {
		t.Fatalf("a later Observe = %+v %v (GetChange calls %d then %d), want INSYNC remembered", o, err, calls, api.calls)
	}
	if ok, why := provider.Verify(o, w, r.clk.Now()); !ok {
		t.Fatal(why)
	}
}
