package egress

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Dialer connects only to destinations that every one of its policies allows. Its zero
// value (no policies) dials anything.
type Dialer struct {
	Policies []Policy
}

// Restricts reports whether some policy of d has entries.
func (d Dialer) Restricts() bool {
	for _, p := range d.Policies {
		if !p.Empty() {
			return true
		}
	}
	return false
}

// DialContext dials addr (host:port) when every policy allows it: by the host's name, or
// else by each address the socket is about to connect to.
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host := hostOf(addr)
	var byIP []Policy // policies the name alone did not satisfy
	for _, p := range d.Policies {
		if !p.Empty() && !p.AllowsName(host) {
			byIP = append(byIP, p)
		}
	}
	nd := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if len(byIP) > 0 {
		nd.Control = func(_, address string, _ syscall.RawConn) error {
			ip, err := netip.ParseAddr(hostOf(address))
			if err != nil {
				return err
			}
			for _, p := range byIP {
				if !p.AllowsIP(ip) {
					return p.refusal(host, ip)
				}
			}
			return nil
		}
	}
	return nd.DialContext(ctx, network, addr)
}

// Client is an HTTP client whose every connection, redirects included, goes through d. It
// uses no proxy (a proxy would be the only host ever dialled) and keeps no idle
// connections. checkRedirect is the client's redirect policy (nil: net/http's).
func (d Dialer) Client(checkRedirect func(*http.Request, []*http.Request) error) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			DisableKeepAlives:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: checkRedirect,
	}
}
