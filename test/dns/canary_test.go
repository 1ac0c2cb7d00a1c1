package dns_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestCanaryOverTheServersOwnDNS: `cutover server --dns` answers web.example.test with
// v1's endpoint; v2's canary is verified at 10% and then 10,000 clients (each its own
// loopback address, a tenth over TCP) see v2 within 3 points of 10%. The server is killed
// with SIGKILL; started again on the same data dir it answers every client as before (from
// the records it keeps) ahead of the engine, resumes the same deployment, `why` shows the
// DNS evidence, and promoted, answers everyone with v2.
func TestCanaryOverTheServersOwnDNS(t *testing.T) {
	port := serveHealth(t, blueV, 0)
	serveHealth(t, v2IP, port)
	exe, dir := sampletest.Cutover(t), t.TempDir()
	dnsAddr := sampletest.FreeAddr(t)
	srv := sampletest.StartServerWith(t, exe, dir, nil, "--listen", "", "--dns", dnsAddr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", srv.Logs())
		}
		srv.Close()
	})
	must(t, exe, dir, "apply", "-f", writeSpec(t, spec(port)))
	// A second app cannot answer the same name.
	if out, err := cli(exe, dir, "apply", "-f", writeSpec(t, strings.Replace(spec(port), "app: web", "app: api", 1))); err == nil || !strings.Contains(out, "web.example.test. is answered for app web") {
		t.Fatalf("apply of a second app on web.example.test: %v\n%s", err, out)
	}
	deploy := func(version, ip string) api.Deployment {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		d, err := srv.API.Deploy(ctx, "web", api.DeployRequest{Version: version, Set: map[string]string{"IP": ip}})
		if err != nil {
			t.Fatalf("deploy %s: %v", version, err)
		}
		return d
	}

	v1 := deploy("v1", blueV)
	if d := srv.WaitFor(v1.ID, "ended", wait, func(d api.Deployment) bool { return d.Terminal }); d.Phase != "succeeded" {
		t.Fatalf("v1: %s: %s\n%s", d.Phase, d.Reason, eventsOf(d))
	}
	if got := answers(t, dnsAddr, 500); count(got, blueV) != 500 {
		t.Fatalf("after v1: %d of 500 clients got v1's %s", count(got, blueV), blueV)
	}

	v2 := deploy("v2", v2IP)
	d := srv.WaitFor(v2.ID, "verified at 10%", wait, func(d api.Deployment) bool {
		return d.Terminal || strings.Contains(eventsOf(d), "green at 10% verified: DNS web.example.test.")
	})
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 {
		t.Fatalf("v2: %s at %g%%: %s\n%s", d.Phase, d.Weight, d.Reason, eventsOf(d))
	}
	if ev := eventsOf(d); !strings.Contains(ev, "effective after TTL 1s") {
		t.Errorf("v2's events do not say the weight counted a TTL after the write:\n%s", ev)
	}
	before := answers(t, dnsAddr, 10000)
	green := count(before, v2IP)
	if count(before, blueV)+green != 10000 || green < 700 || green > 1300 {
		t.Fatalf("at 10%%: %d of 10,000 clients got v2, %d v1; want v2 within 3 points of 10%%", green, count(before, blueV))
	}
	t.Logf("at 10%%: %d of 10,000 clients answered v2", green)
	why := must(t, exe, dir, "why", "web")
	if !strings.Contains(why, "traffic: DNS web.example.test. answers 127.0.0.3 to 10.00% of clients and 127.0.0.2 to 90.00%") {
		t.Errorf("`cutover why web` lacks the DNS evidence:\n%s", why)
	}

	srv.Kill9()
	srv.Start()
	// The answers come back from the kept records, the same for every client.
	if after := answers(t, dnsAddr, 2000); !slices.Equal(after, before[:2000]) {
		t.Fatalf("after the restart %d of 2,000 clients got v2 (%d before the kill), or other clients did", count(after, v2IP), count(before[:2000], v2IP))
	}
	d = srv.WaitFor(v2.ID, "read", wait, func(api.Deployment) bool { return true })
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Green != "v2" {
		t.Fatalf("v2 after the restart: %s at %g%% (green %s): %s\n%s", d.Phase, d.Weight, d.Green, d.Reason, eventsOf(d))
	}

	must(t, exe, dir, "promote", "web")
	if d = srv.WaitFor(v2.ID, "ended", wait, func(d api.Deployment) bool { return d.Terminal }); d.Phase != "succeeded" {
		t.Fatalf("v2 after promote: %s: %s\n%s", d.Phase, d.Reason, eventsOf(d))
	}
	if got := answers(t, dnsAddr, 1000); count(got, v2IP) != 1000 {
		t.Fatalf("after v2 succeeded %d of 1,000 clients got v2", count(got, v2IP))
	}
}

// TestApplyRefusesTrafficDNSWithoutDNS: a server started without --dns refuses an app with
// traffic.dns at apply, saying which flag to give, and holds no app after.
func TestApplyRefusesTrafficDNSWithoutDNS(t *testing.T) {
	exe, dir := sampletest.Cutover(t), t.TempDir()
	srv := sampletest.StartServer(t, exe, dir)
	t.Cleanup(srv.Close)
	out, err := cli(exe, dir, "apply", "-f", writeSpec(t, spec(8080)))
	if err == nil || !strings.Contains(out, "start it with --dns ADDR") {
		t.Fatalf("apply without --dns: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if apps, err := srv.API.Apps(ctx); err != nil || len(apps) != 0 {
		t.Fatalf("apps after the refused apply: %v %v, want none", apps, err)
	}
}
