// Package gitsrc reads a pipeline's source: one branch of one git repository, kept as a bare
// mirror in a cache directory, from which it names commits (Head, Resolve) and writes clean
// checkouts to build (Checkout).
//
// It runs the git CLI (Debian's git, /usr/bin/git) rather than a Go implementation such as
// go-git, on purpose: the CLI is what users' repositories are tested with, it supports every
// transport and credential helper the user configured (ssh keys and agent, credential
// helpers, insteadOf rules, proxies, all from the server user's own git and ssh config), and
// it keeps cutover's dependency list short.
//
// # Repositories
//
// The repository is a path on the server, a file:// URL, an http, https, ssh or git URL, or an
// scp-like [user@]host:path. New refuses anything else before git sees it: remote helpers
// (ext::, fd::), other schemes, and arguments that git would read as options (a leading "-",
// a host starting with "-"). Git itself runs with GIT_ALLOW_PROTOCOL limited to the same
// transports, so an insteadOf rule cannot reach another one either.
//
// # How git runs
//
// Every command runs with the caller's context (cancelling it kills git and everything git
// started, such as ssh), with a small environment rather than the server's: PATH and HOME,
// the variables ssh, TLS and proxies read (SSH_AUTH_SOCK, GIT_SSH_COMMAND, SSL_CERT_FILE,
// HTTPS_PROXY and the like), and GIT_TERMINAL_PROMPT=0, GIT_CONFIG_NOSYSTEM=1 and LC_ALL=C.
// Nothing prompts: git runs in a session of its own with no terminal, so a credential that is
// missing is an error, never a hang. Variables that would point git elsewhere (GIT_DIR,
// GIT_WORK_TREE, GIT_INDEX_FILE and the like) are not passed on. Hooks never run.
//
// # The mirror
//
// The cache directory is the mirror's git directory itself: New's cacheDir must be this
// Source's own, empty or missing at first (it is created by the first fetch). Each fetch
// takes only the branch (refs/heads/BRANCH, no tags). A Source runs one git command at a
// time; two Sources, or two processes, must not share a cache directory. Commits stay in the
// mirror after a force push removes them from the branch, so Resolve and Checkout still find
// the commit of an older release.
//
// # Not supported
//
// Submodules: a checkout holds a submodule's path as an empty directory, never its files.
// Git LFS is not handled here (a checkout gets what the server's git config makes of it).
// SHA-256 repositories: the mirror is SHA-1, and fetching one fails.
package gitsrc
