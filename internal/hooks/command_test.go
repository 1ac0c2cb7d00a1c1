package hooks

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sh runs script with /bin/sh. Only tests use a shell: it is a convenient program that prints
// and exits as told. The package itself never runs one.
func sh(script string) *Command { return &Command{Argv: []string{"/bin/sh", "-c", script}} }

func TestCommandExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		cmd        *Command
		wantPassed bool
		wantReason string
		wantOutput string
	}{
		{desc: "exit 0 passes", cmd: sh("echo migrated; echo warning >&2"),
			wantPassed: true, wantReason: "command /bin/sh exited with code 0", wantOutput: "migrated\nwarning\n"},
		{desc: "non-zero exit fails", cmd: sh("echo 'table locked' >&2; exit 2"),
			wantReason: "command /bin/sh exited with code 2", wantOutput: "table locked\n"},
		{desc: "killed by a signal", cmd: sh("kill -9 $$"),
			wantReason: "command /bin/sh ended by signal: killed"},
		{desc: "missing program", cmd: &Command{Argv: []string{"./no-such-migrate"}},
			wantReason: "command ./no-such-migrate did not start: fork/exec ./no-such-migrate: no such file or directory"},
		{desc: "empty argv", cmd: &Command{}, wantReason: "command: empty argv"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			res := Runner{}.Run(context.Background(), Hook{Name: "migrate", Timeout: 10 * time.Second, Command: tt.cmd}, Info{})
			if res.Passed != tt.wantPassed || res.Reason != tt.wantReason || res.Output != tt.wantOutput {
				t.Errorf("Run = passed %v, reason %q, output %q; want %v, %q, %q",
					res.Passed, res.Reason, res.Output, tt.wantPassed, tt.wantReason, tt.wantOutput)
			}
		})
	}
}

func TestCommandArgvIsLiteral(t *testing.T) {
	t.Parallel()
	arg := "$(whoami); rm -rf / `id` && echo $HOME | cat > /tmp/x *"
	res := Runner{}.Run(context.Background(), Hook{Command: &Command{Argv: []string{"/bin/echo", arg}}}, Info{})
	if !res.Passed || res.Output != arg+"\n" {
		t.Errorf("Run = passed %v, output %q; want exactly %q", res.Passed, res.Output, arg+"\n")
	}
}

func TestCommandEnvAndDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	info := Info{App: "web", Deployment: "d-7", Point: "before_install", BlueVersion: "v1", GreenVersion: "v2",
		TestURL: "http://127.0.0.1:8081", GreenURL: "http://127.0.0.1:9001", Weight: 12.5}
	r := Runner{Env: []string{"PATH=" + os.Getenv("PATH"), "BASE=kept", "CUTOVER_APP=spoofed"}}
	cmd := &Command{Argv: []string{"env"}, Dir: dir, Env: map[string]string{"EXTRA": "a b", "CUTOVER_WEIGHT": "99"}}
	res := r.Run(context.Background(), Hook{Command: cmd}, info)
	if !res.Passed {
		t.Fatalf("Run = %q, output %q; want a pass", res.Reason, res.Output)
	}
	got := map[string]string{}
	for line := range strings.Lines(res.Output) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		got[k] = v
	}
	want := map[string]string{
		"BASE": "kept", "EXTRA": "a b",
		"CUTOVER_APP": "web", "CUTOVER_DEPLOYMENT": "d-7", "CUTOVER_HOOK_POINT": "before_install",
		"CUTOVER_BLUE_VERSION": "v1", "CUTOVER_GREEN_VERSION": "v2", "CUTOVER_TEST_URL": "http://127.0.0.1:8081",
		"CUTOVER_GREEN_URL": "http://127.0.0.1:9001", "CUTOVER_WEIGHT": "12.5",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("env %s = %q, want %q", k, got[k], v)
		}
	}

	res = r.Run(context.Background(), Hook{Command: &Command{Argv: []string{"/bin/pwd", "-P"}, Dir: dir}}, info)
	if want, _ := filepath.EvalSymlinks(dir); strings.TrimSpace(res.Output) != want {
		t.Errorf("pwd -P in Dir %s printed %q, want %s", dir, res.Output, want)
	}
}

func TestCommandTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	// The child sleeps in the background and keeps the output pipe; the parent sleeps past the
	// timeout. Both must be gone when Run returns, and Run must not wait for either.
	cmd := sh("sleep 60 & echo child=$!; sleep 60")
	start := time.Now()
	res := Runner{}.Run(context.Background(), Hook{Name: "stuck", Timeout: 300 * time.Millisecond, Command: cmd}, Info{})
	if d := time.Since(start); d > waitDelay {
		t.Errorf("Run took %v, want about the 300ms timeout", d)
	}
	if res.Passed || res.Reason != "command /bin/sh timed out after 300ms" {
		t.Errorf("Run = passed %v, reason %q; want a timeout", res.Passed, res.Reason)
	}
	waitGone(t, childPID(t, res.Output))
}

func TestCommandStrayProcessesKilledAfterExit(t *testing.T) {
	t.Parallel()
	// The command succeeds at once but leaves a background process holding its output.
	cmd := sh("sleep 60 & echo child=$!")
	res := Runner{}.Run(context.Background(), Hook{Timeout: 10 * time.Second, Command: cmd}, Info{})
	if !res.Passed || !strings.Contains(res.Reason, "a background process kept its output open") {
		t.Errorf("Run = passed %v, reason %q; want a pass noting the stray process", res.Passed, res.Reason)
	}
	waitGone(t, childPID(t, res.Output))
}

func TestCommandCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res := Runner{}.Run(ctx, Hook{Command: sh("sleep 60")}, Info{})
	if res.Passed || res.Reason != "command /bin/sh canceled: context canceled" {
		t.Errorf("Run = passed %v, reason %q; want a cancellation", res.Passed, res.Reason)
	}
}

func TestCommandOutputBounded(t *testing.T) {
	t.Parallel()
	// About 1 MiB of output, then a last line that must survive.
	res := Runner{}.Run(context.Background(), Hook{Command: sh("head -c 1048576 /dev/zero | tr '\\0' x; echo; echo last line; exit 1")}, Info{})
	if res.Passed || len(res.Output) > MaxOutput || !strings.HasSuffix(res.Output, "\nlast line\n") ||
		!strings.HasPrefix(res.Output, truncatedMarker) {
		t.Errorf("Run = passed %v, %d bytes of output ending %q; want a failure keeping the last %d bytes",
			res.Passed, len(res.Output), res.Output[max(0, len(res.Output)-20):], MaxOutput)
	}
}

// childPID finds the "child=PID" line a test command printed.
func childPID(t *testing.T, output string) int {
	t.Helper()
	for line := range strings.Lines(output) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "child="); ok {
			pid, err := strconv.Atoi(v)
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no child=PID line in output %q", output)
	return 0
}

// waitGone waits until pid no longer runs. A killed process can stay a zombie until its new
// parent reaps it, which is as gone as it gets, so zombies count as gone.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		// The state follows the parenthesised command name: "123 (sleep) Z ...".
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs: %s", pid, stat)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
