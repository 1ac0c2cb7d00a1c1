package gitsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/internal/procgroup"
)

// waitDelay bounds how long git's output pipes may stay open after git exited or was killed
// (a process that escaped its session still holding them). After it the run ends regardless.
const waitDelay = 2 * time.Second

// maxStderr is how much of git's stderr is kept: its end, where the reason is.
const maxStderr = 16 << 10

// allowedProtocols are the transports git may use, after any insteadOf rewriting.
const allowedProtocols = "file:http:https:ssh:git"

// inherited are the server's variables git still gets: where programs and the user's own
// config live, and what ssh, TLS and proxies read to reach and authenticate to a remote.
var inherited = []string{
	"PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL",
	"SSH_AUTH_SOCK", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT",
	"GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
	"http_proxy", "https_proxy", "no_proxy", "all_proxy",
}

// gitEnv is the whole environment of a git command.
func gitEnv(extra ...string) []string {
	env := []string{
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_ALLOW_PROTOCOL=" + allowedProtocols,
		"LC_ALL=C",
	}
	for _, k := range inherited {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

// baseArgs come before every subcommand: no hooks (reference-transaction runs even on a
// fetch), no fsmonitor daemon, and automatic gc in the foreground, under the Source's lock,
// rather than detached where it would race the next fetch.
var baseArgs = []string{
	"-c", "core.hooksPath=/dev/null",
	"-c", "core.fsmonitor=false",
	"-c", "gc.autoDetach=false",
	"-c", "maintenance.autoDetach=false",
}

// gitError is a git command that ran and failed.
type gitError struct {
	code   int    // exit code, -1 when killed by a signal
	stderr string // the reason, from the last lines of stderr
}

func (e *gitError) Error() string {
	if e.stderr == "" {
		return fmt.Sprintf("git exited %d", e.code)
	}
	return fmt.Sprintf("git exited %d: %s", e.code, e.stderr)
}

// run runs git with args (after baseArgs) in dir ("" for the process's own) with the extra
// environment variables, and returns its stdout. An error is the context's when it ended the
// command, a *gitError when git failed, or says git could not start.
func run(ctx context.Context, dir string, extraEnv []string, args ...string) ([]byte, error) {
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: maxStderr}
	cmd := exec.CommandContext(ctx, "git", append(append([]string(nil), baseArgs...), args...)...)
	cmd.Dir = dir
	cmd.Env = gitEnv(extraEnv...)
	cmd.Stdin = nil
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = procgroup.Session()
	cmd.Cancel = func() error { return procgroup.Kill(cmd.Process) }
	cmd.WaitDelay = waitDelay

	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.Bytes(), nil
	case errors.As(err, &exit):
		return nil, &gitError{code: exit.ExitCode(), stderr: reason(stderr.String())}
	case errors.Is(err, exec.ErrNotFound):
		return nil, fmt.Errorf("git is not on PATH: cutover runs the git CLI to read pipeline sources; install git (apt-get install git): %w", err)
	case errors.Is(err, exec.ErrWaitDelay):
		// git itself succeeded; something it started held the pipes open and was cut off.
		return stdout.Bytes(), nil
	default:
		return nil, fmt.Errorf("run git: %w", err)
	}
}

// boilerplate are lines git adds after the reason of a failed fetch.
var boilerplate = []string{
	"fatal: Could not read from remote repository.",
	"Please make sure you have the correct access rights",
	"and the repository exists.",
}

// reason is the end of git's stderr that says why it failed: its last three lines that are
// neither empty, hints nor boilerplate, on one line.
func reason(stderr string) string {
	var keep []string
	for _, line := range strings.Split(strings.ReplaceAll(stderr, "\r", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "hint:") || slices.Contains(boilerplate, line) {
			continue
		}
		keep = append(keep, line)
	}
	if len(keep) > 3 {
		keep = keep[len(keep)-3:]
	}
	return strings.Join(keep, "; ")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
