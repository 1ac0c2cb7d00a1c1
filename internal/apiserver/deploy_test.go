package apiserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
)

// A canary held at its first step by an approval gate, so a deployment stays in progress.
const gated = `strategy:
  canary:
    steps:
      - {weight: 10, approval: true}
`

func TestDeploymentLifecycle(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	r.apply(gated)
	v1 := r.deploy("v1") // the first release goes in at once

	d, err := r.client.Deploy(ctx, "web", api.DeployRequest{Version: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Green != "v2" || d.Blue != "v1" || d.Steps != 2 || d.Terminal {
		t.Fatalf("deploy answer: %+v", d)
	}
	held := r.waitFor(d.ID, "held at 10%", func(d api.Deployment) bool { return d.Phase == "shifting" && d.Weight == 10 })
	if held.Step != 1 {
		t.Errorf("held at step %d of %d, want 1", held.Step, held.Steps)
	}

	_, err = r.client.Deploy(ctx, "web", api.DeployRequest{Version: "v3"})
	if e := apiErr(t, err, http.StatusConflict, api.CodeDeploymentInProgress); !strings.Contains(e.Message, d.ID) {
		t.Fatalf("the 409 should name the running deployment %s: %q", d.ID, e.Message)
	}
	if a, err := r.client.App(ctx, "web"); err != nil || a.Active != d.ID || a.Blue != "v1" || !strings.Contains(a.Spec, "approval") {
		t.Fatalf("app: %+v, %v", a, err)
	}

	why, err := r.client.Why(ctx, "web")
	if err != nil || why.Deployment != d.ID || !strings.Contains(why.Text, "shifting") {
		t.Fatalf("why: %+v, %v", why, err)
	}
	ins, err := r.client.Instances(ctx, "web")
	if err != nil || len(ins) < 2 {
		t.Fatalf("instances of v1 and v2: %+v, %v", ins, err)
	}
	versions := map[string]bool{}
	for _, in := range ins {
		versions[in.Version] = true
	}
	if !versions["v1"] || !versions["v2"] {
		t.Fatalf("instances %+v: want both versions", ins)
	}
	logs, err := r.client.Logs(ctx, "web", "v2", 10)
	if err != nil || len(logs) == 0 {
		t.Fatalf("logs of v2: %v, %v", logs, err)
	}
	sig, err := r.client.Signals(ctx, "web", 10*time.Second)
	if err != nil || sig.Blue.Version != "v1" || sig.Green.Version != "v2" || sig.Weight != 10 || sig.Window != "10s" {
		t.Fatalf("signals: %+v, %v", sig, err)
	}
	rels, err := r.client.Releases(ctx, "web")
	if err != nil || len(rels) != 2 || rels[0].Version != "v1" || rels[1].Number != 2 {
		t.Fatalf("releases: %+v, %v", rels, err)
	}

	sctx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	live, liveErr := r.client.DeploymentEvents(sctx, d.ID)
	if _, err := r.client.Command(ctx, "web", "abort"); err != nil {
		t.Fatalf("abort: %v", err)
	}
	aborted := r.waitFor(d.ID, "terminal", terminal)
	// The deployment's stream replays what was recorded, follows the abort live and ends.
	var last api.Notice
	count := 0
	for n := range live {
		last, count = n, count+1
	}
	if err := <-liveErr; err != nil || last.Event.Phase != "aborted" || count < len(aborted.Events) {
		t.Fatalf("deployment stream: %d notices, last %+v, %v; recorded %d events", count, last, err, len(aborted.Events))
	}
	if aborted.Phase != "aborted" || aborted.EndedAt == nil || len(aborted.Events) < 2 {
		t.Fatalf("after abort: %+v", aborted)
	}
	_, err = r.client.Command(ctx, "web", "approve")
	apiErr(t, err, http.StatusConflict, api.CodeConflict)

	hist, err := r.client.History(ctx, "web")
	if err != nil || len(hist) != 2 || hist[0].ID != d.ID || hist[1].ID != v1.ID {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	got, err := r.client.Deployment(ctx, v1.ID)
	if err != nil || len(got.Events) == 0 || got.Events[len(got.Events)-1].Phase != "succeeded" {
		t.Fatalf("v1 with events: %+v, %v", got, err)
	}
	// Deleting the app stops it and forgets it. The engine lets go of the deployment a
	// moment after recording its end.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if a, err := r.client.App(ctx, "web"); err != nil || a.Active == "" || time.Now().After(deadline) {
			break
		}
	}
	if err := r.client.DeleteApp(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	_, err = r.client.App(ctx, "web")
	apiErr(t, err, http.StatusNotFound, api.CodeNotFound)
}

func TestRollbackAndEvents(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	r.apply("strategy: {preset: AllAtOnce}\n")

	notices, errc := r.client.Events(ctx, "web")
	time.Sleep(100 * time.Millisecond) // let the stream subscribe before the deployment starts
	v1 := r.deploy("v1")
	seen := false
	for !seen {
		select {
		case n := <-notices:
			seen = n.App == "web" && n.Deployment == v1.ID
		case err := <-errc:
			t.Fatalf("event stream ended: %v", err)
		case <-ctx.Done():
			t.Fatal("no notice of the deployment on the event stream")
		}
	}

	v2 := r.deploy("v2")
	// A finished deployment's stream replays its events and ends.
	dn, derrc := r.client.DeploymentEvents(ctx, v2.ID)
	var replayed []api.Notice
	for n := range dn {
		replayed = append(replayed, n)
	}
	if err := <-derrc; err != nil {
		t.Fatalf("deployment stream: %v", err)
	}
	if len(replayed) == 0 || replayed[len(replayed)-1].Event.Phase != "succeeded" {
		t.Fatalf("replayed %+v", replayed)
	}

	req, _ := http.NewRequest("POST", r.srv.URL+"/api/v1/apps/web/rollback", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rb api.Deployment
	err = json.NewDecoder(resp.Body).Decode(&rb)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("rollback: %s, %v", resp.Status, err)
	}
	if rb.Kind != "rollback" || rb.Green != "v1" || rb.Blue != "v2" || !rb.Terminal {
		t.Fatalf("rollback: %+v", rb)
	}
	if a, err := r.client.App(ctx, "web"); err != nil || a.Blue != "v1" {
		t.Fatalf("after rollback app: %+v, %v", a, err)
	}
}
