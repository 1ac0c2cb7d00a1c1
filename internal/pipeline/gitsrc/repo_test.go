package gitsrc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain insists on the real git: these tests are about how cutover drives it.
func TestMain(m *testing.M) {
	if _, err := exec.LookPath("git"); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the gitsrc tests run the git CLI, and git is not on PATH (apt-get install git): %v\n", err)
		os.Exit(1)
	}
	// Neither the tests' git nor the Source's reads the config of whoever runs them.
	if err := os.Setenv("GIT_CONFIG_GLOBAL", os.DevNull); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// epoch is the committer time of a test repository's first commit; each next one is a minute on.
var epoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// testRepo is a repository the test commits to, on branch main.
type testRepo struct {
	t       *testing.T
	dir     string
	commits int
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: filepath.Join(t.TempDir(), "repo")}
	r.git("init", "--quiet", "--initial-branch=main", r.dir)
	return r
}

// git runs git in the repository as a known author, with no config of the machine's.
func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	when := fmt.Sprintf("@%d +0000", epoch.Add(time.Duration(r.commits)*time.Minute).Unix())
	cmd := exec.Command("git", args...)
	if _, err := os.Stat(r.dir); err == nil {
		cmd.Dir = r.dir
	}
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Ada Lovelace", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_AUTHOR_DATE="+when,
		"GIT_COMMITTER_NAME=Build Bot", "GIT_COMMITTER_EMAIL=bot@example.com", "GIT_COMMITTER_DATE="+when,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// write writes a file of the work tree, with its directories.
func (r *testRepo) write(name, content string, mode os.FileMode) {
	r.t.Helper()
	path := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		r.t.Fatal(err)
	}
}

func (r *testRepo) remove(name string) {
	r.t.Helper()
	if err := os.Remove(filepath.Join(r.dir, name)); err != nil {
		r.t.Fatal(err)
	}
}

// commit commits everything in the work tree and returns the commit's SHA.
func (r *testRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "--all")
	r.git("commit", "--quiet", "--no-gpg-sign", "-m", msg)
	r.commits++
	return r.git("rev-parse", "HEAD")
}

// source is a Source of the repository's main branch with a mirror of its own.
func (r *testRepo) source() *Source {
	r.t.Helper()
	s, err := New(r.dir, "main", filepath.Join(r.t.TempDir(), "cache", "mirror.git"))
	if err != nil {
		r.t.Fatalf("New(%s, main): %v", r.dir, err)
	}
	return s
}

// files lists the files under dir (slash-separated, relative) with their contents.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	return got
}
