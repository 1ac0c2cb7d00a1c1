package store

import (
	"encoding/binary"
	"fmt"
)

// Forgetting old history. The engine decides what an app no longer needs (it reads the
// deployments' states, which are opaque here); the store deletes it, refusing to delete what
// must stay: the deployment in progress.

// DeleteDeployments deletes app's deployments with these IDs, their events and their index
// entries, in one transaction. The deployment in progress is refused with an *ActiveError
// and nothing is deleted; an ID the app does not have is skipped.
func (s *Store) DeleteDeployments(app string, ids []string) error {
	err := s.update(func(r roots) error {
		if err := r.appExists(app); err != nil {
			return err
		}
		key := []byte(app)
		if active := r.active.Get(key); active != nil {
			for _, id := range ids {
				if id == string(active) {
					return &ActiveError{App: app, ID: id}
				}
			}
		}
		deps, perApp := r.deployments.Bucket(key), r.events.Bucket(key)
		for _, id := range ids {
			owner, seq, err := lookupDeployment(r, id)
			if err != nil || owner != app {
				continue
			}
			if deps != nil {
				if err := deps.Delete(u64(seq)); err != nil {
					return err
				}
			}
			if perApp != nil {
				if err := deleteSub(perApp, u64(seq)); err != nil {
					return err
				}
			}
			if err := r.deploymentIDs.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete deployments of app %q: %w", app, err)
	}
	return nil
}

// DeleteReleases deletes app's releases of these versions, in one transaction. A deleted
// release's version may be created again; a version the app does not have is skipped.
func (s *Store) DeleteReleases(app string, versions []string) error {
	err := s.update(func(r roots) error {
		if err := r.appExists(app); err != nil {
			return err
		}
		key := []byte(app)
		byVersion, releases := r.versions.Bucket(key), r.releases.Bucket(key)
		if byVersion == nil || releases == nil {
			return nil
		}
		for _, v := range versions {
			n := byVersion.Get([]byte(v))
			if n == nil {
				continue
			}
			if err := releases.Delete(u64(binary.BigEndian.Uint64(n))); err != nil {
				return err
			}
			if err := byVersion.Delete([]byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete releases of app %q: %w", app, err)
	}
	return nil
}
