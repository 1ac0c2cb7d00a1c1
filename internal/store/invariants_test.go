package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// newStore opens a store in a fresh temporary directory; see openStore.
func newStore(t testing.TB) *Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "state", "cutover.db"))
}

// openStore opens path for a test. On cleanup it closes the store, opens the
// file again and checks every invariant, so each test also proves that what
// it left on disk is consistent and reopens (the btesting pattern).
func openStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkFile(t, path)
	})
	return s
}

// checkFile opens path and fails the test if an invariant is broken.
func checkFile(t testing.TB, path string) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Errorf("reopen %s: %v", path, err)
		return
	}
	defer s.Close()
	if err := checkInvariants(s); err != nil {
		t.Errorf("invariants of %s:\n%v", path, err)
	}
}

// checkInvariants reads the raw layout and reports every broken rule:
// bbolt's own page consistency; every release, deployment, event history and
// instance belongs to an existing app; the indexes (versions, deployment IDs,
// active) agree with the records; at most one non-terminal deployment per
// app; every deployment's events are numbered 1..n without gaps.
func checkInvariants(s *Store) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			bad("bbolt: %v", err)
		}
		if v, err := readSchema(tx); err != nil || v != len(migrations()) {
			bad("schema = %d (%v), want %d", v, err, len(migrations()))
		}
		r, err := openRoots(tx)
		if err != nil {
			return err
		}
		apps := map[string]bool{}
		_ = r.apps.ForEach(func(k, v []byte) error {
			var rec appRecord
			if err := json.Unmarshal(v, &rec); err != nil || rec.Name != string(k) {
				bad("app %q: record %s (%v)", k, v, err)
			}
			apps[string(k)] = true
			return nil
		})
		forEachSub := func(kind string, b *bolt.Bucket, fn func(app string, sub *bolt.Bucket)) {
			_ = b.ForEach(func(k, v []byte) error {
				if v != nil || b.Bucket(k) == nil {
					bad("%s/%q: a value where an app's bucket belongs", kind, k)
				} else if !apps[string(k)] {
					bad("%s/%q: belongs to no app", kind, k)
				} else {
					fn(string(k), b.Bucket(k))
				}
				return nil
			})
		}
		checkReleases(r, forEachSub, bad)
		checkDeployments(r, forEachSub, bad)
		_ = r.instances.ForEach(func(k, v []byte) error {
			var rec instanceRecord
			if err := json.Unmarshal(v, &rec); err != nil || rec.ID != string(k) || !apps[rec.App] {
				bad("instance %q: record %s belongs to no app (%v)", k, v, err)
			}
			return nil
		})
		return nil
	})
	return errors.Join(append(errs, err)...)
}

type subWalker func(kind string, b *bolt.Bucket, fn func(app string, sub *bolt.Bucket))

func checkReleases(r roots, forEachSub subWalker, bad func(string, ...any)) {
	forEachSub("releases", r.releases, func(app string, b *bolt.Bucket) {
		_ = b.ForEach(func(k, v []byte) error {
			var rec releaseRecord
			if err := json.Unmarshal(v, &rec); err != nil || rec.App != app || uint64(rec.Number) != binary.BigEndian.Uint64(k) {
				bad("release %s/%x: record %s (%v)", app, k, v, err)
				return nil
			}
			if n := r.versions.Bucket([]byte(app)).Get([]byte(rec.Version)); n == nil || string(n) != string(k) {
				bad("release %s/%s: versions index says %x, want %x", app, rec.Version, n, k)
			}
			return nil
		})
	})
	forEachSub("versions", r.versions, func(app string, b *bolt.Bucket) {
		_ = b.ForEach(func(k, v []byte) error {
			if r.releases.Bucket([]byte(app)) == nil || r.releases.Bucket([]byte(app)).Get(v) == nil {
				bad("versions %s/%s: points at missing release %x", app, k, v)
			}
			return nil
		})
	})
}

func checkDeployments(r roots, forEachSub subWalker, bad func(string, ...any)) {
	ids := map[string]bool{}
	forEachSub("deployments", r.deployments, func(app string, b *bolt.Bucket) {
		var inProgress []string
		_ = b.ForEach(func(k, v []byte) error {
			var rec deploymentRecord
			if err := json.Unmarshal(v, &rec); err != nil || rec.App != app || uint64(rec.Seq) != binary.BigEndian.Uint64(k) {
				bad("deployment %s/%x: record %s (%v)", app, k, v, err)
				return nil
			}
			if ids[rec.ID] {
				bad("deployment %s: ID used twice", rec.ID)
			}
			ids[rec.ID] = true
			if gotApp, gotSeq, err := lookupDeployment(r, rec.ID); err != nil || gotApp != app || gotSeq != uint64(rec.Seq) {
				bad("deployment %s: ID index says %s/%d (%v)", rec.ID, gotApp, gotSeq, err)
			}
			if !rec.Terminal {
				inProgress = append(inProgress, rec.ID)
			}
			checkEventSeqs(rec.ID, eventsBucket(r, app, uint64(rec.Seq)), bad)
			return nil
		})
		active := string(r.active.Get([]byte(app)))
		switch {
		case len(inProgress) > 1:
			bad("app %s: %d deployments in progress: %v", app, len(inProgress), inProgress)
		case len(inProgress) == 1 && active != inProgress[0]:
			bad("app %s: %s is in progress but the active index says %q", app, inProgress[0], active)
		case len(inProgress) == 0 && active != "":
			bad("app %s: nothing in progress but the active index says %q", app, active)
		}
	})
	_ = r.active.ForEach(func(k, v []byte) error {
		if !ids[string(v)] {
			bad("active %s: points at missing deployment %s", k, v)
		}
		return nil
	})
	_ = r.deploymentIDs.ForEach(func(k, _ []byte) error {
		if !ids[string(k)] {
			bad("deployment ID index: %s has no record", k)
		}
		return nil
	})
	forEachSub("events", r.events, func(app string, b *bolt.Bucket) {
		_ = b.ForEach(func(k, _ []byte) error {
			if r.deployments.Bucket([]byte(app)) == nil || r.deployments.Bucket([]byte(app)).Get(k) == nil {
				bad("events %s/%x: no such deployment", app, k)
			}
			return nil
		})
	})
}

// checkEventSeqs requires keys and recorded numbers 1, 2, ... n.
func checkEventSeqs(id string, b *bolt.Bucket, bad func(string, ...any)) {
	if b == nil {
		return
	}
	want := uint64(1)
	_ = b.ForEach(func(k, v []byte) error {
		var rec eventRecord
		if err := json.Unmarshal(v, &rec); err != nil || len(k) != 8 || binary.BigEndian.Uint64(k) != want || uint64(rec.Seq) != want {
			bad("deployment %s: event key %x (seq %d) where %d belongs (%v)", id, k, rec.Seq, want, err)
		}
		want++
		return nil
	})
	if b.Sequence() != want-1 {
		bad("deployment %s: %d events but the sequence is at %d", id, want-1, b.Sequence())
	}
}

// The checker is only worth running on cleanup if it notices damage.
func TestInvariantCheckerCatchesDamage(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		damage func(r roots) error
		want   string
	}{
		{"gap in events", func(r roots) error {
			return eventsBucket(r, "web", 1).Delete(u64(2))
		}, "event key"},
		{"two in progress", func(r roots) error {
			return putJSON(r.deployments.Bucket([]byte("web")), u64(9), deploymentRecord{ID: "web-9", App: "web", Seq: 9})
		}, "2 deployments in progress"},
		{"orphans", func(r roots) error {
			return r.apps.Delete([]byte("web"))
		}, "belongs to no app"},
		{"stale active index", func(r roots) error {
			return r.active.Put([]byte("api"), []byte("api-7"))
		}, "points at missing deployment api-7"},
		{"version index drift", func(r roots) error {
			return r.versions.Bucket([]byte("web")).Put([]byte("v1"), u64(5))
		}, "versions index says"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			s, err := Open(filepath.Join(t.TempDir(), "cutover.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			mustPutApp(t, s, "web")
			mustPutApp(t, s, "api")
			if _, err := s.CreateRelease(Release{App: "web", Version: "v1"}); err != nil {
				t.Fatal(err)
			}
			e := Event{Data: json.RawMessage(`{}`)}
			if _, err := s.CreateDeployment(Deployment{App: "web"}, e, e, e); err != nil {
				t.Fatal(err)
			}
			if err := s.PutInstance(Instance{ID: "i1", App: "web"}); err != nil {
				t.Fatal(err)
			}
			if err := checkInvariants(s); err != nil {
				t.Fatalf("healthy store: %v", err)
			}
			if err := s.update(tc.damage); err != nil {
				t.Fatal(err)
			}
			err = checkInvariants(s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkInvariants = %v, want it to report %q", err, tc.want)
			}
		})
	}
}
