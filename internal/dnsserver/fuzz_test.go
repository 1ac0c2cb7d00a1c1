package dnsserver

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

func seeds(f *testing.F) {
	for _, q := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeANY, dns.TypeMX} {
		m := new(dns.Msg)
		m.SetQuestion(name, q)
		m.SetEdns0(1232, true)
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1}) // a pointer to itself
	f.Add([]byte{})
}

// FuzzAnswer: any packet that unpacks gets an answer that packs, with the query's ID.
func FuzzAnswer(f *testing.F) {
	seeds(f)
	look := func(n string) (Record, bool) {
		r := Record{App: "web", Name: name, TTL: 30, Blue: "192.0.2.1", Green: "green.internal.test", GreenBP: 5000}
		return r, fqdn(n) == name
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		req := new(dns.Msg)
		if req.Unpack(pkt) != nil {
			return
		}
		m := Answer(req, netip.MustParseAddr("127.0.0.1"), look)
		if _, err := m.Pack(); err != nil || m.Id != req.Id || !m.Response {
			t.Fatalf("answer to %v does not pack (%v) or is not a reply: %v", req, err, m)
		}
	})
}

// FuzzServer: any packet sent to a real server over UDP is answered with DNS or not at all,
// and the server answers a good query after it.
func FuzzServer(f *testing.F) {
	seeds(f)
	r := newRig(f, "192.0.2.1", "192.0.2.2")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if len(pkt) == 0 || len(pkt) > 4096 {
			return
		}
		if _, err := exchangeRaw(r.srv.Addr(), pkt, 0); err != nil {
			t.Fatal(err)
		}
	})
}
