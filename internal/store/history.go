package store

import (
	"encoding/json"
	"fmt"
)

// The read side of deployments: what the CLI shows and what the engine
// reloads to resume after a crash.

// GetDeployment returns the deployment with the given ID.
func (s *Store) GetDeployment(id string) (Deployment, error) {
	var d Deployment
	err := s.view(func(r roots) error {
		var err error
		d, err = getDeployment(r, id)
		return err
	})
	if err != nil {
		return Deployment{}, fmt.Errorf("get deployment %s: %w", id, err)
	}
	return d, nil
}

// ListDeployments returns the app's deployments, newest first.
func (s *Store) ListDeployments(app string) ([]Deployment, error) {
	var ds []Deployment
	err := s.view(func(r roots) error {
		if err := r.appExists(app); err != nil {
			return err
		}
		deps := r.deployments.Bucket([]byte(app))
		if deps == nil {
			return nil
		}
		c := deps.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var rec deploymentRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode deployment %x: %w; the state file is damaged, restore a backup", k, err)
			}
			ds = append(ds, Deployment(rec))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list deployments of app %q: %w", app, err)
	}
	return ds, nil
}

// ActiveDeployments returns every deployment in progress, at most one per
// app, ordered by app name. After a crash, these are what the engine resumes.
func (s *Store) ActiveDeployments() ([]Deployment, error) {
	var ds []Deployment
	err := s.view(func(r roots) error {
		return r.active.ForEach(func(_, id []byte) error {
			d, err := getDeployment(r, string(id))
			if err != nil {
				return fmt.Errorf("deployment %s: %w", id, err)
			}
			ds = append(ds, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list active deployments: %w", err)
	}
	return ds, nil
}

// Events returns the deployment's events numbered after afterSeq, in order;
// afterSeq 0 returns the whole history.
func (s *Store) Events(id string, afterSeq int) ([]Event, error) {
	var evs []Event
	err := s.view(func(r roots) error {
		app, seq, err := lookupDeployment(r, id)
		if err != nil {
			return err
		}
		b := eventsBucket(r, app, seq)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(u64(uint64(max(afterSeq, 0)) + 1)); k != nil; k, v = c.Next() {
			var rec eventRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode event %x: %w; the state file is damaged, restore a backup", k, err)
			}
			evs = append(evs, Event(rec))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events of deployment %s: %w", id, err)
	}
	return evs, nil
}

func getDeployment(r roots, id string) (Deployment, error) {
	app, seq, err := lookupDeployment(r, id)
	if err != nil {
		return Deployment{}, err
	}
	var rec deploymentRecord
	ok, err := getJSON(r.deployments.Bucket([]byte(app)), u64(seq), &rec)
	if err != nil || !ok {
		return Deployment{}, damagedIndex(err)
	}
	return Deployment(rec), nil
}
