package hooks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"github.com/cutover/cutover/internal/procgroup"
)

// waitDelay bounds how long a finished or killed command may keep its output pipe open
// through a process that escaped its process group (or, after a normal exit, a background
// process still holding the pipe). After it the pipe is closed and the run ends regardless.
const waitDelay = 2 * time.Second

// runCommand runs c directly from its argv, bounded by timeout. On timeout the whole process
// group is killed; when the command ends, whatever is left of its group is killed too, so a
// hook cannot leave stray processes behind.
func (r Runner) runCommand(ctx context.Context, c Command, timeout time.Duration, info Info) Result {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return Result{Reason: "command: empty argv"}
	}
	name := c.Argv[0]
	ctx, cancel, timedOut := withTimeout(ctx, timeout)
	defer cancel()

	out := newTailBuffer(MaxOutput)
	cmd := exec.CommandContext(ctx, name, c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = commandEnv(r.baseEnv(), c.Env, info)
	// One writer for both streams: exec then uses a single pipe, so their interleaving is kept.
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = procgroup.Group()
	cmd.Cancel = func() error { return procgroup.Kill(cmd.Process) }
	cmd.WaitDelay = waitDelay

	if err := cmd.Start(); err != nil {
		if ctx.Err() != nil {
			return Result{Reason: stopped(ctx, name, timedOut(), timeout)}
		}
		return Result{Reason: fmt.Sprintf("command %s did not start: %v", name, err)}
	}
	err := cmd.Wait()
	// Stray processes: usually the group is already empty. Its ID cannot be reused by another
	// group while any member lives, so this reaches only what the command left behind.
	_ = procgroup.Kill(cmd.Process)

	ps := cmd.ProcessState
	res := Result{Output: out.String(), Attempts: 1}
	switch {
	case ps != nil && ps.Exited() && ps.ExitCode() == 0:
		// An exit on its own counts even when the timer fired while its output was drained.
		res.Passed = true
		res.Reason = fmt.Sprintf("command %s exited with code 0", name)
		if errors.Is(err, exec.ErrWaitDelay) {
			res.Reason += fmt.Sprintf("; a background process kept its output open for %s and was killed", waitDelay)
		}
	case ps != nil && ps.Exited():
		res.Reason = fmt.Sprintf("command %s exited with code %d", name, ps.ExitCode())
	case ctx.Err() != nil:
		res.Reason = stopped(ctx, name, timedOut(), timeout)
	case ps == nil:
		res.Reason = fmt.Sprintf("command %s: %v", name, err)
	default:
		res.Reason = fmt.Sprintf("command %s ended by %s", name, ps) // e.g. "signal: killed"
	}
	return res
}

// stopped describes a command ended by its timeout or by the caller.
func stopped(ctx context.Context, name string, timedOut bool, timeout time.Duration) string {
	if timedOut {
		return fmt.Sprintf("command %s timed out after %s", name, timeout)
	}
	return fmt.Sprintf("command %s canceled: %v", name, context.Cause(ctx))
}

// commandEnv is base, then extra in key order, then the CUTOVER_* variables. exec keeps the
// last of duplicate names, so the deployment context always wins.
func commandEnv(base []string, extra map[string]string, info Info) []string {
	env := slices.Clip(base)
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		env = append(env, k+"="+extra[k])
	}
	return append(env,
		"CUTOVER_APP="+info.App,
		"CUTOVER_DEPLOYMENT="+info.Deployment,
		"CUTOVER_HOOK_POINT="+info.Point,
		"CUTOVER_BLUE_VERSION="+info.BlueVersion,
		"CUTOVER_GREEN_VERSION="+info.GreenVersion,
		"CUTOVER_TEST_URL="+info.TestURL,
		"CUTOVER_GREEN_URL="+info.GreenURL,
		"CUTOVER_WEIGHT="+strconv.FormatFloat(info.Weight, 'f', -1, 64),
	)
}
