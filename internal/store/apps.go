package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// App is an application as the user declared it.
type App struct {
	Name      string
	Spec      []byte    // the spec as the user wrote it (YAML); the store never parses it
	UpdatedAt time.Time // when the spec last changed; stamped by the store if zero
}

type appRecord struct {
	Name      string    `json:"name"`
	Spec      []byte    `json:"spec"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PutApp creates the app or replaces its spec.
func (s *Store) PutApp(a App) error {
	if a.Name == "" {
		return errors.New("put app: empty name; every app needs a name")
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = s.now()
	}
	err := s.update(func(r roots) error {
		return putJSON(r.apps, []byte(a.Name), appRecord(a))
	})
	if err != nil {
		return fmt.Errorf("put app %q: %w", a.Name, err)
	}
	return nil
}

// GetApp returns the app called name, or an error wrapping ErrNotFound.
func (s *Store) GetApp(name string) (App, error) {
	var rec appRecord
	err := s.view(func(r roots) error {
		ok, err := getJSON(r.apps, []byte(name), &rec)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return App{}, fmt.Errorf("get app %q: %w", name, err)
	}
	return App(rec), nil
}

// ListApps returns every app, sorted by name.
func (s *Store) ListApps() ([]App, error) {
	var apps []App
	err := s.view(func(r roots) error {
		return r.apps.ForEach(func(k, v []byte) error {
			var rec appRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode app %q: %w; the state file is damaged, restore a backup", k, err)
			}
			apps = append(apps, App(rec))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	return apps, nil
}

// DeleteApp removes the app with its releases, deployments, events and
// instance records. It refuses, with an *ActiveError, while the app has a
// deployment in progress. It removes records only: stopping the app's
// instances is the caller's job, done before.
func (s *Store) DeleteApp(name string) error {
	err := s.update(func(r roots) error {
		key := []byte(name)
		if r.apps.Get(key) == nil {
			return ErrNotFound
		}
		if id := r.active.Get(key); id != nil {
			return &ActiveError{App: name, ID: string(id)}
		}
		if err := deleteDeploymentIDs(r, name); err != nil {
			return err
		}
		for _, b := range []*bolt.Bucket{r.releases, r.versions, r.deployments, r.events, r.runs} {
			if err := deleteSub(b, key); err != nil {
				return err
			}
		}
		ids, err := instanceIDs(r, name)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := r.instances.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return r.apps.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("delete app %q: %w", name, err)
	}
	return nil
}

// deleteDeploymentIDs drops the ID index entries of app's deployments.
func deleteDeploymentIDs(r roots, app string) error {
	deps := r.deployments.Bucket([]byte(app))
	if deps == nil {
		return nil
	}
	var ids []string
	err := deps.ForEach(func(k, v []byte) error {
		var rec deploymentRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode deployment %x of app %q: %w", k, app, err)
		}
		ids = append(ids, rec.ID)
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := r.deploymentIDs.Delete([]byte(id)); err != nil {
			return err
		}
	}
	return nil
}
