package awsr53

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider"
)

// TestQuantise: whole percentages are exact, every share is within Quantum, blue and
// green never both weigh 0, and green at 0 or 100% leaves the other slot nothing.
func TestQuantise(t *testing.T) {
	for _, c := range []struct {
		desc        string
		bp          int
		blue, green int64
		got         int
	}{
		{"nothing to green", 0, 255, 0, 0},
		{"everything to green", 10000, 0, 255, 10000},
		{"10%", 1000, 225, 25, 1000},
		{"half", 5000, 127, 127, 5000},
		{"a quarter", 2500, 189, 63, 2500},
		{"a third of a percent off", 3333, 170, 85, 3333},
		{"1%", 100, 198, 2, 100},
		{"1 bp rounds to nothing", 1, 255, 0, 0},
		{"20 bp is 1/255", 20, 254, 1, 39},
		{"9999 bp rounds to everything", 9999, 0, 255, 10000},
	} {
		b, g, got := Quantise(c.bp)
		if b != c.blue || g != c.green || got != c.got {
			t.Errorf("%s: Quantise(%d) = %d/%d (%d bp), want %d/%d (%d bp)", c.desc, c.bp, b, g, got, c.blue, c.green, c.got)
		}
	}
	worst := 0
	for bp := 0; bp <= provider.MaxBP; bp++ {
		b, g, got := Quantise(bp)
		if b < 0 || g < 0 || b+g == 0 || b+g > MaxWeight || share(b, g) != got {
			t.Fatalf("Quantise(%d) = %d/%d (%d bp): weights out of range or share not %d", bp, b, g, got, share(b, g))
		}
		if (g == 0) != (got == 0) || (b == 0) != (got == provider.MaxBP) {
			t.Fatalf("Quantise(%d) = %d/%d (%d bp): a zero weight must mean all or nothing", bp, b, g, got)
		}
		if bp%100 == 0 && got != bp {
			t.Fatalf("Quantise(%d) = %d bp: whole percentages are exact", bp, got)
		}
		worst = max(worst, got-bp, bp-got)
	}
	if worst > Quantum || worst < Quantum-1 {
		t.Fatalf("the worst quantisation error is %d bp; Quantum says %d", worst, Quantum)
	}
}

// TestOwnershipValue: the ownership record's value reads back into its fields.
func TestOwnershipValue(t *testing.T) {
	v := ownerValue("cutover/web", "1000", "2030-01-02T12:00:00Z")
	if v != `"owner=cutover/web" "green-bp=1000" "written-at=2030-01-02T12:00:00Z"` {
		t.Fatalf("ownerValue = %s", v)
	}
	f := parseTXT(v)
	if f[fieldOwner] != "cutover/web" || f[fieldGreenBP] != "1000" || f[fieldAt] != "2030-01-02T12:00:00Z" {
		t.Fatalf("parseTXT(%s) = %v", v, f)
	}
	if f := parseTXT(`"owner=a\"b" junk "x"`); f[fieldOwner] != `a"b` || len(f) != 1 {
		t.Fatalf("parseTXT with an escape and junk = %v", f)
	}
	if v := ownerValue("cutover/web", "", ""); v != `"owner=cutover/web"` {
		t.Fatalf("the claim = %s", v)
	}
}

// TestClassifyRoute53Errors: throttling is retryable, access denied, a missing zone and a
// refused batch are permanent with what failed, a timed-out write is an unknown outcome.
func TestClassifyRoute53Errors(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "from AWS"} }
	for _, c := range []struct {
		err   error
		write bool
		is    error
		class provider.Class
		says  string
	}{
		{api("Throttling"), true, provider.ErrThrottled, provider.Retryable, "from AWS"},
		{&types.PriorRequestNotComplete{Message: aws.String("wait")}, true, provider.ErrThrottled, provider.Retryable, "wait"},
		{api("AccessDenied"), false, provider.ErrAccessDenied, provider.Permanent, "grant cutover's role"},
		{&types.NoSuchHostedZone{Message: aws.String("No hosted zone found with ID: Z1")}, false, provider.ErrNotFound, provider.Permanent, "Z1"},
		{&types.InvalidChangeBatch{Message: aws.String("bad batch")}, true, provider.ErrInvalid, provider.Permanent, "bad batch"},
		{api("InvalidInput"), false, provider.ErrInvalid, provider.Permanent, "ChangeResourceRecordSets"},
		{context.DeadlineExceeded, true, provider.ErrUnknownOutcome, provider.Unknown, "may have landed"},
	} {
		err := classify(context.Background(), "route53 web: ChangeResourceRecordSets www.example.com.", c.err, c.write)
		if !errors.Is(err, c.is) || provider.Classify(err) != c.class || !strings.Contains(err.Error(), c.says) {
			t.Errorf("classify(%v) = %q (class %v), want %v class %v saying %q", c.err, err, provider.Classify(err), c.is, c.class, c.says)
		}
	}
}

// pages is a ListResourceRecordSets that answers from fixed pages keyed by where they start.
type pages struct {
	API
	at map[string]*route53.ListResourceRecordSetsOutput
}

func (f pages) ListResourceRecordSets(_ context.Context, in *route53.ListResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	return f.at[aws.ToString(in.StartRecordName)+" "+string(in.StartRecordType)+" "+aws.ToString(in.StartRecordIdentifier)], nil
}

// TestReadRecordsFollowsPages: the records at the name are read across pages (a page may
// end between blue and green) and the list stops past the name; pages that do not advance
// are an error, not a loop.
func TestReadRecordsFollowsPages(t *testing.T) {
	n := "www.example.com."
	blue, green := cname(n, "blue", 255, "b.example.com"), cname(n, "green", 0, "g.example.com")
	f := pages{at: map[string]*route53.ListResourceRecordSetsOutput{
		n + "  ": {ResourceRecordSets: []types.ResourceRecordSet{blue}, IsTruncated: true,
			NextRecordName: aws.String(n), NextRecordType: types.RRTypeCname, NextRecordIdentifier: aws.String("green")},
		n + " CNAME green": {ResourceRecordSets: []types.ResourceRecordSet{green, cname("_cutover."+n, "", 0, "x")}, IsTruncated: true,
			NextRecordName: aws.String("a." + n), NextRecordType: types.RRTypeA},
	}}
	p, err := New(f, Config{App: "web", HostedZoneID: "Z1", Name: "WWW.example.com", Type: "CNAME"})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := p.readRecords(context.Background(), "CNAME")
	if err != nil || len(rs.slot) != 2 || len(rs.foreign) != 0 || value(rs.slot[provider.Green]) != "g.example.com" {
		t.Fatalf("readRecords = %+v %v, want blue and green from two pages", rs, err)
	}
	// moto leaves NextRecordIdentifier out: the next page starts where this one did.
	f.at[n+"  "].NextRecordIdentifier = nil
	f.at[n+" CNAME "] = &route53.ListResourceRecordSetsOutput{ResourceRecordSets: []types.ResourceRecordSet{blue}, IsTruncated: true,
		NextRecordName: aws.String(n), NextRecordType: types.RRTypeCname}
	if _, err := p.readRecords(context.Background(), "CNAME"); err == nil || !strings.Contains(err.Error(), "do not advance") {
		t.Fatalf("readRecords over pages that do not advance = %v", err)
	}
}

// TestNewChecksTheConfig: a bad config is ErrInvalid naming the field; defaults are filled.
func TestNewChecksTheConfig(t *testing.T) {
	ok := Config{App: "web", HostedZoneID: "/hostedzone/Z0123456789ABCDEFGHIJ", Name: "www.example.com."}
	for _, c := range []struct {
		edit func(*Config)
		says string
	}{
		{func(c *Config) { c.App = "" }, "app name"},
		{func(c *Config) { c.HostedZoneID = "example.com" }, "hosted zone ID"},
		{func(c *Config) { c.Name = "-bad-" }, "record name"},
		{func(c *Config) { c.Name = "192.0.2.1" }, "record name"},
		{func(c *Config) { c.Type = "MX" }, "record type"},
		{func(c *Config) { c.TTL = 1500 * time.Millisecond }, "whole seconds"},
		{func(c *Config) { c.Owner = `a "b"` }, "owner"},
	} {
		bad := ok
		c.edit(&bad)
		if _, err := New(nil, bad); !errors.Is(err, provider.ErrInvalid) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("New(%+v) = %v, want ErrInvalid saying %q", bad, err, c.says)
		}
	}
	p, err := New(nil, ok)
	if err != nil || p.zone != "Z0123456789ABCDEFGHIJ" || p.name != "www.example.com." || p.c.TTL != time.Minute || p.c.Owner != "cutover/web" {
		t.Fatalf("New(%+v) = %+v %v", ok, p, err)
	}
}

// TestAliasRef: an alias to a load balancer is an A record, shown without its zone, and
// anything that is not "alias ZONE NAME" is no alias.
func TestAliasRef(t *testing.T) {
	ref := AliasRef("Z35SXDOTRQ7X7K", "Web-1.us-east-1.elb.amazonaws.com")
	if ref != "alias Z35SXDOTRQ7X7K web-1.us-east-1.elb.amazonaws.com." || TypeOf(ref) != "A" || shown(ref) != "alias web-1.us-east-1.elb.amazonaws.com." {
		t.Fatalf("AliasRef = %q (type %q, shown %q)", ref, TypeOf(ref), shown(ref))
	}
	for _, bad := range []string{"alias web.example.com", "alias z35 web.example.com", "alias Z35 web..example.com", "alias Z35 a b"} {
		if _, _, ok := parseAlias(bad); ok {
			t.Errorf("parseAlias(%q) accepted it", bad)
		}
	}
}
