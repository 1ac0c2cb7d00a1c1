package kube_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// TestKill9MidCanaryResumesOnTheSameObjects: a `cutover server` process walks app web's
// canary on a Gateway API HTTPRoute in a real cluster; v2 is verified at 10% (the gateway
// accepted the route at its generation) and held there; the server is killed with SIGKILL.
// The route keeps its weights and nothing in the namespace is written meanwhile. A server
// restarted on the same data dir resumes the same deployment on the same Deployments,
// Services and HTTPRoute (it creates none), says why with the route's read-back, and,
// promoted, finishes it: the route all on v2, v1's Deployment deleted after keep-warm.
func TestKill9MidCanaryResumesOnTheSameObjects(t *testing.T) {
	t.Parallel()
	began := time.Now()
	ns := cluster.Namespace(t, "kill9")
	cluster.Gateway(t, ns, "edge", "")
	r := startServer(t)
	t.Logf("cutover server up after %s", time.Since(began).Round(time.Millisecond))
	specFile := writeSpec(t, kubeSpec(ns, gatewayTraffic, canaryAtTen))
	t.Logf("cutover validate: %s", strings.TrimSpace(r.cli(t, "validate", "-f", specFile)))
	r.cli(t, "apply", "-f", specFile)

	// The route's weights as cutover writes them (out of 10000) and reads them back. v1 is
	// the first release: it takes slot green at once; v2 then goes to blue.
	route := "httproute " + ns + "/web weights "
	var (
		full1 = route + "blue=0 green=10000 at generation "
		atTen = route + "blue=1000 green=9000 at generation "
		full2 = route + "blue=10000 green=0 at generation "
	)

	// v1: `cutover deploy --wait` exits 0 once it succeeded.
	out := r.cli(t, "deploy", "web", "--version", "v1", "--wait", "--timeout", "1m")
	v1 := latest(t, r)
	if v1.Green != "v1" || v1.Phase != "succeeded" {
		t.Fatalf("v1: %s: %s\n%s", v1.Phase, v1.Reason, out)
	}
	if ev := eventsOf(v1); !strings.Contains(ev, "green at 100% verified: "+full1) || !strings.Contains(ev, ", accepted, read back at ") {
		t.Fatalf("v1's events lack the route's read-back %q…, accepted, read back at:\n%s", full1, ev)
	}
	if w, _ := routeWeights(t, ns); w != "web-blue=0 web-green=10000" {
		t.Fatalf("route after v1: %s", w)
	}
	t.Logf("v1 succeeded after %s", time.Since(began).Round(time.Millisecond))

	// v2's canary, verified at 10% on the route and held (the step pauses for an hour).
	id := strings.TrimSpace(r.cli(t, "deploy", "web", "--version", "v2"))
	if id == "" || strings.ContainsAny(id, " \n") {
		t.Fatalf("`cutover deploy web v2` printed %q, want the deployment's ID", id)
	}
	d := r.srv.WaitFor(id, "verified at 10% on the route", wait, func(d api.Deployment) bool {
		return d.Terminal || strings.Contains(eventsOf(d), "green at 10% verified: "+atTen)
	})
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Step != 1 || d.Green != "v2" || d.Blue != "v1" {
		t.Fatalf("v2 before the kill: %s at %g%% step %d (green %s, blue %s): %s\n%s", d.Phase, d.Weight, d.Step, d.Green, d.Blue, d.Reason, eventsOf(d))
	}
	if !strings.HasPrefix(d.Traffic, atTen) || !strings.Contains(d.Traffic, ", accepted, read back at ") {
		t.Fatalf("v2's traffic evidence at 10%%: %q, want %q…, accepted, read back at", d.Traffic, atTen)
	}
	w, gen := routeWeights(t, ns)
	if w != "web-blue=1000 web-green=9000" || selects(t, ns, "web-blue") != "v2" || selects(t, ns, "web-green") != "v1" {
		t.Fatalf("route at 10%%: %s; web-blue selects %q, web-green %q", w, selects(t, ns, "web-blue"), selects(t, ns, "web-green"))
	}
	if !strings.Contains(d.Traffic, fmt.Sprintf("at generation %d,", gen)) {
		t.Errorf("v2's evidence %q is not at the route's generation %d", d.Traffic, gen)
	}
	killedTraffic := d.Traffic
	before := owned(t, ns)
	want := "Deployment/web-v1 Deployment/web-v2 HTTPRoute/web Service/web-blue Service/web-green"
	if names(before) != want {
		t.Fatalf("the namespace holds %s at 10%%, want %s", names(before), want)
	}
	r.whyShows(t, id, atTen)
	t.Logf("v2 held at 10%% after %s: %s; objects: %v", time.Since(began).Round(time.Millisecond), d.Traffic, before)

	// kill -9: the server dies without a word; the Deployments, Services and the route are
	// the cluster's, and nothing writes them meanwhile.
	pid := r.srv.PID()
	r.srv.Kill9()
	t.Logf("killed cutover server pid %d with SIGKILL", pid)
	holds(t, time.Second, "the namespace while the server is down", func() string {
		if w, _ := routeWeights(t, ns); w != "web-blue=1000 web-green=9000" {
			return "the route holds " + w + ", the server left web-blue=1000 web-green=9000"
		}
		if got := owned(t, ns); fmt.Sprint(got) != fmt.Sprint(before) {
			return fmt.Sprintf("objects %v, the server left %v", got, before)
		}
		return ""
	})

	// The restart adopts what is there: the same deployment on the same objects.
	r.srv.Start()
	d = r.read(t, id)
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Step != 1 || d.Green != "v2" || d.Blue != "v1" {
		t.Fatalf("v2 after the restart: %s at %g%% step %d (green %s, blue %s): %s\n%s",
			d.Phase, d.Weight, d.Step, d.Green, d.Blue, d.Reason, eventsOf(d))
	}
	if !strings.HasPrefix(d.Traffic, atTen) {
		t.Errorf("v2's traffic evidence after the restart: %q, want the route's %q…", d.Traffic, atTen)
	}
	if n := r.historyLen(t); n != 2 {
		t.Errorf("history after the restart has %d deployments, want 2 (v1's and v2's)", n)
	}
	r.waitResumed(t, 1, id)
	// The restarted server reads the route back itself: the evidence's time moves on.
	eventually(t, 10*time.Second, "the restarted server to read the route back again", func() string {
		if d := r.read(t, id); !strings.HasPrefix(d.Traffic, atTen) || d.Traffic == killedTraffic {
			return fmt.Sprintf("traffic %q, before the kill %q", d.Traffic, killedTraffic)
		}
		return ""
	})
	// For a few analysis intervals after, it holds 10% and creates, recreates or rewrites
	// nothing: the same UIDs, and the same resourceVersions.
	holds(t, 2*time.Second, "v2 held at 10% on the same objects after the restart", func() string {
		d := r.read(t, id)
		if d.Terminal || d.Phase != "shifting" || d.Weight != 10 {
			return fmt.Sprintf("v2 is %s at %g%%: %s", d.Phase, d.Weight, d.Reason)
		}
		if got := owned(t, ns); fmt.Sprint(got) != fmt.Sprint(before) {
			return fmt.Sprintf("objects %v, before the kill %v", got, before)
		}
		return ""
	})
	if w, g := routeWeights(t, ns); w != "web-blue=1000 web-green=9000" || g != gen {
		t.Fatalf("route after the restart: %s at generation %d, before the kill at %d", w, g, gen)
	}
	r.whyShows(t, id, atTen)

	// Promote: the step ends, v2 takes the route on the same Deployment and Services.
	r.cli(t, "promote", "web")
	d = r.srv.WaitFor(id, "ended", wait, func(d api.Deployment) bool { return d.Terminal })
	if d.Phase != "succeeded" {
		t.Fatalf("v2 after promote: %s: %s\n%s", d.Phase, d.Reason, eventsOf(d))
	}
	if ev := eventsOf(d); !strings.Contains(ev, "green at 100% verified: "+full2) {
		t.Errorf("v2's events lack the route's read-back at 100%% %q:\n%s", full2, ev)
	}
	if w, _ := routeWeights(t, ns); w != "web-blue=10000 web-green=0" || selects(t, ns, "web-blue") != "v2" {
		t.Errorf("route after v2 succeeded: %s, web-blue selects %q; want web-blue=10000 web-green=0 on v2", w, selects(t, ns, "web-blue"))
	}
	eventually(t, 20*time.Second, "v1's Deployment to be deleted after keep-warm, the rest kept", func() string {
		got := owned(t, ns)
		if names(got) != "Deployment/web-v2 HTTPRoute/web Service/web-blue Service/web-green" {
			return "the namespace holds " + names(got)
		}
		for _, k := range []string{"Deployment/web-v2", "HTTPRoute/web", "Service/web-blue", "Service/web-green"} {
			if got[k].UID != before[k].UID {
				return fmt.Sprintf("%s was recreated: %v, at 10%% %v", k, got[k], before[k])
			}
		}
		return ""
	})
	t.Logf("whole scenario took %s", time.Since(began).Round(time.Millisecond))
}

// latest is app web's newest deployment.
func latest(t *testing.T, r *running) api.Deployment {
	t.Helper()
	hist := r.history(t)
	if len(hist) == 0 {
		t.Fatal("app web has no deployment")
	}
	return r.read(t, hist[0].ID)
}

// whyShows checks that `cutover why web` says deployment id is shifting and shows evidence
// (a prefix of it) as its traffic line.
func (r *running) whyShows(t *testing.T, id, evidence string) {
	t.Helper()
	why := r.cli(t, "why", "web")
	if !strings.HasPrefix(why, id+" is shifting") || !strings.Contains(why, "traffic: "+evidence) {
		t.Errorf("`cutover why web` does not show the route's evidence %q:\n%s", evidence, why)
	}
	t.Logf("cutover why web:\n%s", why)
}

// waitResumed waits until the server's log of its start number n (0 the first) says it
// resumes deployment id.
func (r *running) waitResumed(t *testing.T, n int, id string) {
	t.Helper()
	log := filepath.Join(r.dir, fmt.Sprintf("server-%d.log", n))
	eventually(t, wait, "the server started again to log that it resumes "+id, func() string {
		b, _ := os.ReadFile(log)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "resuming deployment") && strings.Contains(line, id) {
				return ""
			}
		}
		return "no such line in " + log
	})
}
