package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Release is an immutable version of an app.
type Release struct {
	App       string
	Number    int       // assigned by the store: 1, 2, 3... per app, in creation order
	Version   string    // the user's name for it, e.g. "v2"; unique per app
	Spec      []byte    // what the release was made from, opaque to the store
	CreatedAt time.Time // stamped by the store if zero
}

type releaseRecord struct {
	App       string    `json:"app"`
	Number    int       `json:"number"`
	Version   string    `json:"version"`
	Spec      []byte    `json:"spec"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateRelease records a new release of r.App and returns it with its
// Number. A version the app already has is refused with ErrConflict:
// releases are immutable, so a changed build needs a new version.
func (s *Store) CreateRelease(rel Release) (Release, error) {
	if rel.App == "" || rel.Version == "" {
		return Release{}, fmt.Errorf("create release %q of app %q: the app and the version must both be set", rel.Version, rel.App)
	}
	if rel.CreatedAt.IsZero() {
		rel.CreatedAt = s.now()
	}
	err := s.update(func(r roots) error {
		if err := r.requireApp(rel.App); err != nil {
			return err
		}
		app := []byte(rel.App)
		versions, err := r.versions.CreateBucketIfNotExists(app)
		if err != nil {
			return err
		}
		if n := versions.Get([]byte(rel.Version)); n != nil {
			return fmt.Errorf("%w as release #%d; releases are immutable, so give the new build another version", ErrConflict, binary.BigEndian.Uint64(n))
		}
		releases, err := r.releases.CreateBucketIfNotExists(app)
		if err != nil {
			return err
		}
		n, err := releases.NextSequence()
		if err != nil {
			return err
		}
		rel.Number = int(n)
		if err := putJSON(releases, u64(n), releaseRecord(rel)); err != nil {
			return err
		}
		return versions.Put([]byte(rel.Version), u64(n))
	})
	if err != nil {
		return Release{}, fmt.Errorf("create release %q of app %q: %w", rel.Version, rel.App, err)
	}
	return rel, nil
}

// GetRelease returns the app's release called version.
func (s *Store) GetRelease(app, version string) (Release, error) {
	var rec releaseRecord
	err := s.view(func(r roots) error {
		versions := r.versions.Bucket([]byte(app))
		if versions == nil {
			return ErrNotFound
		}
		n := versions.Get([]byte(version))
		if n == nil {
			return ErrNotFound
		}
		ok, err := getJSON(r.releases.Bucket([]byte(app)), n, &rec)
		if err == nil && !ok {
			err = errors.New("the version index points at a missing release; the state file is damaged, restore a backup")
		}
		return err
	})
	if err != nil {
		return Release{}, fmt.Errorf("get release %q of app %q: %w", version, app, err)
	}
	return Release(rec), nil
}

// ListReleases returns the app's releases, oldest (number 1) first.
func (s *Store) ListReleases(app string) ([]Release, error) {
	var rels []Release
	err := s.view(func(r roots) error {
		if err := r.appExists(app); err != nil {
			return err
		}
		releases := r.releases.Bucket([]byte(app))
		if releases == nil {
			return nil
		}
		return releases.ForEach(func(k, v []byte) error {
			var rec releaseRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode release %x: %w; the state file is damaged, restore a backup", k, err)
			}
			rels = append(rels, Release(rec))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list releases of app %q: %w", app, err)
	}
	return rels, nil
}
