// Package store keeps cutover's durable records in one bbolt file: apps (their
// spec as the user wrote it), releases, deployments with their full event
// history, and instances. The deployment engine writes every decision here
// before acting on it, so after a crash at any point the file holds exactly
// the writes that returned nil and nothing half-done.
//
// The store owns the on-disk layout, the schema version and its migrations,
// and the few rules it must enforce atomically because no caller can:
// release versions are unique per app, an app has at most one deployment in
// progress, a deployment's events are numbered 1..n without gaps, a finished
// deployment is never modified again, and nothing outlives its app.
//
// It must not know deployment semantics. A deployment's state and its events
// are opaque JSON owned by the engine; the store reads only the one bit it
// enforces (terminal or not). It never parses a spec, starts or stops an
// instance, or talks to the router.
//
// Every method runs in a single bbolt transaction scoped by a closure, so a
// method either happens completely or not at all. A Store is safe for
// concurrent use; bbolt serialises writers and lets readers run alongside.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// lockTimeout bounds how long Open waits for another process to release the
// file; bbolt holds an exclusive flock for as long as a store is open.
const lockTimeout = time.Second

// The layout. Each kind of record has one top-level bucket; records that
// belong to an app live in a sub-bucket named after it, so deleting an app
// is one DeleteBucket per kind. Sequence numbers are 8-byte big-endian keys,
// so cursor order is numeric order.
//
//	meta/                      "schema" -> u64
//	apps/                      name -> appRecord
//	releases/<app>/            u64(number) -> releaseRecord
//	versions/<app>/            version -> u64(number)
//	deployments/<app>/         u64(seq) -> deploymentRecord
//	events/<app>/<u64(seq)>/   u64(n) -> eventRecord
//	deployment_ids/            id -> u64(seq) ++ app
//	active/                    app -> id of its non-terminal deployment
//	instances/                 id -> instanceRecord
const (
	bucketMeta          = "meta"
	bucketApps          = "apps"
	bucketReleases      = "releases"
	bucketVersions      = "versions"
	bucketDeployments   = "deployments"
	bucketEvents        = "events"
	bucketDeploymentIDs = "deployment_ids"
	bucketActive        = "active"
	bucketInstances     = "instances"
	bucketRuns          = "pipeline_runs"
)

// The error kinds callers branch on. Every error the store returns wraps at
// most one of them with the operation and its subject; test with errors.Is.
var (
	// ErrNotFound: the app, release, deployment or instance does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the name is taken (a release version, a deployment or
	// instance ID); records are immutable or unique, so pick another name.
	ErrConflict = errors.New("already exists")
	// ErrActiveDeployment: the app has a deployment in progress. The error is
	// an *ActiveError naming it.
	ErrActiveDeployment = errors.New("deployment in progress")
	// ErrTerminal: the deployment has finished and can no longer change.
	ErrTerminal = errors.New("deployment already finished")
)

// ActiveError says which deployment is in the way. errors.Is(err,
// ErrActiveDeployment) holds for it; errors.As recovers the ID.
type ActiveError struct {
	App string // the app
	ID  string // its deployment in progress
}

func (e *ActiveError) Error() string {
	return fmt.Sprintf("app %q already has deployment %s in progress; wait for it, or abort it with: cutover abort %s", e.App, e.ID, e.App)
}

// Is makes errors.Is(err, ErrActiveDeployment) true.
func (e *ActiveError) Is(target error) bool { return target == ErrActiveDeployment }

// Store is an open state file. Close it to release the file lock.
type Store struct {
	db   *bolt.DB
	path string
	now  func() time.Time // stamps records whose caller left the time zero
}

// Open opens the state file at path, creating it (mode 0600) and its
// directory (mode 0700) if missing, and brings its schema up to date. It
// waits at most a second for another process holding the file, then fails.
func Open(path string) (*Store, error) {
	return open(path, migrations())
}

func open(path string, ms []migration) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty path; pass the location of the state file")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: create its directory: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store %s is locked by another cutover process (waited %s); stop that process, or give this one a different state file: %w", path, lockTimeout, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("open store %s: %w; this is not a readable cutover state file, move it aside or restore a backup", path, err)
	case err != nil:
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// It holds secret env values: keep it private even if it was created or copied looser.
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: restrict it to its owner: %w", path, err)
	}
	s := &Store{db: db, path: path, now: time.Now}
	if err := s.migrate(ms); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the file. Closing twice is harmless.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// roots are the top-level buckets, opened once per transaction.
type roots struct {
	apps, releases, versions, deployments, events, deploymentIDs, active, instances, runs *bolt.Bucket
}

func openRoots(tx *bolt.Tx) (roots, error) {
	var r roots
	for _, b := range []struct {
		name string
		dst  **bolt.Bucket
	}{
		{bucketApps, &r.apps}, {bucketReleases, &r.releases}, {bucketVersions, &r.versions},
		{bucketDeployments, &r.deployments}, {bucketEvents, &r.events},
		{bucketDeploymentIDs, &r.deploymentIDs}, {bucketActive, &r.active}, {bucketInstances, &r.instances},
		{bucketRuns, &r.runs},
	} {
		if *b.dst = tx.Bucket([]byte(b.name)); *b.dst == nil {
			return roots{}, fmt.Errorf("bucket %q is missing; the state file is damaged, restore a backup", b.name)
		}
	}
	return r, nil
}

// view runs fn in a read-only transaction.
func (s *Store) view(fn func(r roots) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		r, err := openRoots(tx)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// update runs fn in a read-write transaction, committed (and fsynced) only
// if fn returns nil.
func (s *Store) update(fn func(r roots) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		r, err := openRoots(tx)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// appExists fails with ErrNotFound unless app has a record.
func (r roots) appExists(app string) error {
	if r.apps.Get([]byte(app)) == nil {
		return fmt.Errorf("app %q: %w", app, ErrNotFound)
	}
	return nil
}

// requireApp is appExists for writes: everything that belongs to an app
// checks, in the same transaction, that the app is there.
func (r roots) requireApp(app string) error {
	if err := r.appExists(app); err != nil {
		return fmt.Errorf("%w; create the app first", err)
	}
	return nil
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	return b.Put(key, buf)
}

// getJSON decodes the record at key into v, reporting false if there is none.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	if b == nil {
		return false, nil
	}
	buf := b.Get(key)
	if buf == nil {
		return false, nil
	}
	if err := json.Unmarshal(buf, v); err != nil {
		return false, fmt.Errorf("decode %q: %w; the state file is damaged, restore a backup", key, err)
	}
	return true, nil
}

// deleteSub removes the sub-bucket named key, if there is one.
func deleteSub(b *bolt.Bucket, key []byte) error {
	if err := b.DeleteBucket(key); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	return nil
}

// checkJSON refuses bytes that are not one JSON value; empty means absent.
func checkJSON(what string, raw json.RawMessage) error {
	if len(raw) > 0 && !json.Valid(raw) {
		return fmt.Errorf("%s is not valid JSON; marshal it with encoding/json", what)
	}
	return nil
}
