package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/api"
)

// TestTokenCommand: `cutover token` prints the tokens the server wrote, and the read-only
// one reads over TCP but cannot deploy.
func TestTokenCommand(t *testing.T) {
	e := newEnv(t)
	admin := strings.TrimSpace(e.must(ExitOK, "token", "--data-dir", e.dir))
	viewer := strings.TrimSpace(e.must(ExitOK, "token", "--data-dir", e.dir, "--read-only"))
	for name, got := range map[string]string{api.TokenFile: admin, api.ReadOnlyTokenFile: viewer} {
		want, err := os.ReadFile(filepath.Join(e.dir, name))
		if err != nil || got != strings.TrimSpace(string(want)) || len(got) != 64 {
			t.Errorf("token from %s: %q, want the file's %q (%v)", name, got, want, err)
		}
	}
	if admin == viewer {
		t.Fatal("the admin and read-only tokens are the same")
	}
	over := []string{"--server", "http://" + e.listen, "--token", viewer}
	e.must(ExitOK, append(over, "status")...)
	e.must(ExitOK, "apply", "-f", e.writeSpec("web.yaml", ""))
	code, _, errs := e.run(append(over, "deploy", "web", "--version", "v1")...)
	if code != ExitError || !strings.Contains(errs, "read-only") {
		t.Errorf("deploy with the read-only token: exit %d, stderr %q; want 1 saying the token is read-only", code, errs)
	}
	if out := e.must(ExitOK, "history", "web"); strings.Contains(out, "v1") {
		t.Errorf("a refused deploy left a deployment:\n%s", out)
	}
	code, _, errs = e.run("token", "--data-dir", t.TempDir())
	if code != ExitError || !strings.Contains(errs, "read the token") {
		t.Errorf("token from an empty data dir: exit %d, %q", code, errs)
	}
}
