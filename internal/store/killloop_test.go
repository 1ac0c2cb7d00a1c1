package store

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killAck is one line of the ack log: a write the child saw succeed.
type killAck struct {
	op, id, app string
	st          killState
}

// TestStoreKillLoop SIGKILLs a writer (TestKillLoopChild) at random moments, 20 to 50 times
// within about 15 seconds, and after every kill reopens the store and checks it against the
// writes the writer acknowledged: the file opens and keeps its invariants; every acknowledged
// deployment is there with its last acknowledged state or a later one; no deployment was
// created twice; the active index agrees with the terminal flags; and no record is half
// written (state, terminal flag and events always agree).
//
//	go test -run '^TestStoreKillLoop$' -count=1 -v ./internal/store/
func TestStoreKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary dozens of times")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Logf("seed %d", seed)

	const minKills, maxKills = 20, 50
	deadline := time.Now().Add(15 * time.Second)
	kills, acks := 0, []killAck(nil)
	for kills < maxKills && (kills < minKills || time.Now().Before(deadline)) {
		early := kills%5 == 4 // now and then, die during start-up, Open or the resume
		delay := time.Duration(rng.IntN(150)) * time.Millisecond
		if early {
			delay = time.Duration(rng.IntN(20)) * time.Millisecond
		}
		killChildAfter(t, exe, dir, rng.Uint64(), delay, early)
		kills++
		acks = readAcks(t, filepath.Join(dir, killAckLog))
		checkKilledStore(t, filepath.Join(dir, killDB), acks, kills)
		if t.Failed() {
			t.Fatalf("after kill %d (%s %s): see above", kills, delay, map[bool]string{true: "after start", false: "after ready"}[early])
		}
	}
	if len(acks) == 0 {
		t.Fatal("the writer never acknowledged a write; nothing was tested")
	}
	t.Logf("%d kills, %d acknowledged writes, all on disk after every kill", kills, len(acks))
}

// killChildAfter starts the writer and SIGKILLs it delay after it reports ready (or, with
// early, delay after it starts). A writer that exits by itself has found a broken rule.
func killChildAfter(t *testing.T, exe, dir string, seed uint64, delay time.Duration, early bool) {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestKillLoopChild$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir, fmt.Sprintf("%s=%d", killSeedEnv, seed))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
				break
			}
		}
		for sc.Scan() { // drain, so the child never blocks on its stdout
		}
	}()
	if !early {
		select {
		case <-ready:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the writer was not ready within 20s; stderr:\n%s", stderr.String())
		}
	}
	time.Sleep(delay) // the random moment of the kill, not a synchronisation
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill the writer: %v", err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the writer ended with %v, want killed by SIGKILL; stderr:\n%s", err, stderr.String())
	}
}

// readAcks parses the ack log. A last line without its newline was being written when the
// writer died: its write was acknowledged by the store, but never promised, so it is dropped.
func readAcks(t *testing.T, path string) []killAck {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []killAck
	for _, line := range lines[:len(lines)-1] { // the last element is "" or a torn line
		var a killAck
		if _, err := fmt.Sscanf(line, "%s %s %s %d %d %t", &a.op, &a.id, &a.app, &a.st.Rev, &a.st.Events, &a.st.Terminal); err != nil {
			t.Fatalf("ack log line %q: %v", line, err)
		}
		out = append(out, a)
	}
	return out
}

// checkKilledStore opens the store the writer was killed over and checks it against acks.
func checkKilledStore(t *testing.T, path string, acks []killAck, kills int) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("the store does not open after a kill: %v", err)
	}
	defer s.Close()
	if err := checkInvariants(s); err != nil {
		t.Errorf("invariants:\n%v", err)
	}
	onDisk := checkRecords(t, s)
	last := map[string]killAck{}
	created := map[string]int{}
	for _, a := range acks {
		if a.op == "create" {
			if _, dup := last[a.id]; dup {
				t.Errorf("deployment %s was acknowledged as created twice", a.id)
			}
			created[a.app]++
		}
		last[a.id] = a
	}
	for id, a := range last {
		got, ok := onDisk[id]
		switch {
		case !ok:
			t.Errorf("acknowledged deployment %s (%s rev %d) is lost", id, a.op, a.st.Rev)
		case got.app != a.app:
			t.Errorf("deployment %s: app %s on disk, %s acknowledged", id, got.app, a.app)
		case got.st.Rev < a.st.Rev:
			t.Errorf("deployment %s: rev %d on disk, but rev %d was acknowledged", id, got.st.Rev, a.st.Rev)
		case got.st.Rev == a.st.Rev && got.st != a.st:
			t.Errorf("deployment %s: %+v on disk, %+v acknowledged for the same rev", id, got.st, a.st)
		case a.st.Terminal && got.st != a.st:
			t.Errorf("deployment %s: acknowledged finished as %+v, changed since to %+v", id, a.st, got.st)
		}
	}
	// Each kill can cost at most one unacknowledged creation, and none is ever repeated.
	for _, app := range killApps {
		n := 0
		for _, d := range onDisk {
			if d.app == app {
				n++
			}
		}
		if n < created[app] || n > created[app]+kills {
			t.Errorf("app %s: %d deployments on disk, %d acknowledged creations and %d kills", app, n, created[app], kills)
		}
	}
}

// diskDeployment is a deployment as the store holds it, with its state decoded.
type diskDeployment struct {
	app string
	st  killState
}

// checkRecords reads every deployment and event and checks that each is whole: the state
// decodes, agrees with the terminal flag and with the number of events, and every event is
// numbered, attributed and ordered as the writer wrote it. IDs are unique, each app has at
// most one deployment in progress (its newest), and the active index lists exactly those.
func checkRecords(t *testing.T, s *Store) map[string]diskDeployment {
	t.Helper()
	out := map[string]diskDeployment{}
	inProgress := map[string]bool{}
	for _, app := range killApps {
		ds, err := s.ListDeployments(app)
		if errors.Is(err, ErrNotFound) {
			continue // killed before the app was created
		}
		if err != nil {
			t.Fatalf("list deployments of %s: %v", app, err)
		}
		for i, d := range ds {
			if _, dup := out[d.ID]; dup {
				t.Errorf("deployment ID %s appears twice", d.ID)
			}
			var st killState
			if err := json.Unmarshal(d.State, &st); err != nil {
				t.Errorf("deployment %s: state %q: %v", d.ID, d.State, err)
			}
			out[d.ID] = diskDeployment{app: app, st: st}
			if d.Terminal != st.Terminal {
				t.Errorf("deployment %s: terminal flag %v, state says %v: a torn update", d.ID, d.Terminal, st.Terminal)
			}
			if !d.Terminal {
				inProgress[d.ID] = true
				if i > 0 {
					t.Errorf("deployment %s of %s is in progress behind the newer %s", d.ID, app, ds[0].ID)
				}
			}
			checkKillEvents(t, s, d.ID, st)
		}
	}
	active, err := s.ActiveDeployments()
	if err != nil {
		t.Fatalf("active deployments: %v", err)
	}
	for _, d := range active {
		if !inProgress[d.ID] {
			t.Errorf("the active index lists %s, which is finished or missing", d.ID)
		}
		delete(inProgress, d.ID)
	}
	for id := range inProgress {
		t.Errorf("deployment %s is in progress but not in the active index", id)
	}
	return out
}

// checkKillEvents checks a deployment's events against its state.
func checkKillEvents(t *testing.T, s *Store, id string, st killState) {
	t.Helper()
	evs, err := s.Events(id, 0)
	if err != nil {
		t.Fatalf("events of %s: %v", id, err)
	}
	if len(evs) != st.Events {
		t.Errorf("deployment %s: state says %d events, %d on disk: a torn update", id, st.Events, len(evs))
	}
	rev := 0
	for _, e := range evs {
		var ev killEvent
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			t.Errorf("deployment %s event %d: %q: %v", id, e.Seq, e.Data, err)
			continue
		}
		switch {
		case ev.N != e.Seq:
			t.Errorf("deployment %s: event %d holds number %d: applied twice or misnumbered", id, e.Seq, ev.N)
		case ev.ID != id && !(ev.ID == "" && ev.Rev == 1):
			t.Errorf("deployment %s: event %d was written for %q", id, e.Seq, ev.ID)
		case ev.Rev < rev || ev.Rev > st.Rev:
			t.Errorf("deployment %s: event %d from rev %d after rev %d, state at rev %d", id, e.Seq, ev.Rev, rev, st.Rev)
		}
		rev = ev.Rev
	}
}
