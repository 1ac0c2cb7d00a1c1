package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Head fetches the branch and returns its head commit.
func (s *Source) Head(ctx context.Context) (Commit, error) {
	if err := s.lock(ctx); err != nil {
		return Commit{}, fmt.Errorf("fetch %s from %s: %w", s.branch, s.repo, err)
	}
	defer s.unlock()
	if err := s.fetch(ctx); err != nil {
		return Commit{}, err
	}
	sha, err := s.revParse(ctx, "refs/heads/"+s.branch)
	if err != nil {
		return Commit{}, fmt.Errorf("head of %s in the mirror %s: %w", s.branch, s.mirror, err)
	}
	return s.commit(ctx, sha)
}

// Resolve fetches the branch and returns the commit rev names: its full SHA, or an
// abbreviation of at least 7 hex digits naming exactly one commit. Any commit the mirror holds
// counts, so one a force push removed from the branch still resolves. Names that are not hex
// (HEAD~1, a tag, a branch) are refused with ErrBadRevision.
func (s *Source) Resolve(ctx context.Context, rev string) (Commit, error) {
	hex, err := checkRev(rev)
	if err != nil {
		return Commit{}, err
	}
	if err := s.lock(ctx); err != nil {
		return Commit{}, fmt.Errorf("resolve %s: %w", rev, err)
	}
	defer s.unlock()
	if err := s.fetch(ctx); err != nil {
		return Commit{}, err
	}
	sha, err := s.find(ctx, hex)
	if err != nil {
		return Commit{}, err
	}
	return s.commit(ctx, sha)
}

// checkRev returns rev in lower case when it is 7 to 40 hex digits.
func checkRev(rev string) (string, error) {
	hex := strings.ToLower(rev)
	if len(hex) < 7 || len(hex) > 40 || !isHex(hex) {
		return "", fmt.Errorf("%w: %q; give 7 to 40 hex digits of a commit's SHA (names such as HEAD~1, tags and branches are not taken)", ErrBadRevision, rev)
	}
	return hex, nil
}

func (s *Source) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (s *Source) unlock() { <-s.sem }

// git runs a git command on the mirror.
func (s *Source) git(ctx context.Context, args ...string) ([]byte, error) {
	return run(ctx, "", nil, append([]string{"--git-dir=" + s.mirror}, args...)...)
}

// fetch brings the branch from the repository into the mirror.
func (s *Source) fetch(ctx context.Context) error {
	if err := s.open(ctx); err != nil {
		return err
	}
	ref := "refs/heads/" + s.branch
	_, err := s.git(ctx, "fetch", "--prune", "--no-tags", "--quiet", "--", "origin", "+"+ref+":"+ref)
	var ge *gitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ge) && strings.Contains(ge.stderr, "couldn't find remote ref"):
		return fmt.Errorf("fetch %s from %s: %w: the repository has no branch %q; push it, or check pipeline.source.branch", s.branch, s.repo, ErrBranchNotFound, s.branch)
	case ge != nil:
		return fmt.Errorf("fetch %s from %s: %w; check pipeline.source.repo, and that the server's user can fetch it with its own git and ssh config", s.branch, s.repo, err)
	default:
		return fmt.Errorf("fetch %s from %s: %w", s.branch, s.repo, err)
	}
}

// open makes sure the mirror exists and fetches from the Source's repository.
func (s *Source) open(ctx context.Context) error {
	if s.ready && isGitDir(s.mirror) {
		return nil
	}
	entries, err := os.ReadDir(s.mirror)
	switch {
	case errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0:
		if err := s.create(ctx); err != nil {
			return fmt.Errorf("create the mirror %s of %s: %w", s.mirror, s.repo, err)
		}
	case err != nil:
		return fmt.Errorf("open the mirror %s of %s: %w", s.mirror, s.repo, err)
	case !isGitDir(s.mirror):
		return fmt.Errorf("open the mirror %s of %s: the directory holds something other than a git mirror; remove it or give the pipeline a cache directory of its own", s.mirror, s.repo)
	default:
		// An existing mirror, perhaps of an earlier repository of the pipeline.
		if _, err := s.git(ctx, "config", "remote.origin.url", s.remote); err != nil {
			return fmt.Errorf("open the mirror %s of %s: %w", s.mirror, s.repo, err)
		}
	}
	s.ready = true
	return nil
}

// create makes the bare mirror: set up beside it, then renamed into place, so an interrupted
// start leaves no half-made mirror where one is looked for.
func (s *Source) create(ctx context.Context) error {
	parent, base := filepath.Split(s.mirror)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".init-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone by the rename unless something failed
	if _, err := run(ctx, "", nil, "init", "--bare", "--quiet", "--", tmp); err != nil {
		return err
	}
	if _, err := run(ctx, "", nil, "--git-dir="+tmp, "config", "remote.origin.url", s.remote); err != nil {
		return err
	}
	if err := os.Remove(s.mirror); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err // an empty directory, removed to be replaced
	}
	return os.Rename(tmp, s.mirror)
}

// isGitDir says whether dir looks like a git directory.
func isGitDir(dir string) bool {
	head, err1 := os.Stat(filepath.Join(dir, "HEAD"))
	objects, err2 := os.Stat(filepath.Join(dir, "objects"))
	return err1 == nil && err2 == nil && head.Mode().IsRegular() && objects.IsDir()
}

// revParse returns the full SHA of the commit rev names in the mirror.
func (s *Source) revParse(ctx context.Context, rev string) (string, error) {
	out, err := s.git(ctx, "rev-parse", "--verify", rev+"^{commit}")
	if err != nil {
		return "", err
	}
	sha := strings.TrimSpace(string(out))
	if !isSHA1(sha) {
		return "", fmt.Errorf("git rev-parse gave %q, not a SHA-1 (SHA-256 repositories are not supported)", sha)
	}
	return sha, nil
}

// find returns the full SHA of the commit of the mirror whose SHA starts with hex.
func (s *Source) find(ctx context.Context, hex string) (string, error) {
	sha, err := s.revParse(ctx, hex)
	var ge *gitError
	switch {
	case errors.As(err, &ge) && strings.Contains(ge.stderr, "ambiguous"):
		return "", fmt.Errorf("%w: %s names more than one object in %s; give more of its hex digits", ErrBadRevision, hex, s.repo)
	case ge != nil:
		return "", fmt.Errorf("%w: no commit %s in %s (branch %s fetched); check the SHA", ErrUnknownCommit, hex, s.repo, s.branch)
	case err != nil:
		return "", fmt.Errorf("look up %s in the mirror %s: %w", hex, s.mirror, err)
	case !strings.HasPrefix(sha, hex):
		// git read hex as a ref's name before a SHA: a branch named like a SHA.
		return "", fmt.Errorf("%w: %s names the ref %s, not a commit, in %s; give the full SHA", ErrBadRevision, hex, sha, s.repo)
	}
	return sha, nil
}

func isSHA1(s string) bool { return len(s) == 40 && isHex(s) }

// isHex says whether s is all lower-case hex digits.
func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// commit reads the commit sha of the mirror.
func (s *Source) commit(ctx context.Context, sha string) (Commit, error) {
	out, err := s.git(ctx, "log", "-1", "--no-show-signature", "--no-color",
		"--format=%H%x00%an%x00%ae%x00%ct%x00%s", sha, "--")
	if err != nil {
		return Commit{}, fmt.Errorf("read commit %s in the mirror %s: %w", sha, s.mirror, err)
	}
	f := strings.Split(strings.TrimSuffix(string(out), "\n"), "\x00")
	if len(f) != 5 || f[0] != sha {
		return Commit{}, fmt.Errorf("read commit %s in the mirror %s: git log gave %q", sha, s.mirror, out)
	}
	ct, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return Commit{}, fmt.Errorf("read commit %s in the mirror %s: committer time %q: %w", sha, s.mirror, f[3], err)
	}
	return Commit{SHA: sha, Short: sha[:12], Author: f[1], Email: f[2], Subject: f[4], Time: time.Unix(ct, 0).UTC()}, nil
}
