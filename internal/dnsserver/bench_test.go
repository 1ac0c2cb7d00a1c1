package dnsserver

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkAnswer is the pure answer path: lookup, bucket, the A record.
func BenchmarkAnswer(b *testing.B) {
	rec := Record{App: "web", Name: name, TTL: 30, Blue: "192.0.2.1", Green: "192.0.2.2", GreenBP: 1000}
	look := func(string) (Record, bool) { return rec, true }
	req := new(dns.Msg)
	req.SetQuestion(name, dns.TypeA)
	c := netip.MustParseAddr("127.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		if m := Answer(req, c, look); len(m.Answer) != 1 {
			b.Fatal(m)
		}
	}
}

// BenchmarkUDPQuery is one query and its answer over loopback UDP to a real server, from
// one client socket.
func BenchmarkUDPQuery(b *testing.B) {
	r := newRig(b, "192.0.2.1", "192.0.2.2")
	r.weigh(1000)
	conn, err := net.Dial("udp", r.srv.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	co := &dns.Conn{Conn: conn}
	req := new(dns.Msg)
	req.SetQuestion(name, dns.TypeA)
	b.ReportAllocs()
	for b.Loop() {
		if err := co.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
			b.Fatal(err)
		}
		if err := co.WriteMsg(req); err != nil {
			b.Fatal(err)
		}
		if m, err := co.ReadMsg(); err != nil || len(m.Answer) != 1 {
			b.Fatal(m, err)
		}
	}
}
