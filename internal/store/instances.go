package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Instance records something a runtime driver started, so that after a
// crash cutover can find it again and adopt or stop it. Instances are few
// (tens per host), so they are keyed by ID alone and listed by a scan rather
// than kept in a second index that could drift.
type Instance struct {
	ID        string          // the driver's unique name for it
	App       string          // the app it belongs to, which must exist
	Release   string          // the release version it runs
	Driver    string          // the runtime driver that owns it, e.g. "process"
	Handle    json.RawMessage // the driver's own handle (PID, container ID...), opaque
	CreatedAt time.Time       // stamped by the store if zero
}

type instanceRecord struct {
	ID        string          `json:"id"`
	App       string          `json:"app"`
	Release   string          `json:"release"`
	Driver    string          `json:"driver"`
	Handle    json.RawMessage `json:"handle,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// PutInstance creates the instance record or replaces it. An ID that
// belongs to another app is refused with ErrConflict.
func (s *Store) PutInstance(in Instance) error {
	if in.ID == "" || in.App == "" {
		return fmt.Errorf("put instance %q of app %q: the ID and the app must both be set", in.ID, in.App)
	}
	if err := checkJSON("the handle", in.Handle); err != nil {
		return fmt.Errorf("put instance %s: %w", in.ID, err)
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.now()
	}
	err := s.update(func(r roots) error {
		if err := r.requireApp(in.App); err != nil {
			return err
		}
		var old instanceRecord
		ok, err := getJSON(r.instances, []byte(in.ID), &old)
		if err != nil {
			return err
		}
		if ok && old.App != in.App {
			return fmt.Errorf("%w as an instance of app %q; instance IDs are unique across apps", ErrConflict, old.App)
		}
		return putJSON(r.instances, []byte(in.ID), instanceRecord(in))
	})
	if err != nil {
		return fmt.Errorf("put instance %s of app %q: %w", in.ID, in.App, err)
	}
	return nil
}

// DeleteInstance removes the record. Deleting one that is not there is not
// an error, so cleanup can simply be retried after a crash.
func (s *Store) DeleteInstance(id string) error {
	if id == "" {
		return errors.New("delete instance: empty ID")
	}
	err := s.update(func(r roots) error {
		return r.instances.Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete instance %s: %w", id, err)
	}
	return nil
}

// ListInstances returns the app's instances, or every app's if app is "",
// sorted by ID.
func (s *Store) ListInstances(app string) ([]Instance, error) {
	var ins []Instance
	err := s.view(func(r roots) error {
		if app != "" {
			if err := r.appExists(app); err != nil {
				return err
			}
		}
		return r.instances.ForEach(func(k, v []byte) error {
			var rec instanceRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode instance %q: %w; the state file is damaged, restore a backup", k, err)
			}
			if app == "" || rec.App == app {
				ins = append(ins, Instance(rec))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	return ins, nil
}

// instanceIDs returns the IDs of app's instances.
func instanceIDs(r roots, app string) ([]string, error) {
	var ids []string
	err := r.instances.ForEach(func(k, v []byte) error {
		var rec instanceRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode instance %q: %w", k, err)
		}
		if rec.App == app {
			ids = append(ids, string(k))
		}
		return nil
	})
	return ids, err
}
