package store

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenCreatesPrivateFileAndDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "cutover.db")
	s := openStore(t, path)
	_ = s

	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
	if v := schemaOf(t, s); v != len(migrations()) {
		t.Errorf("schema = %d, want %d", v, len(migrations()))
	}
}

func TestOpenRefusesEmptyPathAndGarbage(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	path := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a readable cutover state file") {
		t.Errorf("Open(garbage) = %v, want an error naming the file and what it is not", err)
	}
}

func TestSecondOpenIsRefusedQuickly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cutover.db")
	openStore(t, path)

	start := time.Now()
	s2, err := Open(path)
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a locked store succeeded")
	}
	want := "store " + path + " is locked by another cutover process"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
	if elapsed < 500*time.Millisecond || elapsed > 2500*time.Millisecond {
		t.Errorf("second Open gave up after %v, want about 1s", elapsed)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cutover.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustPutApp(t, s, "web")
	d, err := s.CreateDeployment(Deployment{App: "web"}, Event{Data: []byte(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	s = openStore(t, path)
	if _, err := s.GetApp("web"); err != nil {
		t.Error(err)
	}
	if evs, err := s.Events(d.ID, 0); err != nil || len(evs) != 1 {
		t.Errorf("Events after reopen = %v, %v; want one", evs, err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cutover.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return writeSchema(tx, 3) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(path)
	if err == nil {
		t.Fatal("Open of a schema 3 file succeeded")
	}
	for _, want := range []string{path, "schema version 3", "only up to 2", "upgrade cutover"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// A file from before versions were recorded: buckets, no meta.
func TestUnversionedFileMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cutover.db")
	rawBolt(t, path, func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte(bucketApps))
		return err
	})
	s := openStore(t, path)
	if v := schemaOf(t, s); v != len(migrations()) {
		t.Errorf("schema = %d, want %d", v, len(migrations()))
	}
	mustPutApp(t, s, "web")
}

// The mechanism with a layout change: a v0 file kept app specs as raw bytes
// in "apps_v0"; the v0->v1 step rewrites them as records.
func TestMigrationRewritesV0AndReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cutover.db")
	rawBolt(t, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("apps_v0"))
		if err != nil {
			return err
		}
		return b.Put([]byte("web"), []byte("image: nginx\n"))
	})
	fake := []migration{{to: 1, name: "records from apps_v0", apply: func(tx *bolt.Tx) error {
		if err := createBuckets(tx); err != nil {
			return err
		}
		if err := createRunsBucket(tx); err != nil {
			return err
		}
		r, err := openRoots(tx)
		if err != nil {
			return err
		}
		old := tx.Bucket([]byte("apps_v0"))
		if err := old.ForEach(func(k, v []byte) error {
			return putJSON(r.apps, k, appRecord{Name: string(k), Spec: v, UpdatedAt: time.Unix(0, 0).UTC()})
		}); err != nil {
			return err
		}
		return tx.DeleteBucket([]byte("apps_v0"))
	}}}

	s, err := open(path, fake)
	if err != nil {
		t.Fatal(err)
	}
	if v := schemaOf(t, s); v != len(fake) {
		t.Errorf("schema = %d, want %d", v, len(fake))
	}
	s.Close()

	s = openStore(t, path) // the real migrations: nothing left to do
	a, err := s.GetApp("web")
	if err != nil || string(a.Spec) != "image: nginx\n" {
		t.Errorf("GetApp after migration = %+v, %v", a, err)
	}
	_ = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("apps_v0")) != nil {
			t.Error("apps_v0 survived the migration")
		}
		return nil
	})
}

func TestFailedMigrationLeavesFileUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cutover.db")
	failing := []migration{{to: 1, name: "doomed", apply: func(tx *bolt.Tx) error {
		if err := createBuckets(tx); err != nil {
			return err
		}
		return errors.New("disk says no")
	}}}
	_, err := open(path, failing)
	if err == nil || !strings.Contains(err.Error(), "disk says no") || !strings.Contains(err.Error(), "left at schema 0") {
		t.Fatalf("open = %v, want the migration's error and the version it left", err)
	}
	rawBolt(t, path, func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(bucketApps)) != nil || tx.Bucket([]byte(bucketMeta)) != nil {
			t.Error("a failed migration left buckets behind")
		}
		return nil
	})

	misnumbered := []migration{{to: 2, name: "skips one", apply: createBuckets}}
	if _, err := open(path, misnumbered); err == nil || !strings.Contains(err.Error(), "bug in cutover") {
		t.Errorf("open with misnumbered migrations = %v", err)
	}
}

// The package keeps no mutable state of its own: the only package-level
// variables are the error sentinels.
func TestNoPackageLevelVariables(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, id := range spec.(*ast.ValueSpec).Names {
					if !strings.HasPrefix(id.Name, "Err") {
						t.Errorf("%s: package-level variable %s; keep state in the Store", fset.Position(id.Pos()), id.Name)
					}
				}
			}
		}
	}
}

// rawBolt runs fn in a write transaction on path as plain bbolt.
func rawBolt(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func schemaOf(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = readSchema(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustPutApp(t testing.TB, s *Store, name string) {
	t.Helper()
	if err := s.PutApp(App{Name: name, Spec: []byte("name: " + name + "\n")}); err != nil {
		t.Fatal(err)
	}
}
