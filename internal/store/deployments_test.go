package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDeploymentLifecycle(t *testing.T) {
	s := newStore(t)
	mustPutApp(t, s, "web")
	clock := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }

	d, err := s.CreateDeployment(Deployment{App: "web", State: json.RawMessage(`{"step":0}`)},
		Event{Data: json.RawMessage(`{"msg":"started"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "web-1" || d.Seq != 1 || d.Terminal || !d.CreatedAt.Equal(clock) || !d.UpdatedAt.Equal(clock) {
		t.Errorf("CreateDeployment = %+v", d)
	}

	clock = clock.Add(time.Minute)
	eventAt := clock.Add(-time.Second)
	if err := s.UpdateDeployment(d.ID, json.RawMessage(`{"step":1}`), false,
		Event{At: eventAt, Data: json.RawMessage(`{"msg":"green healthy"}`)},
		Event{Data: json.RawMessage(`{"msg":"weight 10"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateDeployment(d.ID, nil, false, Event{Data: json.RawMessage(`{"msg":"events only"}`)}); err != nil {
		t.Fatal(err)
	}

	got, err := s.GetDeployment(d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.State) != `{"step":1}` || !got.UpdatedAt.Equal(clock) || !got.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("GetDeployment = %+v; an empty state must keep the last one", got)
	}

	evs, err := s.Events(d.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantMsgs := []string{"started", "green healthy", "weight 10", "events only"}
	if len(evs) != len(wantMsgs) {
		t.Fatalf("Events = %d, want %d", len(evs), len(wantMsgs))
	}
	for i, e := range evs {
		var data struct{ Msg string }
		_ = json.Unmarshal(e.Data, &data)
		if e.Seq != i+1 || data.Msg != wantMsgs[i] {
			t.Errorf("event %d = seq %d %q, want seq %d %q", i, e.Seq, data.Msg, i+1, wantMsgs[i])
		}
	}
	if !evs[1].At.Equal(eventAt) || !evs[2].At.Equal(clock) {
		t.Errorf("event times = %v, %v; want the caller's, then the store's", evs[1].At, evs[2].At)
	}
	if tail, err := s.Events(d.ID, 2); err != nil || len(tail) != 2 || tail[0].Seq != 3 {
		t.Errorf("Events(after 2) = %+v, %v", tail, err)
	}
	if tail, err := s.Events(d.ID, 4); err != nil || len(tail) != 0 {
		t.Errorf("Events(after last) = %+v, %v", tail, err)
	}

	if act, err := s.ActiveDeployments(); err != nil || len(act) != 1 || act[0].ID != d.ID {
		t.Errorf("ActiveDeployments = %+v, %v", act, err)
	}

	// Finishing is the last change it ever takes.
	if err := s.UpdateDeployment(d.ID, json.RawMessage(`{"outcome":"succeeded"}`), true, Event{Data: json.RawMessage(`{"msg":"done"}`)}); err != nil {
		t.Fatal(err)
	}
	err = s.UpdateDeployment(d.ID, json.RawMessage(`{"outcome":"failed"}`), true, Event{Data: json.RawMessage(`{}`)})
	if !errors.Is(err, ErrTerminal) || !strings.Contains(err.Error(), d.ID) {
		t.Errorf("UpdateDeployment after terminal = %v, want ErrTerminal naming %s", err, d.ID)
	}
	if got, _ := s.GetDeployment(d.ID); !got.Terminal || string(got.State) != `{"outcome":"succeeded"}` {
		t.Errorf("after refused update: %+v", got)
	}
	if evs, _ := s.Events(d.ID, 0); len(evs) != 5 {
		t.Errorf("a refused update appended events: %d", len(evs))
	}
	if act, _ := s.ActiveDeployments(); len(act) != 0 {
		t.Errorf("ActiveDeployments after terminal = %+v", act)
	}

	// The next deployment of the app may start now.
	d2, err := s.CreateDeployment(Deployment{App: "web"})
	if err != nil || d2.ID != "web-2" || d2.Seq != 2 {
		t.Errorf("second deployment = %+v, %v", d2, err)
	}
	list, err := s.ListDeployments("web")
	if err != nil || len(list) != 2 || list[0].ID != "web-2" || list[1].ID != "web-1" {
		t.Errorf("ListDeployments = %+v, %v; want newest first", list, err)
	}
}

func TestCreateDeploymentRefusesSecondActive(t *testing.T) {
	s := newStore(t)
	mustPutApp(t, s, "web")
	mustPutApp(t, s, "api")
	first, err := s.CreateDeployment(Deployment{App: "web"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateDeployment(Deployment{App: "web"})
	var active *ActiveError
	if !errors.As(err, &active) || active.ID != first.ID || active.App != "web" || !errors.Is(err, ErrActiveDeployment) {
		t.Fatalf("second CreateDeployment = %v, want *ActiveError{web, %s}", err, first.ID)
	}
	want := `app "web" already has deployment web-1 in progress; wait for it, or abort it with: cutover abort web`
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
	if _, err := s.CreateDeployment(Deployment{App: "api"}); err != nil {
		t.Errorf("another app is not blocked: %v", err)
	}
	// A deployment recorded as already finished does not block its app...
	mustPutApp(t, s, "worker")
	if _, err := s.CreateDeployment(Deployment{App: "worker", Terminal: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDeployment(Deployment{App: "worker"}); err != nil {
		t.Errorf("a terminal deployment blocked the next: %v", err)
	}
	// ...but is itself refused while another is in progress.
	if _, err := s.CreateDeployment(Deployment{App: "worker", Terminal: true}); !errors.Is(err, ErrActiveDeployment) {
		t.Errorf("CreateDeployment(terminal) during another = %v, want ErrActiveDeployment", err)
	}
}

func TestDeploymentErrors(t *testing.T) {
	s := newStore(t)
	mustPutApp(t, s, "web")
	if _, err := s.CreateDeployment(Deployment{App: "web", ID: "custom", Terminal: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc string
		d    Deployment
		evs  []Event
		want error
	}{
		{"missing app", Deployment{App: "nope"}, nil, ErrNotFound},
		{"taken ID", Deployment{App: "web", ID: "custom"}, nil, ErrConflict},
		{"no app", Deployment{}, nil, nil},
		{"state not JSON", Deployment{App: "web", State: json.RawMessage(`{`)}, nil, nil},
		{"event not JSON", Deployment{App: "web"}, []Event{{Data: json.RawMessage(`nope`)}}, nil},
	} {
		_, err := s.CreateDeployment(tc.d, tc.evs...)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: CreateDeployment = %v, want %v", tc.desc, err, tc.want)
		}
	}
	if list, _ := s.ListDeployments("web"); len(list) != 1 {
		t.Errorf("refused creates left records: %+v", list)
	}
	if err := s.UpdateDeployment("web-99", nil, false); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "web-99") {
		t.Errorf("UpdateDeployment(missing) = %v", err)
	}
	if _, err := s.GetDeployment("web-99"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDeployment(missing) = %v", err)
	}
	if _, err := s.Events("web-99", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Events(missing) = %v", err)
	}
	if _, err := s.ListDeployments("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListDeployments(nope) = %v", err)
	}
	d, _ := s.CreateDeployment(Deployment{App: "web"})
	if err := s.UpdateDeployment(d.ID, json.RawMessage(`{"ok":true}`), false, Event{Data: json.RawMessage(`{bad`)}); err == nil {
		t.Error("UpdateDeployment with a bad event succeeded")
	}
	if got, _ := s.GetDeployment(d.ID); got.State != nil {
		t.Errorf("a refused update changed the state to %s", got.State)
	}
}

// Eight engines race to start a deployment of the same app: one wins, and
// every loser is told who did.
func TestCreateDeploymentRace(t *testing.T) {
	s := newStore(t)
	mustPutApp(t, s, "web")
	const racers = 8
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]Deployment, racers)
		errs    = make([]error, racers)
	)
	for i := range racers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.CreateDeployment(Deployment{App: "web", State: json.RawMessage(fmt.Sprintf(`{"racer":%d}`, i))},
				Event{Data: json.RawMessage(`{"msg":"started"}`)})
		})
	}
	close(start)
	wg.Wait()

	var winner Deployment
	for i, err := range errs {
		if err == nil {
			if winner.ID != "" {
				t.Fatalf("two winners: %s and %s", winner.ID, results[i].ID)
			}
			winner = results[i]
		}
	}
	if winner.ID == "" {
		t.Fatalf("no winner: %v", errs)
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		var active *ActiveError
		if !errors.As(err, &active) || active.ID != winner.ID || !strings.Contains(err.Error(), winner.ID) {
			t.Errorf("racer %d: %v, want an ActiveError naming %s", i, err, winner.ID)
		}
	}
	if list, _ := s.ListDeployments("web"); len(list) != 1 {
		t.Errorf("%d deployments recorded, want 1", len(list))
	}
}

// BenchmarkUpdateDeployment measures the engine's hot write: replace the
// state and append one event, committed with an fsync, as every step does.
func BenchmarkUpdateDeployment(b *testing.B) {
	s := newStore(b)
	mustPutApp(b, s, "web")
	d, err := s.CreateDeployment(Deployment{App: "web"})
	if err != nil {
		b.Fatal(err)
	}
	state := json.RawMessage(`{"phase":"canary","step":3,"weight":2500,"green":["web-v2-1","web-v2-2"]}`)
	event := Event{Data: json.RawMessage(`{"type":"weight_set","weight":2500}`)}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.UpdateDeployment(d.ID, state, false, event); err != nil {
			b.Fatal(err)
		}
	}
}
