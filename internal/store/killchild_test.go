package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The kill loop's writer. TestStoreKillLoop re-executes the test binary with killChildEnv set
// to a directory; TestKillLoopChild then writes deployments and events into the store there
// until it is killed, and appends one line to the ack log, fsynced, for every write the store
// acknowledged with a nil error:
//
//	create <id> <app> <rev> <events> <terminal>
//	update <id> <app> <rev> <events> <terminal>
//
// rev counts the writes to a deployment's state, events its events; both are also in the
// state itself (killState), so the parent can tell a write that is missing, torn or repeated.

const (
	killChildEnv = "CUTOVER_STORE_KILL_CHILD" // the directory holding the store and the ack log
	killSeedEnv  = "CUTOVER_STORE_KILL_SEED"  // the child's random seed, for a reproducible run
	killAckLog   = "acks.log"
	killDB       = "cutover.db"
)

// killApps are the apps the child deploys.
var killApps = []string{"web", "api", "jobs"}

// killState is a deployment's state as the child writes it.
type killState struct {
	Rev      int  `json:"rev"`
	Events   int  `json:"events"`
	Terminal bool `json:"terminal"`
}

// killEvent is an event's data: the deployment's ID (empty in the events of a deployment
// created without one, before the store named it), the state revision that wrote it and its
// number.
type killEvent struct {
	ID  string `json:"id"`
	Rev int    `json:"rev"`
	N   int    `json:"n"`
}

func TestKillLoopChild(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("the writer of TestStoreKillLoop; runs only when that test starts it")
	}
	seed, _ := strconv.ParseUint(os.Getenv(killSeedEnv), 10, 64)
	err := runKillChild(dir, rand.New(rand.NewPCG(seed, seed)))
	fmt.Fprintln(os.Stderr, "kill loop child:", err)
	os.Exit(2) // the loop only returns on an error: the parent sees an exit, not a kill
}

// killChild is the writer's view of its deployments in progress, by app.
type killChild struct {
	s      *Store
	acks   *os.File
	rng    *rand.Rand
	active map[string]*killState
	ids    map[string]string // app -> ID of its deployment in progress
}

func runKillChild(dir string, rng *rand.Rand) error {
	s, err := Open(filepath.Join(dir, killDB))
	if err != nil {
		return err
	}
	acks, err := os.OpenFile(filepath.Join(dir, killAckLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	c := &killChild{s: s, acks: acks, rng: rng, active: map[string]*killState{}, ids: map[string]string{}}
	for _, app := range killApps {
		_, err := s.GetApp(app)
		if errors.Is(err, ErrNotFound) {
			err = s.PutApp(App{Name: app, Spec: []byte("app: " + app)})
		}
		if err != nil {
			return err
		}
	}
	// Resume what the store says is in progress, as the engine does after a crash.
	ds, err := s.ActiveDeployments()
	if err != nil {
		return err
	}
	for _, d := range ds {
		var st killState
		if err := json.Unmarshal(d.State, &st); err != nil {
			return fmt.Errorf("resume %s: %w", d.ID, err)
		}
		c.active[d.App], c.ids[d.App] = &st, d.ID
	}
	fmt.Println("ready")
	for {
		if err := c.step(killApps[rng.IntN(len(killApps))]); err != nil {
			return err
		}
	}
}

// step makes one write for app: a new deployment if it has none in progress, else the next
// state with 1-3 events, which may end it. Now and then it checks that the store refuses a
// second deployment in progress and a change to a finished one.
func (c *killChild) step(app string) error {
	st, id := c.active[app], c.ids[app]
	if st == nil {
		st = &killState{Rev: 1, Events: 1, Terminal: c.rng.IntN(4) == 0} // born finished, like a rollback
		d := Deployment{App: app, Terminal: st.Terminal, State: mustMarshal(st)}
		if c.rng.IntN(2) == 0 {
			d.ID = fmt.Sprintf("%s-own-%016x", app, c.rng.Uint64())
		}
		created, err := c.s.CreateDeployment(d, Event{Data: mustMarshal(killEvent{ID: d.ID, Rev: 1, N: 1})})
		if err != nil {
			return err
		}
		if !st.Terminal {
			c.active[app], c.ids[app] = st, created.ID
		}
		return c.ack("create", created.ID, app, st)
	}
	if c.rng.IntN(10) == 0 {
		var active *ActiveError
		if _, err := c.s.CreateDeployment(Deployment{App: app}); !errors.As(err, &active) || active.ID != id {
			return fmt.Errorf("a second deployment of %s while %s is in progress: got %v, want an ActiveError naming %s", app, id, err, id)
		}
	}
	next := killState{Rev: st.Rev + 1, Events: st.Events}
	var evs []Event
	for range 1 + c.rng.IntN(3) {
		next.Events++
		evs = append(evs, Event{Data: mustMarshal(killEvent{ID: id, Rev: next.Rev, N: next.Events})})
	}
	next.Terminal = next.Events >= 12 || c.rng.IntN(8) == 0
	if err := c.s.UpdateDeployment(id, mustMarshal(next), next.Terminal, evs...); err != nil {
		return err
	}
	*st = next
	if err := c.ack("update", id, app, st); err != nil {
		return err
	}
	if st.Terminal {
		delete(c.active, app)
		delete(c.ids, app)
		if err := c.s.UpdateDeployment(id, mustMarshal(killState{Rev: -1}), false); !errors.Is(err, ErrTerminal) {
			return fmt.Errorf("a change to the finished deployment %s: got %v, want ErrTerminal", id, err)
		}
	}
	return nil
}

// ack appends the acknowledged write to the ack log in one write, then fsyncs it.
func (c *killChild) ack(op, id, app string, st *killState) error {
	line := fmt.Sprintf("%s %s %s %d %d %t\n", op, id, app, st.Rev, st.Events, st.Terminal)
	if _, err := c.acks.WriteString(line); err != nil {
		return err
	}
	return c.acks.Sync()
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
