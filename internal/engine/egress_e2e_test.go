package engine

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
	"github.com/cutover/cutover/internal/egress"
)

// counting is a real HTTP server on addr (host:0) that counts the requests it gets.
func counting(t *testing.T, addr string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	var n atomic.Int64
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = w.Write([]byte(`{"value": 0}`))
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

func webhookAt(url string) string {
	return "hooks:\n  - {name: notify, at: green_healthy, webhook: {url: \"" + url + "\"}}\n"
}

// TestE2EEgressAllowOfTheSpec: a webhook the app's egress.allow allows is called; one to a
// name that resolves outside the list is refused before any connection, and the deployment
// fails saying which list refused what.
func TestE2EEgressAllowOfTheSpec(t *testing.T) {
	_, _ = counting(t, "127.0.0.2:0") // keep 127.0.0.2 in use, so the refusal is not an accident
	ok, okHits := counting(t, "127.0.0.1:0")
	r := newRig(t)
	r.apply(r.specText(webhookAt(ok.URL) + "egress: {allow: [127.0.0.1]}\n"))
	if s := r.deploy("v1", nil); s.Phase != deploy.PhaseSucceeded || okHits.Load() != 1 {
		t.Fatalf("v1 with an allowed webhook: %s (%s), %d calls", s.Phase, s.Reason, okHits.Load())
	}
	// localhost resolves to 127.0.0.1 (or ::1), outside a list of 127.0.0.2 only.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ok.URL, "http://"))
	r.apply(r.specText(webhookAt("http://localhost:"+port+"/") + "egress: {allow: [127.0.0.2]}\n"))
	s := r.deploy("v2", nil)
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "the app's egress.allow does not allow localhost") {
		t.Fatalf("v2 with a refused webhook: %s: %q, want failed naming the app's egress.allow", s.Phase, s.Reason)
	}
	if okHits.Load() != 1 {
		t.Errorf("the refused destination was called: %d calls", okHits.Load())
	}
}

// TestE2EEgressAllowOfTheServer: the server's list (cutover server --egress-allow) holds for
// every app, for webhooks and external checks alike.
func TestE2EEgressAllowOfTheServer(t *testing.T) {
	far, farHits := counting(t, "127.0.0.2:0")
	r := newRig(t)
	r.close()
	p, err := egress.Parse("cutover server --egress-allow", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	r.egress = p
	r.open()
	r.apply(r.specText(webhookAt(far.URL) + `analysis:
  checks: [{name: remote, external: {url: "` + far.URL + `/q", json_path: value, condition: "< 1"}}]
`))
	s := r.deploy("v1", nil)
	if s.Phase != deploy.PhaseFailed || !strings.Contains(s.Reason, "cutover server --egress-allow does not allow 127.0.0.2") {
		t.Fatalf("v1 with a webhook outside the server's list: %s: %q", s.Phase, s.Reason)
	}
	res := analyzer{r.eng}.Evaluate(context.Background(), "web", time.Second, 0)
	if ev := strings.Join(res.Evidence, "; "); !strings.Contains(ev, "remote: ") || !strings.Contains(ev, "cutover server --egress-allow does not allow") {
		t.Errorf("external check outside the server's list: %s %q, want it inconclusive with the refusal", res.Verdict, ev)
	}
	if farHits.Load() != 0 {
		t.Errorf("the refused server got %d requests", farHits.Load())
	}
}
