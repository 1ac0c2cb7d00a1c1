package awsr53

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/provider/providertest"
)

// fakeClock is a clock the tests advance.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rig is a moto_server with a hosted zone example.test.
type rig struct {
	m    *awstest.Moto
	api  *route53.Client
	zone string
	clk  *fakeClock
	n    int
}

const name = "www.example.test"

func newRig(t *testing.T) *rig {
	m := awstest.Start(t)
	return &rig{m: m, api: route53.NewFromConfig(m.Config()), clk: newClock()}
}

// fresh resets moto and creates the hosted zone every test starts from.
func (r *rig) fresh(t *testing.T) {
	t.Helper()
	r.m.Reset(t)
	r.n++
	out, err := r.api.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String("example.test"), CallerReference: aws.String("cutover-test-" + strconv.Itoa(r.n)),
	})
	if err != nil {
		t.Fatalf("create the test hosted zone: %v", err)
	}
	r.zone = aws.ToString(out.HostedZone.Id)
}

func (r *rig) config() Config {
	return Config{App: "web", HostedZoneID: r.zone, Name: name, Type: "CNAME", Now: r.clk.Now}
}

func (r *rig) provider(t *testing.T, c Config) *Provider {
	t.Helper()
	p, err := New(r.api, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func backend(s provider.Slot) provider.Backend {
	return provider.Backend{Kind: BackendKind, Ref: string(s) + ".example.test", Version: "v-" + string(s)}
}

// bound is a prepared provider with both slots bound.
func (r *rig) bound(t *testing.T, c Config) *Provider {
	t.Helper()
	p := r.provider(t, c)
	ctx := awstest.Ctx(t)
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		if err := p.Bind(ctx, s, backend(s)); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// upsert writes record sets behind the provider's back, as another tool would.
func (r *rig) upsert(t *testing.T, sets ...types.ResourceRecordSet) {
	t.Helper()
	var changes []types.Change
	for i := range sets {
		changes = append(changes, types.Change{Action: types.ChangeActionUpsert, ResourceRecordSet: &sets[i]})
	}
	if _, err := r.api.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(r.zone), ChangeBatch: &types.ChangeBatch{Changes: changes}}); err != nil {
		t.Fatal(err)
	}
}

func cname(n, id string, w int64, v string) types.ResourceRecordSet {
	s := types.ResourceRecordSet{Name: aws.String(n), Type: types.RRTypeCname, TTL: aws.Int64(60),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(v)}}}
	if id != "" {
		s.SetIdentifier, s.Weight = aws.String(id), aws.Int64(w)
	}
	return s
}

// tamper sets the weighted records to bp's weights.
func (r *rig) tamper(t *testing.T, bp int) {
	t.Helper()
	b, g, _ := Quantise(bp)
	r.upsert(t, cname(name, "blue", b, "blue.example.test"), cname(name, "green", g, "green.example.test"))
}

// list is every record set in the zone, as "name type id weight value".
func (r *rig) list(t *testing.T) []string {
	t.Helper()
	out, err := r.api.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(r.zone)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range out.ResourceRecordSets {
		if s.Type == types.RRTypeNs || s.Type == types.RRTypeSoa {
			continue
		}
		w := ""
		if s.Weight != nil {
			w = strconv.FormatInt(*s.Weight, 10)
		}
		got = append(got, strings.Join(strings.Fields(fmt.Sprintf("%s %s %s %s %s", aws.ToString(s.Name), s.Type, aws.ToString(s.SetIdentifier), w, value(s))), " "))
	}
	return got
}

// TestRoute53Contract: the Route 53 provider passes the TrafficProvider contract against
// moto, reading the records back after each write, reporting drift and refusing a name it
// does not own.
func TestRoute53Contract(t *testing.T) {
	r := newRig(t)
	providertest.RunTraffic(t, providertest.TrafficHarness{
		New: func(t *testing.T) provider.TrafficProvider {
			r.fresh(t)
			c := r.config()
			c.TTL = time.Second // the suite ticks the clock 100 ms a poll; moto is INSYNC at once
			return r.provider(t, c)
		},
		Backend: func(t *testing.T, s provider.Slot) provider.Backend { return backend(s) },
		Quantum: Quantum,
		Now:     r.clk.Now,
		Tick:    r.clk.Advance,
		Tamper:  func(t *testing.T, _ provider.TrafficProvider, bp int) { r.tamper(t, bp) },
		Foreign: func(t *testing.T) provider.TrafficProvider {
			r.fresh(t)
			r.upsert(t, cname(name, "", 0, "theirs.example.test"))
			return r.provider(t, r.config())
		},
	})
}

// TestRoute53CanaryWalksTheRealSequence: 10% → 50% → 100% → 0 writes both weighted records
// and the ownership record in one batch, ListResourceRecordSets shows the weights after
// each write, and a weight verifies only a TTL after Route 53 reported it INSYNC.
func TestRoute53CanaryWalksTheRealSequence(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	p := r.bound(t, r.config())
	ctx := awstest.Ctx(t)
	for _, c := range []struct {
		bp  int
		raw string
	}{{1000, "blue=225 green=25"}, {5000, "blue=127 green=127"}, {10000, "blue=0 green=255"}, {0, "blue=255 green=0"}} {
		w, err := p.SetWeight(ctx, c.bp)
		if err != nil || w.GreenBP != c.bp || w.Raw != c.raw {
			t.Fatalf("SetWeight(%d) = %+v %v, want %s", c.bp, w, err, c.raw)
		}
		b, g, _ := Quantise(c.bp)
		want := []string{
			fmt.Sprintf("%s. CNAME blue %d blue.example.test", name, b),
			fmt.Sprintf("%s. CNAME green %d green.example.test", name, g),
			fmt.Sprintf(`_cutover.%s. TXT "owner=cutover/web" "green-bp=%d" "written-at=%s"`, name, c.bp, r.clk.Now().Format(time.RFC3339Nano)),
		}
		if got := r.list(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("after %d bp the zone holds\n%s\nwant\n%s", c.bp, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		o, err := p.Observe(ctx)
		wantEv := fmt.Sprintf("Route 53 %s. weights %s INSYNC at %s, effective after TTL 60s at %s", name, c.raw,
			clock(r.clk.Now()), clock(r.clk.Now().Add(time.Minute)))
		if err != nil || o.Evidence != wantEv || o.GreenBP != c.bp || !o.Converged || o.Drift != "" {
			t.Fatalf("Observe after %d bp = %+v %v, want evidence %q", c.bp, o, err, wantEv)
		}
		if ok, why := provider.Verify(o, w, r.clk.Now().Add(59*time.Second)); ok || !strings.Contains(why, "waiting for TTL 60s after INSYNC (until ") {
			t.Fatalf("Verify 59 s after INSYNC = %v %q, want settling for the 60 s TTL", ok, why)
		}
		r.clk.Advance(time.Minute)
		if o, err = p.Observe(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, why := provider.Verify(o, w, r.clk.Now()); !ok {
			t.Fatalf("Verify a TTL after INSYNC: %s", why)
		}
	}
	if err := p.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.list(t); len(got) != 0 {
		t.Fatalf("Release left %v", got)
	}
}

// TestRoute53MissingZone: a hosted zone that does not exist is ErrNotFound naming it.
func TestRoute53MissingZone(t *testing.T) {
	r := newRig(t)
	r.fresh(t)
	c := r.config()
	c.HostedZoneID = "/hostedzone/Z0NOSUCHZONE"
	err := r.provider(t, c).Prepare(awstest.Ctx(t))
	if !errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "Z0NOSUCHZONE") || provider.Classify(err) != provider.Permanent {
		t.Fatalf("Prepare over a missing zone = %v, want ErrNotFound naming Z0NOSUCHZONE", err)
	}
}
