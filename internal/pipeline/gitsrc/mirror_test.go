package gitsrc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestHeadAfterOneCommit(t *testing.T) {
	r := newRepo(t)
	r.write("README", "hello\n", 0o644)
	sha := r.commit("First line\n\nThe body, which is not the subject.")

	c, err := r.source().Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Commit{SHA: sha, Short: sha[:12], Author: "Ada Lovelace", Email: "ada@example.com", Subject: "First line", Time: epoch}
	if c != want {
		t.Errorf("Head = %+v\nwant   %+v", c, want)
	}
}

func TestHeadMovesWithTheBranch(t *testing.T) {
	r := newRepo(t)
	r.write("a", "1", 0o644)
	first := r.commit("one")
	s := r.source()
	if c, err := s.Head(context.Background()); err != nil || c.SHA != first {
		t.Fatalf("Head = %s, %v; want %s", c.SHA, err, first)
	}
	r.write("a", "2", 0o644)
	second := r.commit("two")
	c, err := s.Head(context.Background())
	if err != nil || c.SHA != second || c.Subject != "two" || !c.Time.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("Head after a second commit = %+v, %v; want %s, subject two, a minute later", c, err, second)
	}

	// A Source made later (a restarted server) reuses the mirror on disk.
	again, err := New(r.dir, "main", s.mirror)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := again.Head(context.Background()); err != nil || c.SHA != second {
		t.Fatalf("Head through the existing mirror = %s, %v; want %s", c.SHA, err, second)
	}
}

func TestResolve(t *testing.T) {
	r := newRepo(t)
	r.write("a", "1", 0o644)
	first := r.commit("one")
	s := r.source()
	if _, err := s.Head(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.write("a", "2", 0o644)
	second := r.commit("two") // only in the repository: Resolve must fetch to know it

	for _, tc := range []struct{ rev, want string }{
		{second[:7], second},
		{first, first},
		{strings.ToUpper(first[:10]), first},
	} {
		c, err := s.Resolve(context.Background(), tc.rev)
		if err != nil || c.SHA != tc.want {
			t.Errorf("Resolve(%s) = %s, %v; want %s", tc.rev, c.SHA, err, tc.want)
		}
	}

	unknown := strings.Repeat("0", 40)
	if _, err := s.Resolve(context.Background(), unknown); !errors.Is(err, ErrUnknownCommit) || !strings.Contains(err.Error(), unknown) {
		t.Errorf("Resolve(unknown) = %v; want ErrUnknownCommit naming it", err)
	}
	for _, rev := range []string{"HEAD~1", "-x", "main", "abc123", first + "0", "HEAD", ""} {
		if _, err := s.Resolve(context.Background(), rev); !errors.Is(err, ErrBadRevision) {
			t.Errorf("Resolve(%q) = %v; want ErrBadRevision", rev, err)
		}
	}
}

func TestWrongRepoIsNamed(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-repo")
	s, err := New(missing, "main", filepath.Join(t.TempDir(), "mirror"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Head(context.Background())
	if err == nil {
		t.Fatal("Head of a missing repository succeeded")
	}
	for _, want := range []string{"fetch main from " + missing, "does not appear to be a git repository", "check pipeline.source.repo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "Please make sure") {
		t.Errorf("error %q keeps git's boilerplate", err)
	}
}

func TestMissingBranchIsNamed(t *testing.T) {
	r := newRepo(t)
	r.write("a", "1", 0o644)
	r.commit("one")
	s, err := New(r.dir, "release", filepath.Join(t.TempDir(), "mirror"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Head(context.Background())
	if !errors.Is(err, ErrBranchNotFound) || !strings.Contains(err.Error(), `"release"`) {
		t.Fatalf("Head of a missing branch = %v; want ErrBranchNotFound naming release", err)
	}
}

func TestFileURL(t *testing.T) {
	r := newRepo(t)
	r.write("a", "1", 0o644)
	sha := r.commit("one")
	s, err := New("file://"+r.dir, "main", filepath.Join(t.TempDir(), "mirror"))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.Head(context.Background()); err != nil || c.SHA != sha {
		t.Fatalf("Head over file:// = %s, %v; want %s", c.SHA, err, sha)
	}
}

func TestCanceledContextStopsHead(t *testing.T) {
	r := newRepo(t)
	r.write("a", "1", 0o644)
	r.commit("one")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.source().Head(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Head with a canceled context = %v; want context.Canceled", err)
	}

	// A fetch that hangs (an ssh that never answers) ends when its context does, ssh and all:
	// were ssh left running with git's stderr, Head would wait out waitDelay.
	tmp := t.TempDir()
	ssh, pidFile := filepath.Join(tmp, "hanging-ssh"), filepath.Join(tmp, "ssh.pid")
	script := "#!/bin/sh\necho $$ >" + pidFile + "\nexec sleep 30\n"
	if err := os.WriteFile(ssh, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_SSH_COMMAND", ssh)
	t.Setenv("GIT_SSH_VARIANT", "ssh") // no probe: git runs the script as its ssh at once
	s, err := New("ssh://git.example.invalid/shop/web.git", "main", filepath.Join(t.TempDir(), "mirror"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Head(ctx)
	if took := time.Since(start); took > waitDelay-500*time.Millisecond {
		t.Errorf("Head took %s after its context ended; git or ssh outlived it", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "fetch main from ssh://") {
		t.Errorf("Head of a hanging fetch = %v; want the deadline, naming the fetch", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("git never ran the ssh command: %v", err)
	}
	pid := strings.TrimSpace(string(b))
	for deadline := time.Now().Add(time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(atoi(t, pid), syscall.SIGKILL)
			t.Fatalf("the ssh command (pid %s) outlived the canceled Head", pid)
		}
	}
}

// alive says whether process pid runs (a zombie, killed but not reaped, does not count).
func alive(pid string) bool {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z") && !strings.HasPrefix(after, "X")
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConcurrentCallsShareTheMirror(t *testing.T) {
	r := newRepo(t)
	r.write("a", "1", 0o644)
	sha := r.commit("one")
	s := r.source()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			c, err := s.Head(context.Background())
			if err == nil && c.SHA != sha {
				err = errors.New("head " + c.SHA)
			}
			errs <- err
		})
		wg.Go(func() { errs <- s.Checkout(context.Background(), sha, t.TempDir()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestReasonKeepsTheCause(t *testing.T) {
	stderr := "hint: something\ngit@host: Permission denied (publickey).\r\nfatal: Could not read from remote repository.\n\n" +
		"Please make sure you have the correct access rights\nand the repository exists.\n"
	if got, want := reason(stderr), "git@host: Permission denied (publickey)."; got != want {
		t.Errorf("reason = %q; want %q", got, want)
	}
	if got := reason("a\nb\nc\nd\n"); got != "b; c; d" {
		t.Errorf("reason keeps %q; want the last three lines", got)
	}
}
