package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pwn is what a hostile hook or instance prints: clear the screen, set the window title.
const pwn = `printf '\033[2J\033]0;pwned\007\n'`

// TestOutsideTextReachesTheTerminalEscaped: a hook and an instance that print terminal
// escapes are shown with those escapes visible (\x1b[2J) by deploy --wait, status, why,
// history and logs, never as the raw bytes a terminal would act on.
func TestOutsideTextReachesTheTerminalEscaped(t *testing.T) {
	e := newEnv(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(e.writeSpec("web.yaml", ""))
	if err != nil {
		t.Fatal(err)
	}
	// The instance prints the escapes, then runs the sample app.
	spec := strings.Replace(string(src), fmt.Sprintf("command: [%q]", exe),
		fmt.Sprintf("command: [sh, -c, %q, %q]", pwn+`; exec "$0"`, exe), 1)
	e.must(ExitOK, "apply", "-f", write(t, spec))
	e.must(ExitOK, "deploy", "web", "--version", "v1", "--wait")
	logs := e.must(ExitOK, "logs", "web")

	// A hook prints them and fails: the deployment fails, quoting its output.
	spec += fmt.Sprintf("hooks:\n  - name: evil\n    at: before_start\n    command: {argv: [sh, -c, %q]}\n", pwn+"; exit 1")
	e.must(ExitOK, "apply", "-f", write(t, spec))
	deploy := e.must(ExitFailed, "deploy", "web", "--version", "v2", "--wait")
	outs := map[string]string{
		"logs":          logs,
		"deploy --wait": deploy,
		"status":        e.must(ExitOK, "status", "web"),
		"why":           e.must(ExitOK, "why", "web"),
		"history":       e.must(ExitOK, "history", "web"),
	}
	for name, out := range outs {
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("%s printed raw escapes:\n%q", name, out)
		}
	}
	for _, name := range []string{"logs", "deploy --wait"} {
		if !strings.Contains(outs[name], `\x1b[2J\x1b]0;pwned\x07`) {
			t.Errorf("%s does not show the escapes as text:\n%s", name, outs[name])
		}
	}
}

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
