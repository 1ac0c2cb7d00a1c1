package dnsserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cutover/cutover/internal/provider"
)

const name = "web.example.test."

// rig is a real server on 127.0.0.1 answering name with blue and green endpoints.
type rig struct {
	t   testing.TB
	dir string
	tab *Table
	srv *Server
	p   *Provider
}

func newRig(t testing.TB, blue, green string) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir()}
	r.start("127.0.0.1:0")
	var err error
	if r.p, err = NewProvider(r.tab, "web", name, 30*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	for s, v := range map[provider.Slot]string{provider.Blue: blue, provider.Green: green} {
		if err := r.p.Bind(ctx, s, provider.Backend{Kind: BackendKind, Ref: v}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *rig) start(addr string) {
	r.t.Helper()
	var err error
	if r.tab, err = Open(r.dir); err != nil {
		r.t.Fatal(err)
	}
	if r.srv, err = Listen(addr, r.tab, nil); err != nil {
		r.t.Fatal(err)
	}
	srv := r.srv
	r.t.Cleanup(func() { srv.Close() })
}

func (r *rig) weigh(bp int) {
	r.t.Helper()
	if _, err := r.p.SetWeight(context.Background(), bp); err != nil {
		r.t.Fatal(err)
	}
}

// query asks the server over network ("udp" or "tcp") from the source address from.
func (r *rig) query(network string, from netip.Addr, qname string, qtype uint16) (*dns.Msg, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	if network == "udp" {
		d.LocalAddr = &net.UDPAddr{IP: from.AsSlice()}
	} else {
		d.LocalAddr = &net.TCPAddr{IP: from.AsSlice()}
	}
	c := &dns.Client{Net: network, Dialer: d, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	in, _, err := c.Exchange(m, r.srv.Addr())
	return in, err
}

// client is the i-th of many loopback source addresses, 127.1.0.1 onwards.
func client(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(1 + i/(254*254)), byte(i / 254 % 254), byte(1 + i%254)})
}

// split asks n distinct clients once each and counts the answers per value.
func (r *rig) split(network string, n int) map[string]int {
	r.t.Helper()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				in, err := r.query(network, client(i), name, dns.TypeA)
				if err != nil {
					errs <- fmt.Errorf("client %s: %w", client(i), err)
					return
				}
				if in.Rcode != dns.RcodeSuccess || len(in.Answer) != 1 {
					errs <- fmt.Errorf("client %s: %s", client(i), in)
					return
				}
				mu.Lock()
				got[in.Answer[0].(*dns.A).A.String()]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		r.t.Fatal(err)
	}
	return got
}

// TestSplitFromTenThousandClients: 10,000 real UDP queries, each from its own loopback
// address, see green's endpoint within 3 points of the weight written, at 10%, 50% and 90%.
func TestSplitFromTenThousandClients(t *testing.T) {
	r := newRig(t, "192.0.2.1", "192.0.2.2")
	for _, bp := range []int{1000, 5000, 9000} {
		r.weigh(bp)
		got := r.split("udp", 10000)
		if got["192.0.2.1"]+got["192.0.2.2"] != 10000 {
			t.Fatalf("at %d bp: answers %v, want only blue's and green's", bp, got)
		}
		share := got["192.0.2.2"] * provider.MaxBP / 10000
		if share < bp-300 || share > bp+300 {
			t.Errorf("at %d bp green answered %d of 10,000 clients (%d bp), not within 300 bp", bp, got["192.0.2.2"], share)
		}
		t.Logf("at %d bp: green %d of 10,000", bp, got["192.0.2.2"])
	}
}

// TestTCPAnswersLikeUDP: a client gets the same answer, with the spec's TTL, over TCP and
// UDP; raising the weight moves only clients whose bucket it crosses.
func TestTCPAnswersLikeUDP(t *testing.T) {
	r := newRig(t, "192.0.2.1", "192.0.2.2")
	r.weigh(3000)
	before := map[netip.Addr]string{}
	for i := range 200 {
		c := client(i)
		u, err := r.query("udp", c, name, dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		tc, err := r.query("tcp", c, name, dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Answer) != 1 || len(tc.Answer) != 1 || u.Answer[0].String() != tc.Answer[0].String() {
			t.Fatalf("client %s: udp %v, tcp %v", c, u.Answer, tc.Answer)
		}
		if ttl := u.Answer[0].Header().Ttl; ttl != 30 || !u.Authoritative {
			t.Fatalf("answer %v: TTL %d authoritative %v, want 30 and true", u.Answer[0], ttl, u.Authoritative)
		}
		before[c] = u.Answer[0].(*dns.A).A.String()
	}
	r.weigh(6000)
	for c, was := range before {
		in, err := r.query("udp", c, name, dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		now := in.Answer[0].(*dns.A).A.String()
		if was == "192.0.2.2" && now != was {
			t.Errorf("client %s was in green at 30%% but got %s at 60%%", c, now)
		}
		if b := Bucket(c); (now == "192.0.2.2") != (b < 6000) {
			t.Errorf("client %s in bucket %d answered %s at 60%%", c, b, now)
		}
	}
}

// TestAnswerTypes: a host name is a CNAME to any type, an IPv6 address an AAAA record and
// nothing to A, a name nobody claims REFUSED, a question in another class REFUSED.
func TestAnswerTypes(t *testing.T) {
	r := newRig(t, "blue.internal.test", "2001:db8::2")
	lo := netip.MustParseAddr("127.0.0.1")
	r.weigh(0)
	in, err := r.query("udp", lo, "WEB.example.test.", dns.TypeAAAA)
	if err != nil || in.Rcode != dns.RcodeSuccess || len(in.Answer) != 1 || in.Answer[0].(*dns.CNAME).Target != "blue.internal.test." {
		t.Fatalf("AAAA at 0%%: %v %v, want a CNAME to blue.internal.test.", in, err)
	}
	r.weigh(provider.MaxBP)
	if in, err = r.query("udp", lo, name, dns.TypeAAAA); err != nil || len(in.Answer) != 1 || in.Answer[0].(*dns.AAAA).AAAA.String() != "2001:db8::2" {
		t.Fatalf("AAAA at 100%%: %v %v", in, err)
	}
	if in, err = r.query("udp", lo, name, dns.TypeA); err != nil || in.Rcode != dns.RcodeSuccess || len(in.Answer) != 0 {
		t.Fatalf("A for an IPv6 endpoint: %v %v, want NOERROR and no answer", in, err)
	}
	if in, err = r.query("tcp", lo, "other.example.test.", dns.TypeA); err != nil || in.Rcode != dns.RcodeRefused {
		t.Fatalf("a name nobody claims: %v %v, want REFUSED", in, err)
	}
}

// TestMalformedQueries: a packet that is not a query, a query with two questions and an
// UPDATE get FORMERR or NOTIMP or nothing, and the server answers the next query.
func TestMalformedQueries(t *testing.T) {
	r := newRig(t, "192.0.2.1", "192.0.2.2")
	r.weigh(0)
	two := new(dns.Msg)
	two.SetQuestion(name, dns.TypeA)
	two.Question = append(two.Question, two.Question[0])
	twoB, _ := two.Pack()
	upd := new(dns.Msg)
	upd.SetUpdate("example.test.")
	updB, _ := upd.Pack()
	one := new(dns.Msg)
	one.SetQuestion(name, dns.TypeA)
	oneB, _ := one.Pack()
	trunc := oneB[:len(oneB)-3] // the question's type and class cut short
	for _, c := range []struct {
		what  string
		pkt   []byte
		rcode int // -1: no answer
	}{
		{"two questions", twoB, dns.RcodeFormatError},
		{"an UPDATE", updB, dns.RcodeNotImplemented},
		{"a question cut short", trunc, dns.RcodeFormatError},
		{"three bytes", []byte{1, 2, 3}, -1},
	} {
		grace := 2 * time.Second // returns as soon as the answer comes
		if c.rcode < 0 {
			grace = 200 * time.Millisecond // a bound on how late a stray answer would be
		}
		got, err := exchangeRaw(r.srv.Addr(), c.pkt, grace)
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		switch {
		case c.rcode < 0 && got != nil:
			t.Errorf("%s: answered %v, want nothing", c.what, got)
		case c.rcode >= 0 && (got == nil || got.Rcode != c.rcode):
			t.Errorf("%s: answered %v, want %s", c.what, got, dns.RcodeToString[c.rcode])
		}
	}
}

// exchangeRaw sends pkt over UDP, then a good query, and returns the answer to pkt: nil if
// none came before the good query's answer or within grace after it (the server answers
// concurrently, so either may come first).
func exchangeRaw(addr string, pkt []byte, grace time.Duration) (*dns.Msg, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	good := new(dns.Msg)
	good.SetQuestion(name, dns.TypeA)
	good.Id = 0xbeef
	if len(pkt) >= 2 && pkt[0] == 0xbe && pkt[1] == 0xef {
		good.Id = 0xfeed
	}
	gb, _ := good.Pack()
	if _, err := c.Write(pkt); err != nil {
		return nil, err
	}
	if _, err := c.Write(gb); err != nil {
		return nil, err
	}
	var raw *dns.Msg
	buf := make([]byte, 65535)
	goodSeen := false
	if err := c.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		return nil, err
	}
	for !goodSeen || raw == nil {
		n, err := c.Read(buf)
		if err != nil && goodSeen {
			return raw, nil // grace is over: no answer to pkt
		}
		if err != nil {
			return nil, fmt.Errorf("no answer to a good query after %d bytes of junk: %w", len(pkt), err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf[:n]); err != nil {
			return nil, fmt.Errorf("the server sent what is not DNS (%v): % x", err, buf[:n])
		}
		if m.Id == good.Id && len(m.Question) == 1 && m.Question[0].Name == name {
			if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
				return nil, fmt.Errorf("the good query got %v", m)
			}
			goodSeen = true
			if err := c.SetReadDeadline(time.Now().Add(grace)); err != nil {
				return nil, err
			}
			continue
		}
		raw = m
	}
	return raw, nil
}
