package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/provider/awsapp"
	"github.com/cutover/cutover/internal/provider/awstest"
	"github.com/cutover/cutover/internal/provider/external"
	"github.com/cutover/cutover/internal/spec"
)

// dnsWorld is moto with a hosted zone (and the ECS world's alarm), and releases that run
// elsewhere: health endpoints on 127.0.0.2, .3 and .4, on one port.
type dnsWorld struct {
	*ecsWorld
	r53  *route53.Client
	zone string
	port int
}

func newDNSWorld(t *testing.T) *dnsWorld {
	w := &dnsWorld{ecsWorld: newECSWorld(t)}
	w.r53 = route53.NewFromConfig(w.m.Config())
	out, err := w.r53.CreateHostedZone(awstest.Ctx(t), &route53.CreateHostedZoneInput{Name: aws.String("example.test"), CallerReference: aws.String(t.Name())})
	if err != nil {
		t.Fatal(err)
	}
	w.zone = strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
	w.port = healthOn(t, "127.0.0.2", 0)
	healthOn(t, "127.0.0.3", w.port)
	healthOn(t, "127.0.0.4", w.port)
	w.r.close()
	w.r.cloud = func(ctx context.Context, a *spec.App, hc *http.Client) (CloudApp, error) {
		aa, err := awsapp.Open(ctx, a, hc) // as the daemon composes it
		if err != nil {
			return CloudApp{}, err
		}
		return CloudApp{Traffic: aa.Traffic, Groups: &external.Driver{Dir: filepath.Join(w.r.dir, "external"), App: a.Name,
			HealthPath: a.Health.Path, HealthPort: a.Run.External.HealthPort, Client: hc}}, nil
	}
	w.r.open()
	return w
}

// healthOn serves /healthz on ip:port (port 0: any) until the test ends; it returns the port.
func healthOn(t *testing.T, ip string, port int) int {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func (w *dnsWorld) spec(extra string) *spec.App {
	return w.r.parse(fmt.Sprintf(`app: web
run:
  external: {endpoint: "${IP}", health_port: %d}
traffic:
  route53: {zone: %s, name: www.example.test, ttl: 1s, verify_timeout: 20s}
aws: {endpoint: %q}
health: {path: /healthz, startup_grace: 5s}
keep_warm: 1s
`, w.port, w.zone, w.m.URL) + extra)
}

// records is what www.example.test's weighted records hold: set identifier -> "IP weight".
func (w *dnsWorld) records() map[string]string {
	w.t.Helper()
	out, err := w.r53.ListResourceRecordSets(awstest.Ctx(w.t), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(w.zone)})
	if err != nil {
		w.t.Fatal(err)
	}
	got := map[string]string{}
	for _, rr := range out.ResourceRecordSets {
		if aws.ToString(rr.Name) == "www.example.test." && rr.SetIdentifier != nil && len(rr.ResourceRecords) == 1 {
			got[aws.ToString(rr.SetIdentifier)] = fmt.Sprintf("%s %d", aws.ToString(rr.ResourceRecords[0].Value), aws.ToInt64(rr.Weight))
		}
	}
	return got
}

// TestE2ERoute53CanaryThenRollback: v1 (127.0.0.2) takes the name at once; v2 (127.0.0.3)
// walks 10% → 100% on the weighted records, each step counted only a TTL after Route 53
// holds it INSYNC; v3 (127.0.0.4) is rolled back by an alarm, the records written back to
// v2 first.
func TestE2ERoute53CanaryThenRollback(t *testing.T) {
	w := newDNSWorld(t)
	if err := w.r.eng.Apply(w.spec(fmt.Sprintf("strategy:\n  canary:\n    steps: [{weight: 10, pause: 300ms}]\nanalysis:\n  interval: 200ms\n  alarms: {names: [web-5xx], endpoint: %q}\n", w.m.URL))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.r.eng.Deploy(context.Background(), "web", "v1", nil); err == nil || !strings.Contains(err.Error(), "--set") {
		t.Fatalf("a release without its endpoint: %v", err)
	}
	if s := w.r.deploy("v1", map[string]string{"IP": "127.0.0.2"}); s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v1: %s: %s", s.Phase, s.Reason)
	}
	if got := w.records(); !strings.HasPrefix(got["green"], "127.0.0.2 ") || strings.HasSuffix(got["green"], " 0") {
		t.Fatalf("records after v1: %v", got)
	}
	s := w.r.deploy("v2", map[string]string{"IP": "127.0.0.3"})
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s", s.Phase, s.Reason)
	}
	ev := w.events(s.ID)
	if !strings.Contains(ev, "green at 10% verified: Route 53") || !strings.Contains(ev, "TTL") {
		t.Errorf("v2's events lack Route 53's evidence:\n%s", ev)
	}
	if got := w.records(); got["blue"] != "127.0.0.3 255" || got["green"] != "127.0.0.2 0" {
		t.Errorf("records after v2: %v", got)
	}
	v3, err := w.r.eng.Deploy(context.Background(), "web", "v3", map[string]string{"IP": "127.0.0.4"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, w.r, v3.ID, func(s deploy.State) bool { return !s.VerifiedAt.IsZero() && s.VerifiedWeight == 1000 })
	if _, err := w.cw.SetAlarmState(awstest.Ctx(t), &cw.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm,
		StateReason: aws.String("Threshold Crossed")}); err != nil {
		t.Fatal(err)
	}
	if s = w.r.wait(v3.ID); s.Phase != deploy.PhaseRolledBack {
		t.Fatalf("v3: %s: %s", s.Phase, s.Reason)
	}
	got := w.records()
	for id, rec := range got {
		if strings.HasPrefix(rec, "127.0.0.3 ") && strings.HasSuffix(rec, " 0") {
			t.Errorf("after the rollback v2's record %s has weight 0: %v", id, got)
		}
		if strings.HasPrefix(rec, "127.0.0.4 ") && !strings.HasSuffix(rec, " 0") {
			t.Errorf("after the rollback v3's record %s still has weight: %v", id, got)
		}
	}
}

// TestE2ERoute53ApplyRefusesAnUnknownZone: a hosted zone Route 53 does not have fails at
// apply with Route 53's reason and the zone's ID, and the server holds no app after it.
func TestE2ERoute53ApplyRefusesAnUnknownZone(t *testing.T) {
	w := newDNSWorld(t)
	a := w.spec("")
	a.Traffic.Route53.Zone = "Z0000000000000NOTHERE"
	err := w.r.eng.Apply(a)
	if err == nil || !strings.Contains(err.Error(), "Z0000000000000NOTHERE") {
		t.Fatalf("apply with an unknown zone: %v", err)
	}
	t.Log(err)
	if apps, err := w.r.eng.Apps(); err != nil || len(apps) != 0 {
		t.Fatalf("apps after the refused apply: %v %v, want none", apps, err)
	}
}
