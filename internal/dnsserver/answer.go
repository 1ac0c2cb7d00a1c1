package dnsserver

import (
	"hash/fnv"
	"net"
	"net/netip"

	"github.com/miekg/dns"

	"github.com/cutover/cutover/internal/provider"
)

// Buckets is how many cohorts clients are hashed into: one per basis point.
const Buckets = provider.MaxBP

// Bucket is client's cohort, 0..Buckets-1: the same address always falls in the same one.
func Bucket(client netip.Addr) int {
	a := client.Unmap().As16()
	h := fnv.New64a()
	h.Write(a[:])
	x := h.Sum64()
	// splitmix64's finaliser: neighbouring addresses (127.0.0.1, 127.0.0.2) land far apart.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int(x % Buckets)
}

// Pick is the slot and endpoint r answers client with: green for the buckets below
// GreenBP, blue for the rest; an unbound slot gives way to the other.
func (r Record) Pick(client netip.Addr) (provider.Slot, string) {
	s := provider.Blue
	if Bucket(client) < r.GreenBP {
		s = provider.Green
	}
	if r.endpoint(s) == "" {
		s = other(s)
	}
	return s, r.endpoint(s)
}

func other(s provider.Slot) provider.Slot {
	if s == provider.Green {
		return provider.Blue
	}
	return provider.Green
}

// Answer is the reply to req from client, with look finding the record for a name. It is
// authoritative for the names look knows and REFUSED for the rest; an endpoint that is a
// host name is answered as a CNAME to any type, an address as an A or AAAA record to its
// own type (and to ANY), with no answer (NOERROR) to other types.
func Answer(req *dns.Msg, client netip.Addr, look func(name string) (Record, bool)) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(max(opt.UDPSize(), dns.MinMsgSize), false)
	}
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := req.Question[0]
	r, ok := look(q.Name)
	if !ok || (q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY) {
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.Authoritative = true
	_, value := r.Pick(client)
	if rr := answerRR(q, value, r.TTL); rr != nil {
		m.Answer = append(m.Answer, rr)
	}
	return m
}

// answerRR is the record answering q with value, or nil when q's type has none.
func answerRR(q dns.Question, value string, ttl uint32) dns.RR {
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	ip, err := netip.ParseAddr(value)
	switch {
	case value == "":
		return nil
	case err != nil:
		return &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: dns.Fqdn(value)}
	case ip.Is4() && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY):
		return &dns.A{Hdr: hdr(dns.TypeA), A: net.IP(ip.AsSlice())}
	case ip.Is6() && (q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY):
		return &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.IP(ip.AsSlice())}
	}
	return nil
}

// clientAddr is the source address of a query.
func clientAddr(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
