package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Deployment is one attempt to move an app to a release. Its State is the
// engine's, opaque here; the store enforces only that an app has at most one
// deployment that is not Terminal, and that a Terminal one never changes.
type Deployment struct {
	ID        string // assigned by the store if empty: "<app>-<seq>", e.g. "web-7"
	App       string
	Seq       int  // per-app sequence, assigned by the store: 1, 2, 3...
	Terminal  bool // false while in progress; once true, the deployment is frozen
	CreatedAt time.Time
	UpdatedAt time.Time
	State     json.RawMessage // the engine's state, opaque
}

// Event is one entry in a deployment's history.
type Event struct {
	Seq  int             // assigned by the store: 1, 2, 3... per deployment, without gaps
	At   time.Time       // stamped by the store if zero
	Data json.RawMessage // the engine's, opaque
}

type deploymentRecord struct {
	ID        string          `json:"id"`
	App       string          `json:"app"`
	Seq       int             `json:"seq"`
	Terminal  bool            `json:"terminal"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	State     json.RawMessage `json:"state,omitempty"`
}

type eventRecord struct {
	Seq  int             `json:"seq"`
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data,omitempty"`
}

// CreateDeployment records d, with its first events, if and only if d.App
// has no deployment in progress; the check and the write are one transaction.
// Otherwise it returns an *ActiveError naming the one in progress. It assigns
// Seq, the ID if empty, and the times if zero; a caller's own ID that is
// already taken gets ErrConflict.
func (s *Store) CreateDeployment(d Deployment, events ...Event) (Deployment, error) {
	if d.App == "" {
		return Deployment{}, errors.New("create deployment: no app; say which app it deploys")
	}
	if err := checkEvents(d.State, events); err != nil {
		return Deployment{}, fmt.Errorf("create deployment of app %q: %w", d.App, err)
	}
	now := s.now()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = d.CreatedAt
	}
	var active *ActiveError
	err := s.update(func(r roots) error {
		if err := r.requireApp(d.App); err != nil {
			return err
		}
		app := []byte(d.App)
		if id := r.active.Get(app); id != nil {
			active = &ActiveError{App: d.App, ID: string(id)}
			return active
		}
		deps, err := r.deployments.CreateBucketIfNotExists(app)
		if err != nil {
			return err
		}
		seq, err := deps.NextSequence()
		if err != nil {
			return err
		}
		d.Seq = int(seq)
		if d.ID == "" {
			d.ID = fmt.Sprintf("%s-%d", d.App, seq)
		}
		if r.deploymentIDs.Get([]byte(d.ID)) != nil {
			return fmt.Errorf("deployment ID %q: %w; leave the ID empty to have one assigned", d.ID, ErrConflict)
		}
		if err := putJSON(deps, u64(seq), deploymentRecord(d)); err != nil {
			return err
		}
		if err := r.deploymentIDs.Put([]byte(d.ID), append(u64(seq), app...)); err != nil {
			return err
		}
		if !d.Terminal {
			if err := r.active.Put(app, []byte(d.ID)); err != nil {
				return err
			}
		}
		return appendEvents(r, d.App, seq, events, now)
	})
	if active != nil {
		return Deployment{}, active // says everything already; callers errors.As it
	}
	if err != nil {
		return Deployment{}, fmt.Errorf("create deployment of app %q: %w", d.App, err)
	}
	return d, nil
}

// UpdateDeployment replaces the deployment's state, marks it terminal if
// asked, and appends events, all in one transaction. An empty state keeps
// the current one. A terminal deployment is refused with ErrTerminal.
func (s *Store) UpdateDeployment(id string, state json.RawMessage, terminal bool, events ...Event) error {
	if err := checkEvents(state, events); err != nil {
		return fmt.Errorf("update deployment %s: %w", id, err)
	}
	now := s.now()
	err := s.update(func(r roots) error {
		app, seq, err := lookupDeployment(r, id)
		if err != nil {
			return err
		}
		deps := r.deployments.Bucket([]byte(app))
		var rec deploymentRecord
		if ok, err := getJSON(deps, u64(seq), &rec); err != nil || !ok {
			return damagedIndex(err)
		}
		if rec.Terminal {
			return fmt.Errorf("%w, so it can no longer change; start a new deployment instead", ErrTerminal)
		}
		if len(state) > 0 {
			rec.State = state
		}
		rec.Terminal = terminal
		rec.UpdatedAt = now
		if err := putJSON(deps, u64(seq), rec); err != nil {
			return err
		}
		if terminal {
			if err := r.active.Delete([]byte(app)); err != nil {
				return err
			}
		}
		return appendEvents(r, app, seq, events, now)
	})
	if err != nil {
		return fmt.Errorf("update deployment %s: %w", id, err)
	}
	return nil
}

// appendEvents numbers events after the deployment's last one and writes them.
func appendEvents(r roots, app string, seq uint64, events []Event, now time.Time) error {
	perApp, err := r.events.CreateBucketIfNotExists([]byte(app))
	if err != nil {
		return err
	}
	b, err := perApp.CreateBucketIfNotExists(u64(seq))
	if err != nil {
		return err
	}
	for _, e := range events {
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		rec := eventRecord{Seq: int(n), At: e.At, Data: e.Data}
		if rec.At.IsZero() {
			rec.At = now
		}
		if err := putJSON(b, u64(n), rec); err != nil {
			return err
		}
	}
	return nil
}

// lookupDeployment resolves an ID to its app and per-app sequence.
func lookupDeployment(r roots, id string) (app string, seq uint64, err error) {
	ref := r.deploymentIDs.Get([]byte(id))
	if ref == nil {
		return "", 0, ErrNotFound
	}
	if len(ref) <= 8 {
		return "", 0, damagedIndex(nil)
	}
	return string(ref[8:]), binary.BigEndian.Uint64(ref[:8]), nil
}

func eventsBucket(r roots, app string, seq uint64) *bolt.Bucket {
	perApp := r.events.Bucket([]byte(app))
	if perApp == nil {
		return nil
	}
	return perApp.Bucket(u64(seq))
}

func checkEvents(state json.RawMessage, events []Event) error {
	if err := checkJSON("the state", state); err != nil {
		return err
	}
	for i, e := range events {
		if err := checkJSON(fmt.Sprintf("events[%d].data", i), e.Data); err != nil {
			return err
		}
	}
	return nil
}

func damagedIndex(err error) error {
	if err != nil {
		return err
	}
	return errors.New("the deployment index points at a missing record; the state file is damaged, restore a backup")
}
