package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseAndMatch(t *testing.T) {
	p, err := Parse("the list", []string{"hooks.example.com", "*.corp.example", "10.0.0.0/8", "127.0.0.1", "::1", "Metrics.Example.COM."})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"hooks.example.com":   true,
		"HOOKS.example.com.":  true,
		"metrics.example.com": true,
		"evil.example.com":    false,
		"a.corp.example":      true,
		"a.b.corp.example":    true,
		"corp.example":        false,
		"xcorp.example":       false,
		"10.200.3.4":          true,
		"11.0.0.1":            false,
		"127.0.0.1":           true,
		"127.0.0.2":           false,
		"[::1]":               true,
		"::ffff:127.0.0.1":    true,
	} {
		if got := p.AllowsName(host); got != want {
			t.Errorf("AllowsName(%q) = %v, want %v", host, got, want)
		}
	}
	if !p.AllowsIP(netip.MustParseAddr("10.9.9.9")) || p.AllowsIP(netip.MustParseAddr("192.168.0.1")) {
		t.Error("AllowsIP does not follow the CIDR entry")
	}
	for _, bad := range []string{"", "http://x.example", "x.example:80", "*", "*.", "a..b", "-a.example", "10.0.0.0/33", "exa mple.com", "*.*.example.com"} {
		if err := Check(bad); err == nil {
			t.Errorf("Check(%q) = nil, want an error", bad)
		} else if !strings.Contains(err.Error(), "CIDR") {
			t.Errorf("Check(%q) = %v, want one that says what an entry may be", bad, err)
		}
	}
	var zero Policy
	if !zero.Empty() || (Dialer{Policies: []Policy{zero}}).Restricts() {
		t.Error("the zero Policy must allow everything")
	}
}

// TestDialerChecksTheAddressItConnectsTo: with real servers on 127.0.0.1 and 127.0.0.2, the
// allowed one answers and the other is refused before a connection is made, whether named by
// its address or by a name that resolves to it; redirects are dialled through the same check.
func TestDialerChecksTheAddressItConnectsTo(t *testing.T) {
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer allowed.Close()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (loopback): %v", err)
	}
	accepted := make(chan struct{}, 16)
	refused := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accepted <- struct{}{}
	})}}
	refused.Start()
	defer refused.Close()
	// The allowed server redirects to the refused one: the redirect must be refused too.
	redirector := httptest.NewServer(http.RedirectHandler(refused.URL+"/x", http.StatusFound))
	defer redirector.Close()

	p, err := Parse("the app's egress.allow", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c := Dialer{Policies: []Policy{{}, p}}.Client(nil)
	c.Timeout = 5 * time.Second
	get := func(url string) error {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("GET %s: %s", url, resp.Status)
			}
		}
		return err
	}
	if err := get(allowed.URL); err != nil {
		t.Fatalf("GET the allowed server: %v", err)
	}
	for _, url := range []string{refused.URL, redirector.URL} {
		err := get(url)
		if err == nil || !errors.Is(err, ErrRefused) {
			t.Errorf("GET %s = %v, want a refusal", url, err)
			continue
		}
		if !strings.Contains(err.Error(), "the app's egress.allow does not allow") || !strings.Contains(err.Error(), "add the host name or its address") {
			t.Errorf("refusal %q does not say which list and what to do", err)
		}
	}
	select {
	case <-accepted:
		t.Error("the refused server was reached")
	default:
	}
	// A name is checked by the address it resolves to (localhost: 127.0.0.1 or ::1, which
	// only 127.0.0.2 is allowed here), unless a name entry allows it whatever it resolves to.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(allowed.URL, "http://"))
	only2, _ := Parse("the list", []string{"127.0.0.2"})
	if _, err := (Dialer{Policies: []Policy{only2}}).DialContext(context.Background(), "tcp", "localhost:"+port); !errors.Is(err, ErrRefused) {
		t.Errorf("dial localhost with only 127.0.0.2 allowed = %v, want a refusal", err)
	}
	byName, _ := Parse("the list", []string{"localhost"})
	conn, err := Dialer{Policies: []Policy{byName}}.DialContext(context.Background(), "tcp", "localhost:"+port)
	if err != nil {
		t.Fatalf("dial an allowed name: %v", err)
	}
	conn.Close()
}

// FuzzCheck: any entry is accepted or refused with an error, never a panic; an accepted one
// allows itself (a name, or the address or block's own address).
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"hooks.example.com", "*.example.com", "10.0.0.0/8", "::1", "fe80::1%eth0", "[::1]", "a_b.example", "*", "1.2.3.4/0", "xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		p, err := Parse("fuzz", []string{entry})
		if err != nil {
			if !strings.Contains(err.Error(), "CIDR") {
				t.Fatalf("refusal %q does not say what an entry may be", err)
			}
			return
		}
		if p.Empty() {
			t.Fatalf("%q accepted but the policy is empty", entry)
		}
		e := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(entry), "."))
		if pre, err := netip.ParsePrefix(e); err == nil {
			if !p.AllowsIP(pre.Masked().Addr()) {
				t.Fatalf("%q does not allow its own block's address", entry)
			}
		} else if !strings.HasPrefix(e, "*.") && !p.AllowsName(e) {
			t.Fatalf("%q does not allow itself", entry)
		}
	})
}
