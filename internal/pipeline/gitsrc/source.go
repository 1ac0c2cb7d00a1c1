package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// Errors that callers tell apart; the errors of Head, Resolve and Checkout wrap them.
var (
	// ErrBranchNotFound: the repository has no such branch.
	ErrBranchNotFound = errors.New("branch not found")
	// ErrUnknownCommit: no commit of the mirror has that SHA, even after a fetch.
	ErrUnknownCommit = errors.New("unknown commit")
	// ErrBadRevision: the revision is not 7 to 40 hex digits, or names more than one commit.
	ErrBadRevision = errors.New("not a commit SHA")
)

// Commit is one commit of the source.
type Commit struct {
	SHA     string    // 40 hex
	Short   string    // the first 12 hex of SHA: the release version a pipeline gives it
	Author  string    // author name
	Email   string    // author email
	Subject string    // first line of the message
	Time    time.Time // committer time, in UTC
}

// Source is one repository and branch, mirrored under a cache directory.
type Source struct {
	repo   string // as the user gave it, for messages
	remote string // what git fetches: repo, with a local path made absolute
	branch string
	mirror string // the bare mirror's git directory, absolute

	// sem serializes the Source's git commands (a token in it is the lock) and guards ready.
	sem   chan struct{}
	ready bool // the mirror exists and its origin is remote
}

// New checks url and branch and returns a Source whose bare mirror lives in cacheDir (created
// on first fetch). It refuses an empty url or branch, either starting with "-", a branch that
// `git check-ref-format --branch` refuses, and urls of transports other than local paths,
// file, http, https, ssh, git and scp-like [user@]host:path. It runs git once, to check the
// branch, so a server without git fails here.
func New(url, branch, cacheDir string) (*Source, error) {
	remote, err := checkRepo(url)
	if err != nil {
		return nil, err
	}
	if err := checkBranch(branch); err != nil {
		return nil, err
	}
	if cacheDir == "" {
		return nil, errors.New("gitsrc: no cache directory for the mirror of " + url)
	}
	mirror, err := filepath.Abs(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("cache directory %s: %w", cacheDir, err)
	}
	return &Source{repo: url, remote: remote, branch: branch, mirror: mirror, sem: make(chan struct{}, 1)}, nil
}

// Repo is the repository as New was given it.
func (s *Source) Repo() string { return s.repo }

// Branch is the branch the Source follows.
func (s *Source) Branch() string { return s.branch }

// schemes are the URL schemes git may fetch from.
var schemes = map[string]bool{"file": true, "http": true, "https": true, "ssh": true, "git": true}

// checkRepo refuses what is not a local path or a URL of an allowed transport, and returns
// what git is to fetch: repo itself, or a local path made absolute.
func checkRepo(repo string) (string, error) {
	const fix = "check pipeline.source.repo: give a path on the server, a file://, http(s)://, ssh:// or git:// URL, or user@host:path"
	switch {
	case repo == "":
		return "", errors.New("no repository: " + fix)
	case strings.HasPrefix(repo, "-"):
		return "", fmt.Errorf("repository %q starts with \"-\", which git would take for an option; %s", repo, fix)
	case strings.ContainsFunc(repo, unicode.IsControl):
		return "", fmt.Errorf("repository %q holds a control character; %s", repo, fix)
	}
	// Git's own reading: a scheme followed by "::" names a remote helper, by "://" a URL.
	if n := schemeLen(repo); n > 0 {
		switch rest := repo[n:]; {
		case strings.HasPrefix(rest, "::"):
			return "", fmt.Errorf("repository %q uses the remote helper %q, which cutover does not run; %s", repo, repo[:n], fix)
		case strings.HasPrefix(rest, "://"):
			scheme := repo[:n]
			if !schemes[scheme] {
				return "", fmt.Errorf("repository %q uses the transport %q; %s", repo, scheme, fix)
			}
			authority, _, _ := strings.Cut(rest[len("://"):], "/")
			if scheme != "file" {
				if err := checkHost(repo, authority); err != nil {
					return "", fmt.Errorf("%w; %s", err, fix)
				}
			}
			return repo, nil
		}
	}
	// As git does: a colon before the first slash makes an scp-like ssh address.
	if colon := strings.IndexByte(repo, ':'); colon >= 0 {
		if slash := strings.IndexByte(repo, '/'); slash < 0 || colon < slash {
			if err := checkHost(repo, repo[:colon]); err != nil {
				return "", fmt.Errorf("%w; %s", err, fix)
			}
			if repo[colon+1:] == "" {
				return "", fmt.Errorf("repository %q has no path after the host; %s", repo, fix)
			}
			return repo, nil
		}
	}
	abs, err := filepath.Abs(repo)
	if err != nil {
		return "", fmt.Errorf("repository %s: %w", repo, err)
	}
	return abs, nil
}

// schemeLen is the length of the URL scheme repo starts with as git reads it (a letter, then
// letters, digits, "+", "-" and "."), 0 when none.
func schemeLen(repo string) int {
	for i, c := range repo {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if alpha || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			continue
		}
		return i
	}
	return 0
}

// checkHost refuses an authority ([user@]host[:port]) with no host, or whose user or host
// ssh would take for an option.
func checkHost(repo, authority string) error {
	user, host, found := strings.Cut(authority, "@")
	if !found {
		user, host = "", authority
	}
	bracketed := strings.HasPrefix(host, "[") // an IPv6 address: [::1]:22
	host = strings.TrimPrefix(host, "[")
	switch {
	case host == "" || strings.HasPrefix(host, "]") || !bracketed && strings.HasPrefix(host, ":"):
		return fmt.Errorf("repository %q names no host", repo)
	case strings.HasPrefix(host, "-") || strings.HasPrefix(user, "-") || strings.HasPrefix(user, "[-"):
		return fmt.Errorf("repository %q has a user or host starting with \"-\", which ssh would take for an option", repo)
	}
	return nil
}

// checkBranch refuses what git does not take for a branch name.
func checkBranch(branch string) error {
	const fix = "check pipeline.source.branch"
	switch {
	case branch == "":
		return errors.New("no branch: " + fix)
	case strings.HasPrefix(branch, "-"):
		return fmt.Errorf("branch %q starts with \"-\", which git would take for an option; %s", branch, fix)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := run(ctx, "/", nil, "check-ref-format", "--branch", branch)
	var ge *gitError
	switch {
	case errors.As(err, &ge):
		return fmt.Errorf("branch %q is not a valid branch name (git check-ref-format --branch refuses it); %s", branch, fix)
	case err != nil:
		return fmt.Errorf("check branch %q: %w", branch, err)
	case strings.TrimSuffix(string(out), "\n") != branch:
		// --branch expands @{-N}; a pipeline's branch is a name, not history.
		return fmt.Errorf("branch %q is not a plain branch name (git reads it as %q); %s", branch, strings.TrimSpace(string(out)), fix)
	}
	return nil
}
