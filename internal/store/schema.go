package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// schemaKey holds the layout version in the meta bucket. A file without it is
// version 0: either brand new, or written before versions were recorded.
const schemaKey = "schema"

// A migration upgrades a file from version to-1 to version to. It runs in one
// write transaction together with recording the new version, so a crash or an
// error leaves the file at the old version or the new one, never between.
// Migrations must be idempotent over partial states that earlier builds may
// have left, which in practice means CreateBucketIfNotExists, never CreateBucket.
type migration struct {
	to    int
	name  string
	apply func(tx *bolt.Tx) error
}

// migrations lists every step from version 0 to the version this build
// writes, which is len(migrations()). To change the layout, append a step;
// never edit one that has shipped. It is a function, not a variable, so
// nothing can change the list at run time and tests can pass their own to open.
func migrations() []migration {
	return []migration{
		{to: 1, name: "create the buckets", apply: createBuckets},
		{to: 2, name: "create the pipeline runs bucket", apply: createRunsBucket},
	}
}

func createRunsBucket(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists([]byte(bucketRuns)); err != nil {
		return fmt.Errorf("create bucket %q: %w", bucketRuns, err)
	}
	return nil
}

func createBuckets(tx *bolt.Tx) error {
	for _, name := range []string{
		bucketMeta, bucketApps, bucketReleases, bucketVersions, bucketDeployments,
		bucketEvents, bucketDeploymentIDs, bucketActive, bucketInstances,
	} {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %q: %w", name, err)
		}
	}
	return nil
}

// migrate brings the file to len(ms), one step per transaction, and refuses
// a file written by a newer build rather than guess at its layout.
func (s *Store) migrate(ms []migration) error {
	for i, m := range ms {
		if m.to != i+1 {
			return fmt.Errorf("open store %s: migration %d (%s) is numbered %d; migrations must run 1, 2, 3... (this is a bug in cutover)", s.path, i, m.name, m.to)
		}
	}
	target := len(ms)
	var current int
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		current, err = readSchema(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	if current > target {
		return fmt.Errorf("open store %s: it has schema version %d, but this cutover understands only up to %d; upgrade cutover, or restore a backup written by this version", s.path, current, target)
	}
	for _, m := range ms[current:] {
		err := s.db.Update(func(tx *bolt.Tx) error {
			if err := m.apply(tx); err != nil {
				return err
			}
			return writeSchema(tx, m.to)
		})
		if err != nil {
			return fmt.Errorf("open store %s: migrate schema %d to %d (%s): %w; the file was left at schema %d, restore a backup or report this", s.path, m.to-1, m.to, m.name, err, m.to-1)
		}
	}
	return nil
}

func readSchema(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket([]byte(bucketMeta))
	if meta == nil {
		return 0, nil
	}
	v := meta.Get([]byte(schemaKey))
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, errors.New("the schema version is unreadable; the state file is damaged, restore a backup")
	}
	n := binary.BigEndian.Uint64(v)
	if n > 1<<31 {
		return 0, fmt.Errorf("the schema version %d is implausible; the state file is damaged, restore a backup", n)
	}
	return int(n), nil
}

func writeSchema(tx *bolt.Tx, version int) error {
	meta, err := tx.CreateBucketIfNotExists([]byte(bucketMeta))
	if err != nil {
		return err
	}
	return meta.Put([]byte(schemaKey), u64(uint64(version)))
}
