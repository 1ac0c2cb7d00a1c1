package hooks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommandNeverRunsAShell: shell syntax in a hook's arguments, its program name or its
// environment is passed on as text. Had any of it reached a shell, a marker file would exist.
func TestCommandNeverRunsAShell(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marker := func(n string) string { return filepath.Join(dir, n) }
	args := []string{
		"; touch " + marker("semicolon"),
		"$(touch " + marker("subst") + ")",
		"`touch " + marker("backtick") + "`",
		"&& touch " + marker("and"),
		"| touch " + marker("pipe"),
	}
	cases := []struct {
		desc       string
		cmd        Command
		wantPassed bool
	}{
		{"arguments", Command{Argv: append([]string{"echo"}, args...)}, true},
		{"program name", Command{Argv: []string{"echo; touch " + marker("program")}}, false},
		{"environment", Command{Argv: []string{"env"}, Env: map[string]string{"X": "$(touch " + marker("env") + ")"}}, true},
	}
	for _, c := range cases {
		res := Runner{}.Run(context.Background(), Hook{Name: "inject", Timeout: 10 * time.Second, Command: &c.cmd}, Info{})
		if res.Passed != c.wantPassed {
			t.Errorf("%s: passed %v (%s), want %v", c.desc, res.Passed, res.Reason, c.wantPassed)
		}
		if c.desc == "arguments" && res.Output != strings.Join(args, " ")+"\n" {
			t.Errorf("arguments: output %q, want them echoed as written", res.Output)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("a shell ran: %s was created", e.Name())
	}
}
