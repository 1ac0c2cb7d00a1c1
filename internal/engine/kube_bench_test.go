package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
)

// BenchmarkKube measures, against the real control plane, the time from a deploy to green
// ready (the deployment's first event to "green instance(s) ... healthy": the Deployment
// created, its pods scheduled, run and ready, all read back) and from a rollback command
// to the production selector or the route written back to the previous release (polled on
// the API server from outside, every 2ms). kwok marks pods ready at once: a real kubelet
// adds the image pull and the readiness probe's period.
//
//	go test ./internal/engine -run '^$' -bench BenchmarkKube -benchtime 5x
func BenchmarkKube(b *testing.B) {
	for _, c := range []struct {
		name, traffic, strategy string
		live                    func(w *kubeWorld) string // the release serving production
	}{
		{"service_selector", kubeSelector, "strategy: {bluegreen: {}}\n", func(w *kubeWorld) string { return w.selects("web") }},
		{"gateway_api", kubeGateway, "strategy: {canary: {steps: [{weight: 50, pause: 0s}]}}\n", func(w *kubeWorld) string {
			ws := w.weights()
			slot := "web-blue"
			if ws["web-green"] == 10000 {
				slot = "web-green"
			}
			return w.selects(slot)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := newKubeWorld(b)
			if err := w.r.eng.Apply(w.r.parse(strings.Replace(w.specText(c.traffic), "keep_warm: 1s", "keep_warm: 1h", 1) + c.strategy)); err != nil {
				b.Fatal(err)
			}
			w.first()
			var ready, back time.Duration
			for i := 0; b.Loop(); i++ {
				v := fmt.Sprintf("v%d", i+2)
				s := w.r.deploy(v, nil)
				if s.Phase != deploy.PhaseSucceeded {
					b.Fatalf("%s: %s: %s", v, s.Phase, s.Reason)
				}
				ready += w.span(s.ID, "deployment of "+v+" created", "green instance(s) of "+v+" healthy")
				prev := s.Plan.BlueVersion
				start := time.Now()
				rb, err := w.r.eng.Rollback(context.Background(), "web")
				if err != nil {
					b.Fatal(err)
				}
				for c.live(w) != prev {
					if time.Since(start) > 30*time.Second {
						b.Fatalf("rollback to %s not written within 30s", prev)
					}
					time.Sleep(2 * time.Millisecond)
				}
				back += time.Since(start)
				if s := w.r.wait(rb.ID); s.Phase != deploy.PhaseSucceeded {
					b.Fatalf("rollback: %s: %s", s.Phase, s.Reason)
				}
			}
			b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ms-deploy-to-green-ready")
			b.ReportMetric(float64(back.Milliseconds())/float64(b.N), "ms-rollback-to-written")
		})
	}
}

// span is the time between deployment id's events starting with from and to.
func (w *kubeWorld) span(id, from, to string) time.Duration {
	w.t.Helper()
	evs, err := w.r.eng.Events(id)
	if err != nil {
		w.t.Fatal(err)
	}
	var a, z time.Time
	for _, e := range evs {
		if strings.HasPrefix(e.Message, from) && a.IsZero() {
			a = e.At
		}
		if strings.Contains(e.Message, to) && z.IsZero() {
			z = e.At
		}
	}
	if a.IsZero() || z.IsZero() {
		w.t.Fatalf("events of %s lack %q or %q", id, from, to)
	}
	return z.Sub(a)
}
