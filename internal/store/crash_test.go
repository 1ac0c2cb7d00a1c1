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

// crashChildEnv, when set to a path, turns the test binary into the crash
// test's child: a writer that runs until it is killed.
const crashChildEnv = "CUTOVER_STORE_CRASH_CHILD"

// eventsPerDeployment is when the child finishes a deployment.
const eventsPerDeployment = 12

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		if err := runCrashChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runCrashChild behaves like the engine: it resumes whatever deployments are
// in progress, otherwise starts new ones, and advances them with state and
// events in single updates. After each call returns it prints
// "commit <id> <last event seq> <terminal>", a promise the parent checks.
// The state always records the number of events, so a torn update (state
// without its events, or the reverse) is visible.
func runCrashChild(path string) error {
	s, err := Open(path)
	if err != nil {
		return err
	}
	apps := []string{"web", "api"}
	for _, app := range apps {
		if _, err := s.GetApp(app); errors.Is(err, ErrNotFound) {
			if err := s.PutApp(App{Name: app, Spec: []byte("name: " + app)}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	progress := map[string]*childDeployment{} // by app
	active, err := s.ActiveDeployments()
	if err != nil {
		return err
	}
	for _, d := range active {
		evs, err := s.Events(d.ID, 0)
		if err != nil {
			return err
		}
		progress[d.App] = &childDeployment{id: d.ID, events: len(evs)}
	}
	fmt.Println("ready")

	for i := 0; ; i++ {
		app := apps[i%len(apps)]
		p := progress[app]
		if p == nil {
			d, err := s.CreateDeployment(Deployment{App: app, State: childState(1)}, childEvent("", 1))
			if err != nil {
				return err
			}
			progress[app] = &childDeployment{id: d.ID, events: 1}
			fmt.Printf("commit %s 1 false\n", d.ID)
			continue
		}
		var evs []Event
		for range 1 + rand.IntN(3) {
			p.events++
			evs = append(evs, childEvent(p.id, p.events))
		}
		terminal := p.events >= eventsPerDeployment
		if err := s.UpdateDeployment(p.id, childState(p.events), terminal, evs...); err != nil {
			return err
		}
		fmt.Printf("commit %s %d %t\n", p.id, p.events, terminal)
		if terminal {
			delete(progress, app)
		}
	}
}

type childDeployment struct {
	id     string
	events int
}

type childData struct {
	ID string `json:"id"` // empty in the first event, before the ID is known
	N  int    `json:"n"`
}

func childState(events int) json.RawMessage { return fmt.Appendf(nil, `{"events":%d}`, events) }

func childEvent(id string, n int) Event {
	buf, _ := json.Marshal(childData{ID: id, N: n})
	return Event{Data: buf}
}

type commit struct {
	id       string
	seq      int
	terminal bool
}

// TestCrashSafety kills a real writer process with SIGKILL at random moments
// and checks that the file always opens, keeps its invariants, and holds
// every write the writer saw return.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary many times")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cutover.db")
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Logf("seed %d", seed)

	const rounds = 20
	deadline := time.Now().Add(90 * time.Second)
	var commits []commit
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		delay := time.Duration(5+rng.IntN(46)) * time.Millisecond
		early := round%5 == 4 // now and then, die during start-up and Open
		got := crashRound(t, exe, path, delay, early)
		t.Logf("round %d: killed %v after %s, %d commits reported", round, delay, map[bool]string{false: "ready", true: "start"}[early], len(got))
		commits = append(commits, got...)
	}
	if len(commits) == 0 {
		t.Fatal("the child never committed anything; nothing was tested")
	}

	s := openStore(t, path)
	if err := checkInvariants(s); err != nil {
		t.Fatalf("invariants after %d kills:\n%v", rounds, err)
	}
	verifyCommits(t, s, commits)
}

// crashRound runs one child and kills it with SIGKILL delay after it
// reports ready (or, with early, delay after it starts, which may land in
// Open itself). It returns the commits the child reported.
func crashRound(t *testing.T, exe, path string, delay time.Duration, early bool) []commit {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	var kill <-chan time.Time
	if early {
		kill = time.After(delay)
	}
	timeout := time.After(30 * time.Second)
	var commits []commit
read:
	for {
		select {
		case line, ok := <-lines:
			switch {
			case !ok:
				break read
			case line == "ready":
				if !early {
					kill = time.After(delay)
				}
			default:
				var c commit
				if _, err := fmt.Sscanf(line, "commit %s %d %t", &c.id, &c.seq, &c.terminal); err != nil {
					t.Fatalf("child said %q: %v", line, err)
				}
				commits = append(commits, c)
			}
		case <-kill:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			kill = nil
		case <-timeout:
			_ = cmd.Process.Kill()
			t.Fatalf("child neither ready nor dead after 30s; stderr:\n%s", stderr.String())
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL; stderr:\n%s", err, stderr.String())
	}
	return commits
}

// verifyCommits checks that every reported commit is on disk, that state and
// events were written together, and that no deployment was started twice.
func verifyCommits(t *testing.T, s *Store, commits []commit) {
	t.Helper()
	created := map[string]bool{}
	for _, c := range commits {
		if c.seq == 1 {
			if created[c.id] {
				t.Errorf("deployment %s was created twice", c.id)
			}
			created[c.id] = true
		}
		d, err := s.GetDeployment(c.id)
		if err != nil {
			t.Errorf("committed deployment %s is lost: %v", c.id, err)
			continue
		}
		evs, err := s.Events(c.id, 0)
		if err != nil || len(evs) < c.seq {
			t.Errorf("deployment %s: %d events on disk, but event %d was committed (%v)", c.id, len(evs), c.seq, err)
		}
		if c.terminal && !d.Terminal {
			t.Errorf("deployment %s: committed as terminal, on disk in progress", c.id)
		}
	}
	for _, app := range []string{"web", "api"} {
		ds, err := s.ListDeployments(app)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range ds {
			if i > 0 && !d.Terminal {
				t.Errorf("%s: abandoned in progress behind %s", d.ID, ds[0].ID)
			}
			evs, err := s.Events(d.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			var st struct{ Events int }
			if err := json.Unmarshal(d.State, &st); err != nil || st.Events != len(evs) {
				t.Errorf("%s: state says %d events, %d on disk (%v); an update was torn", d.ID, st.Events, len(evs), err)
			}
			for _, e := range evs {
				var data childData
				if err := json.Unmarshal(e.Data, &data); err != nil || data.N != e.Seq || (data.ID != d.ID && e.Seq > 1) {
					t.Errorf("%s: event %d holds %s; an update was applied twice or misnumbered", d.ID, e.Seq, e.Data)
				}
			}
		}
		t.Logf("%s: %d deployments on disk", app, len(ds))
	}
}
