package dns_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

func TestMain(m *testing.M) { sampletest.BinaryMain(m) }

const (
	wait  = 30 * time.Second
	name  = "web.example.test."
	blueV = "127.0.0.2" // v1's endpoint
	v2IP  = "127.0.0.3"
)

// serveHealth serves /healthz on ip:port (port 0: any free one) until the test ends and
// returns the port.
func serveHealth(t *testing.T, ip string, port int) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func spec(port int) string {
	return fmt.Sprintf(`app: web
run:
  external: {endpoint: "${IP}", health_port: %d}
traffic:
  dns: {name: web.example.test, ttl: 1s}
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
strategy:
  canary:
    steps: [{weight: 10, pause: 1h}]
deadlines: {deployment: 2h}
`, port)
}

// cli runs the cutover binary on the server's socket and returns its output and error.
func cli(exe, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, append(args, "--socket", filepath.Join(dir, api.SocketFile))...).CombinedOutput()
	return string(out), err
}

func must(t *testing.T, exe, dir string, args ...string) string {
	t.Helper()
	out, err := cli(exe, dir, args...)
	if err != nil {
		t.Fatalf("cutover %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func writeSpec(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// clientAddr is the i-th loopback source address, 127.2.0.1 onwards.
func clientAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(2 + i/(254*254)), byte(i / 254 % 254), byte(1 + i%254)})
}

// ask queries name's A record over network from the source address from and returns the
// address answered ("" for no answer).
func ask(network, server string, from netip.Addr) (string, uint32, error) {
	d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.UDPAddr{IP: from.AsSlice()}}
	if network == "tcp" {
		d.LocalAddr = &net.TCPAddr{IP: from.AsSlice()}
	}
	c := &dns.Client{Net: network, Dialer: d, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	in, _, err := c.Exchange(m, server)
	if err != nil {
		return "", 0, err
	}
	if in.Rcode != dns.RcodeSuccess || len(in.Answer) != 1 {
		return "", 0, fmt.Errorf("from %s: %s", from, in)
	}
	a, ok := in.Answer[0].(*dns.A)
	if !ok {
		return "", 0, fmt.Errorf("from %s: not an A record: %s", from, in.Answer[0])
	}
	return a.A.String(), a.Hdr.Ttl, nil
}

// answers asks n clients once each (over UDP, every tenth over TCP) and returns the answer
// by client.
func answers(t *testing.T, server string, n int) []string {
	t.Helper()
	got := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				network := "udp"
				if i%10 == 0 {
					network = "tcp"
				}
				a, ttl, err := ask(network, server, clientAddr(i))
				if err == nil && ttl != 1 {
					err = fmt.Errorf("client %s: TTL %d, want the spec's 1", clientAddr(i), ttl)
				}
				if err != nil {
					errs <- err
					return
				}
				got[i] = a
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return got
}

func count(as []string, v string) int {
	n := 0
	for _, a := range as {
		if a == v {
			n++
		}
	}
	return n
}

func eventsOf(d api.Deployment) string {
	var b strings.Builder
	for _, e := range d.Events {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}
