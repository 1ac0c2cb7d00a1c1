package gitsrc

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckoutIsExactlyTheCommit(t *testing.T) {
	r := newRepo(t)
	r.write("app.txt", "v1\n", 0o644)
	r.write("lib/util.txt", "util\n", 0o644)
	r.write("gone.txt", "only in the first commit\n", 0o644)
	r.write("run.sh", "#!/bin/sh\n", 0o755)
	first := r.commit("one")
	r.write("app.txt", "v2\n", 0o644)
	r.remove("gone.txt")
	second := r.commit("two")
	s := r.source()
	if _, err := s.Head(context.Background()); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "build", "checkout")
	// Leftovers of an earlier build, one behind a read-only directory.
	if err := os.MkdirAll(filepath.Join(dir, "cache", "ro"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, junk := range []string{"junk.txt", "cache/ro/junk.txt"} {
		if err := os.WriteFile(filepath.Join(dir, junk), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "cache", "ro"), 0o555); err != nil {
		t.Fatal(err)
	}

	if err := s.Checkout(context.Background(), second, dir); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"app.txt": "v2\n", "lib/util.txt": "util\n", "run.sh": "#!/bin/sh\n"}
	if got := files(t, dir); !maps.Equal(got, want) {
		t.Errorf("checkout of the second commit holds %v; want exactly %v (no junk, no gone.txt, no .git)", got, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh: %v, %v; want it executable as committed", fi, err)
	}

	if err := s.Checkout(context.Background(), first[:7], dir); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"app.txt": "v1\n", "lib/util.txt": "util\n", "gone.txt": "only in the first commit\n", "run.sh": "#!/bin/sh\n"}
	if got := files(t, dir); !maps.Equal(got, want) {
		t.Errorf("checkout of the first commit holds %v; want exactly %v", got, want)
	}
}

func TestCheckoutFetchesAMissingCommit(t *testing.T) {
	r := newRepo(t)
	r.write("a", "1", 0o644)
	sha := r.commit("one")
	dir := t.TempDir()
	// A fresh cache (a wiped one, a new server): no Head or Resolve came first.
	if err := r.source().Checkout(context.Background(), sha, dir); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); !maps.Equal(got, map[string]string{"a": "1"}) {
		t.Errorf("checkout holds %v; want a", got)
	}
}

func TestCheckoutRefuses(t *testing.T) {
	r := newRepo(t)
	r.write("a", "1", 0o644)
	sha := r.commit("one")
	s := r.source()
	if _, err := s.Head(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", "/", s.mirror, filepath.Dir(s.mirror), filepath.Join(s.mirror, "objects"), r.dir, filepath.Dir(r.dir)} {
		if err := s.Checkout(context.Background(), sha, dir); err == nil {
			t.Errorf("Checkout into %q succeeded; want it refused", dir)
		}
	}
	if _, err := s.Head(context.Background()); err != nil {
		t.Errorf("the mirror broke after refused checkouts: %v", err)
	}
	if got := files(t, r.dir); got["a"] != "1" {
		t.Errorf("the repository's work tree lost its file: %v", got)
	}

	dir := t.TempDir()
	if err := s.Checkout(context.Background(), "HEAD", dir); err == nil || !strings.Contains(err.Error(), "hex") {
		t.Errorf("Checkout(HEAD) = %v; want a refusal asking for hex", err)
	}
	if err := s.Checkout(context.Background(), strings.Repeat("f", 40), dir); err == nil {
		t.Error("Checkout of an unknown commit succeeded")
	}
}
