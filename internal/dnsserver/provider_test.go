package dnsserver

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cutover/cutover/internal/provider"
	"github.com/cutover/cutover/internal/provider/providertest"
)

// TestContract: the local DNS provider passes the TrafficProvider contract, and refuses a
// name another app answers.
func TestContract(t *testing.T) {
	var tab *Table
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	providertest.RunTraffic(t, providertest.TrafficHarness{
		Now:  clock,
		Tick: func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() },
		New: func(t *testing.T) provider.TrafficProvider {
			var err error
			if tab, err = Open(t.TempDir()); err != nil {
				t.Fatal(err)
			}
			p, err := NewProvider(tab, "web", name, time.Second, clock)
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		Backend: func(t *testing.T, s provider.Slot) provider.Backend {
			return provider.Backend{Kind: BackendKind, Ref: string(s) + ".internal.test", Version: "v-" + string(s)}
		},
		Foreign: func(t *testing.T) provider.TrafficProvider {
			tab, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			theirs, _ := NewProvider(tab, "api", name, time.Second, nil)
			if err := theirs.Prepare(context.Background()); err != nil {
				t.Fatal(err)
			}
			p, _ := NewProvider(tab, "web", name, time.Second, nil)
			return p
		},
	})
}

// TestWeightEffectiveATTLAfterTheWrite: Observe holds the weight converged at once and
// effective one TTL after the write, and says so in its evidence.
func TestWeightEffectiveATTLAfterTheWrite(t *testing.T) {
	tab, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 12, 0, 1, 0, time.UTC)
	p, _ := NewProvider(tab, "web", "Web.Example.Test", 60*time.Second, func() time.Time { return at })
	ctx := context.Background()
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetWeight(ctx, 1000); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("SetWeight before binding: %v, want ErrNotFound", err)
	}
	for _, s := range []provider.Slot{provider.Blue, provider.Green} {
		if err := p.Bind(ctx, s, provider.Backend{Kind: BackendKind, Ref: "10.0.0." + map[provider.Slot]string{provider.Blue: "1", provider.Green: "2"}[s]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Bind(ctx, provider.Green, provider.Backend{Kind: "alb-target-group", Ref: "arn:aws:x"}); !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("Bind of a target group: %v, want ErrInvalid", err)
	}
	if _, err := p.SetWeight(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	o, err := p.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "DNS web.example.test. answers 10.0.0.1 to 90.00% of clients and 10.0.0.2 to 10.00% (slots blue and green), written at 12:00:01, effective after TTL 60s at 12:01:01"
	if !o.Converged || o.GreenBP != 1000 || !o.EffectiveAt.Equal(at.Add(time.Minute)) || o.Evidence != want {
		t.Fatalf("Observe = %+v\nwant evidence %q", o, want)
	}
}

// TestRestartAnswersAsBefore: a server started again on the same directory answers the
// weight written before, before anyone writes again; Release stops the answers.
func TestRestartAnswersAsBefore(t *testing.T) {
	r := newRig(t, "192.0.2.1", "192.0.2.2")
	r.weigh(provider.MaxBP)
	addr := r.srv.Addr()
	if err := r.srv.Close(); err != nil {
		t.Fatal(err)
	}
	r.start(addr)
	in, err := r.query("udp", netip.MustParseAddr("127.0.0.9"), name, dns.TypeA)
	if err != nil || len(in.Answer) != 1 || in.Answer[0].(*dns.A).A.String() != "192.0.2.2" {
		t.Fatalf("after the restart: %v %v, want green's 192.0.2.2", in, err)
	}
	p, _ := NewProvider(r.tab, "web", name, 30*time.Second, nil)
	if o, err := p.Observe(context.Background()); err != nil || o.GreenBP != provider.MaxBP || !o.Converged {
		t.Fatalf("Observe after the restart: %+v %v", o, err)
	}
	if err := p.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if in, err = r.query("tcp", netip.MustParseAddr("127.0.0.9"), name, dns.TypeA); err != nil || in.Rcode != dns.RcodeRefused {
		t.Fatalf("after Release: %v %v, want REFUSED", in, err)
	}
	tab, err := Open(r.dir)
	if err != nil || len(*tab.byName.Load()) != 0 {
		t.Fatalf("reopened after Release: %v %v, want no records", tab, err)
	}
}

// TestOpenRefusesAForeignFile: a file in the directory that is not a record stops the
// server with the file's name, rather than answering part of the names.
func TestOpenRefusesAForeignFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/web.json", []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "web.json is not a record") {
		t.Fatalf("Open = %v, want it to name web.json", err)
	}
}
