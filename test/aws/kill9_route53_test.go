package aws_test

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/provider/awstest"
)

// The weighted records of www.example.test as moto holds them, "IP weight" by set
// identifier. v1 (127.0.0.2) is the first release and takes slot green; v2 (127.0.0.3)
// takes the other one, blue. Route 53 weights are 0..255: 10% for v2 is blue=25 green=225.
const (
	r53v1Full = "127.0.0.2 255" // green, v1 alone
	r53v1At90 = "127.0.0.2 225" // green, v1 while v2 has 10%
	r53v2At10 = "127.0.0.3 25"  // blue, v2 at 10%
	r53v2Full = "127.0.0.3 255" // blue, v2 alone
	r53v1Zero = "127.0.0.2 0"   // green, v1 once v2 has everything
	r53AtTen  = "Route 53 www.example.test. weights blue=25 green=225"
	r53Full2  = "Route 53 www.example.test. weights blue=255 green=0"
)

// dnsWorld is a real moto_server with a hosted zone example.test and the alarm web-5xx, and
// the releases' endpoints: HTTP servers on 127.0.0.2 and 127.0.0.3, one port, that answer
// /healthz (and nothing else) and count the health checks they get.
type dnsWorld struct {
	t    *testing.T
	m    *awstest.Moto
	r53  *route53.Client
	zone string
	port int

	mu     sync.Mutex
	probes map[string]int       // health checks answered, by IP
	last   map[string]time.Time // when the last one came, by IP
}

func newDNSWorld(t *testing.T) *dnsWorld {
	t.Helper()
	m := awstest.Start(t)
	w := &dnsWorld{t: t, m: m, r53: route53.NewFromConfig(m.Config()), probes: map[string]int{}, last: map[string]time.Time{}}
	out, err := w.r53.CreateHostedZone(awstest.Ctx(t), &route53.CreateHostedZoneInput{Name: aws.String("example.test"), CallerReference: aws.String(t.Name())})
	if err != nil {
		t.Fatal(err)
	}
	w.zone = strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
	putAlarm(t, m.CloudWatch())
	w.port = w.serveHealth("127.0.0.2", 0)
	w.serveHealth("127.0.0.3", w.port)
	return w
}

// serveHealth serves /healthz on ip:port (port 0: any free one) until the test ends and
// returns the port.
func (w *dnsWorld) serveHealth(ip string, port int) int {
	w.t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		w.t.Fatalf("listen on %s: %v", ip, err)
	}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(rw, r)
			return
		}
		w.mu.Lock()
		w.probes[ip]++
		w.last[ip] = time.Now()
		w.mu.Unlock()
		_, _ = rw.Write([]byte("ok\n"))
	})}
	go func() { _ = srv.Serve(l) }()
	w.t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// probed is how many health checks ip has answered, and when the last came.
func (w *dnsWorld) probed(ip string) (int, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.probes[ip], w.last[ip]
}

// spec is app web as releases at ${IP} (set per deployment) behind the weighted records
// www.example.test (TTL 1s) in the hosted zone, held an hour at 10%, judged by web-5xx.
func (w *dnsWorld) spec() string {
	return fmt.Sprintf(`app: web
run:
  external: {endpoint: "${IP}", health_port: %d}
traffic:
  route53: {zone: %s, name: www.example.test, ttl: 1s, verify_timeout: 20s}
aws: {endpoint: %q}
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
strategy:
  canary:
    steps: [{weight: 10, pause: 1h}]
deadlines: {deployment: 2h}
analysis:
  interval: 200ms
  alarms: {names: [web-5xx], endpoint: %q}
`, w.port, w.zone, w.m.URL, w.m.URL)
}

// recordSet is one record set of the zone as ListResourceRecordSets returns it.
type recordSet struct {
	Name, Type, SetID string
	Weight            int64 // -1 when the set has none
	TTL               int64
	Values            []string
}

// zoneRecords is every record set in the hosted zone (SOA and NS included), in moto's order.
func (w *dnsWorld) zoneRecords() []recordSet {
	w.t.Helper()
	var got []recordSet
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(w.zone)}
	for page := 0; ; page++ {
		out, err := w.r53.ListResourceRecordSets(awstest.Ctx(w.t), in)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, rr := range out.ResourceRecordSets {
			s := recordSet{Name: aws.ToString(rr.Name), Type: string(rr.Type), SetID: aws.ToString(rr.SetIdentifier), Weight: -1, TTL: aws.ToInt64(rr.TTL)}
			if rr.Weight != nil {
				s.Weight = *rr.Weight
			}
			for _, v := range rr.ResourceRecords {
				s.Values = append(s.Values, aws.ToString(v.Value))
			}
			got = append(got, s)
		}
		if !out.IsTruncated || page > 100 {
			return got
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
}

// weighted is what www.example.test's weighted records hold: set identifier -> "IP weight".
// A second record set under one identifier, or one with other than one value, fails the test.
func weighted(t *testing.T, sets []recordSet) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, s := range sets {
		if s.Name != "www.example.test." || s.Weight < 0 {
			continue
		}
		if _, dup := got[s.SetID]; dup || len(s.Values) != 1 || s.Type != "A" || s.TTL != 1 {
			t.Fatalf("weighted record sets at www.example.test are not one A record per identifier with TTL 1: %+v", sets)
		}
		got[s.SetID] = fmt.Sprintf("%s %d", s.Values[0], s.Weight)
	}
	return got
}

// shape is the zone's record sets by name, type and set identifier, with the weighted
// records' values, weights and TTL, and the ownership record's owner and written share
// (its written-at, a time, left out: a server may write the same weights again).
func shape(sets []recordSet) string {
	var out []string
	for _, s := range sets {
		v := fmt.Sprintf("%s %s %q w=%d ttl=%d %q", s.Name, s.Type, s.SetID, s.Weight, s.TTL, s.Values)
		if s.Name == "_cutover.www.example.test." && s.Type == "TXT" {
			var kept []string
			for _, f := range s.Values {
				for _, part := range strings.Fields(f) {
					if !strings.Contains(part, "written-at=") {
						kept = append(kept, part)
					}
				}
			}
			v = fmt.Sprintf("%s %s ttl=%d %s", s.Name, s.Type, s.TTL, strings.Join(kept, " "))
		}
		if s.Type == "SOA" || s.Type == "NS" {
			v = s.Name + " " + s.Type // the zone's own, not cutover's
		}
		out = append(out, v)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// ownership is the value of the ownership record _cutover.www.example.test TXT.
func ownership(sets []recordSet) string {
	for _, s := range sets {
		if s.Name == "_cutover.www.example.test." && s.Type == "TXT" {
			return strings.Join(s.Values, " ")
		}
	}
	return ""
}

// TestKill9ServerMidCanaryResumesOnTheSameRecords: a `cutover server` process moves the
// weighted records www.example.test in a moto hosted zone between releases that run
// elsewhere (endpoints on 127.0.0.2 and 127.0.0.3); v2's canary is verified at 10% in the
// records (INSYNC, then the TTL) and held there; the server is killed with SIGKILL. The
// records keep 10% meanwhile. A server restarted on the same data dir resumes the same
// deployment on the same records (no new record set, the same identifiers, values and
// weights), health-checks v2's endpoint again, says why with Route 53's evidence, and,
// promoted, finishes it: v2's record with all the weight.
func TestKill9ServerMidCanaryResumesOnTheSameRecords(t *testing.T) {
	began := time.Now()
	w := newDNSWorld(t) // first: without moto_server there is nothing to test
	awstest.Env(t)
	t.Logf("moto_server up with the hosted zone %s and the alarm, endpoints on 127.0.0.2/.3:%d, after %s", w.zone, w.port, time.Since(began).Round(time.Millisecond))
	r := startApplied(t, w.spec())
	t.Logf("cutover server up, spec applied, after %s", time.Since(began).Round(time.Millisecond))

	// v1, the first release: the name at once, counted after INSYNC and the TTL.
	v1 := r.deploy(t, "v1", map[string]string{"IP": "127.0.0.2"})
	d := r.srv.WaitFor(v1.ID, "ended", wait, func(d api.Deployment) bool { return d.Terminal })
	if d.Phase != "succeeded" {
		t.Fatalf("v1: %s: %s\n%s", d.Phase, d.Reason, eventsOf(d))
	}
	if got := weighted(t, w.zoneRecords()); got["green"] != r53v1Full {
		t.Fatalf("records after v1: %v, want green %q (blue, when there, at weight 0)", got, r53v1Full)
	}
	if n, _ := w.probed("127.0.0.2"); n == 0 {
		t.Fatalf("v1 succeeded without a health check of its endpoint 127.0.0.2")
	}
	t.Logf("v1 succeeded after %s", time.Since(began).Round(time.Millisecond))

	// v2's canary, verified at 10% in the records and held (the step pauses for an hour).
	v2 := r.deploy(t, "v2", map[string]string{"IP": "127.0.0.3"})
	d = r.srv.WaitFor(v2.ID, "verified at 10%", wait, func(d api.Deployment) bool {
		return d.Terminal || strings.Contains(eventsOf(d), "green at 10% verified: "+r53AtTen)
	})
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Step != 1 {
		t.Fatalf("v2 before the kill: %s at %g%% step %d: %s\n%s", d.Phase, d.Weight, d.Step, d.Reason, eventsOf(d))
	}
	if ev := eventsOf(d); !strings.Contains(ev, "green at 10% verified: "+r53AtTen+" INSYNC at ") || !strings.Contains(ev, "effective after TTL 1s") {
		t.Fatalf("v2's events lack Route 53's evidence at 10%% (%q, INSYNC, then the TTL):\n%s", r53AtTen, ev)
	}
	before := w.zoneRecords()
	if got := weighted(t, before); len(got) != 2 || got["blue"] != r53v2At10 || got["green"] != r53v1At90 {
		t.Fatalf("records at 10%%: %v, want blue %q and green %q", got, r53v2At10, r53v1At90)
	}
	t.Logf("v2 held at 10%% after %s: %s; the zone:\n%s", time.Since(began).Round(time.Millisecond), d.Traffic, shape(before))

	// kill -9: the server dies without a word; the records are Route 53's, and nothing
	// touches them.
	pid := r.srv.PID()
	r.srv.Kill9()
	t.Logf("killed cutover server pid %d with SIGKILL", pid)
	// Only the server checks the endpoints' health, so v2's health checks stop with it (one
	// it sent just before it died may still be being answered: 200ms of grace).
	killedAt := time.Now()
	holds(t, time.Second, "the records and v2's endpoint while the server is down", func() string {
		if got := w.zoneRecords(); fmt.Sprint(got) != fmt.Sprint(before) {
			return fmt.Sprintf("the zone holds\n%s\nbut the server left\n%s", shape(got), shape(before))
		}
		if _, last := w.probed("127.0.0.3"); last.After(killedAt.Add(200 * time.Millisecond)) {
			return fmt.Sprintf("127.0.0.3 got a health check %s after the server was killed", last.Sub(killedAt).Round(time.Millisecond))
		}
		return ""
	})

	// The restart adopts what is there: the same deployment on the same records.
	restartedAt := time.Now()
	r.srv.Start()
	d = r.read(t, v2.ID)
	if d.Terminal || d.Phase != "shifting" || d.Weight != 10 || d.Step != 1 || d.Green != "v2" || d.Blue != "v1" {
		t.Fatalf("v2 after the restart: %s at %g%% step %d (green %s, blue %s): %s\n%s",
			d.Phase, d.Weight, d.Step, d.Green, d.Blue, d.Reason, eventsOf(d))
	}
	if !strings.Contains(d.Traffic, r53AtTen+" INSYNC at ") {
		t.Errorf("v2's traffic evidence after the restart: %q, want Route 53's %q", d.Traffic, r53AtTen)
	}
	if n := r.historyLen(t); n != 2 {
		t.Errorf("history after the restart has %d deployments, want 2 (v1's and v2's)", n)
	}
	r.waitResumed(t, 1, v2.ID)
	eventually(t, wait, "the restarted server to health-check v2's endpoint 127.0.0.3", func() bool {
		_, last := w.probed("127.0.0.3")
		return last.After(restartedAt)
	})
	// For a few analysis intervals after, it holds 10% on the same record sets (it may
	// write the same weights again: the ownership record's written-at is left out).
	holds(t, 2*time.Second, "v2 held at 10% on the same records after the restart", func() string {
		d := r.read(t, v2.ID)
		if d.Terminal || d.Phase != "shifting" || d.Weight != 10 {
			return fmt.Sprintf("v2 is %s at %g%%: %s", d.Phase, d.Weight, d.Reason)
		}
		if got := w.zoneRecords(); shape(got) != shape(before) {
			return fmt.Sprintf("the zone holds\n%s\nbefore the kill\n%s", shape(got), shape(before))
		}
		return ""
	})
	after := w.zoneRecords()
	if len(after) != len(before) || shape(after) != shape(before) {
		t.Fatalf("the zone after the restart:\n%s\nbefore the kill:\n%s", shape(after), shape(before))
	}
	if got := weighted(t, after); len(got) != 2 || got["blue"] != r53v2At10 || got["green"] != r53v1At90 {
		t.Fatalf("records after the restart: %v, want blue %q and green %q", got, r53v2At10, r53v1At90)
	}
	t.Logf("ownership record before the kill %q, after the restart %q", ownership(before), ownership(after))
	r.whyShows(t, v2.ID, r53AtTen)

	// Promote: the step ends, v2's record takes all the weight.
	d = r.promoteToEnd(t, v2.ID, "green at 100% verified: "+r53Full2+" INSYNC at ")
	end := w.zoneRecords()
	if got := weighted(t, end); len(got) != 2 || got["blue"] != r53v2Full || got["green"] != r53v1Zero {
		t.Errorf("records after v2 succeeded: %v, want blue %q and green %q", got, r53v2Full, r53v1Zero)
	}
	if len(end) != len(before) {
		t.Errorf("the zone has %d record sets at the end, %d at 10%%:\n%s", len(end), len(before), shape(end))
	}
	t.Logf("whole scenario took %s", time.Since(began).Round(time.Millisecond))
}
