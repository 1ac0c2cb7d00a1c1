package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Checkout writes the tree of commit sha (full, or an abbreviation Resolve takes) into dir,
// which it removes and recreates first: a clean checkout, with no .git directory and nothing
// left from before. It fetches only when the mirror lacks the commit (a cache wiped since
// Resolve). A checkout that fails part way is removed, so nothing half written is built.
func (s *Source) Checkout(ctx context.Context, sha, dir string) error {
	hex, err := checkRev(sha)
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	dir, err = s.checkDir(dir)
	if err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("checkout %s: %w", sha, err)
	}
	defer s.unlock()
	if err := s.open(ctx); err != nil {
		return err
	}
	full, err := s.find(ctx, hex)
	if errors.Is(err, ErrUnknownCommit) {
		if ferr := s.fetch(ctx); ferr != nil {
			return fmt.Errorf("checkout %s: the mirror lacks it, and %w", hex, ferr)
		}
		full, err = s.find(ctx, hex)
	}
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	if err := s.writeTree(ctx, full, dir); err != nil {
		_ = removeAll(dir)
		return fmt.Errorf("checkout %s into %s: %w", full[:12], dir, err)
	}
	return nil
}

// writeTree empties dir and writes the files of commit sha into it, through an index of its
// own: read-tree then checkout-index, plumbing that runs no hook and needs no tar.
func (s *Source) writeTree(ctx context.Context, sha, dir string) error {
	if err := removeAll(dir); err != nil {
		return fmt.Errorf("clear the directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "gitsrc-index-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	if _, err := run(ctx, "", env, "--git-dir="+s.mirror, "read-tree", "--", sha); err != nil {
		return err
	}
	_, err = run(ctx, dir, env, "--git-dir="+s.mirror, "--work-tree="+dir, "checkout-index", "--all", "--force")
	return err
}

// checkDir returns dir made absolute, refusing one whose removal would take the root, the
// mirror or a local repository with it, or that lies inside either.
func (s *Source) checkDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("checkout: no directory to write the checkout into")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("checkout into %s: %w", dir, err)
	}
	if filepath.Dir(abs) == abs {
		return "", fmt.Errorf("checkout into %s: refusing to empty the root directory; give a directory of its own", abs)
	}
	for _, keep := range []string{s.mirror, localPath(s.remote)} {
		if keep != "" && (within(abs, keep) || within(keep, abs)) {
			return "", fmt.Errorf("checkout into %s: it overlaps %s, which a checkout must not remove; give a directory of its own", abs, keep)
		}
	}
	return abs, nil
}

// localPath is the directory of a repository on this machine (a path or file:// URL), "" for
// a remote one.
func localPath(remote string) string {
	if filepath.IsAbs(remote) {
		return filepath.Clean(remote)
	}
	if u, err := url.Parse(remote); err == nil && u.Scheme == "file" && filepath.IsAbs(u.Path) {
		return filepath.Clean(u.Path)
	}
	return ""
}

// within says whether path is dir or lies under it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// removeAll removes dir like os.RemoveAll, first making its directories writable when
// something (a build's read-only module cache) left some that are not.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
