package daemon

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

func readToken(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestReadOnlyTokenFile: the server writes a second, different token that may read over TCP
// and nothing else, and keeps it across restarts.
func TestReadOnlyTokenFile(t *testing.T) {
	dir := t.TempDir()
	listen := sampletest.FreeAddr(t)
	d := start(t, Config{DataDir: dir, Listen: listen})
	admin, viewer := readToken(t, dir, TokenFile), readToken(t, dir, ReadOnlyTokenFile)
	if len(viewer) != 64 || viewer == admin {
		t.Fatalf("read-only token %q (admin %q): want 64 hex digits of its own", viewer, admin)
	}
	ctx := context.Background()
	vc := api.NewTCP("http://"+listen, viewer, nil)
	if w, err := vc.WhoAmI(ctx); err != nil || w.Role != api.RoleViewer {
		t.Fatalf("whoami with the read-only token: %+v, %v", w, err)
	}
	if _, err := vc.Apps(ctx); err != nil {
		t.Fatalf("the read-only token cannot list apps: %v", err)
	}
	_, err := vc.Apply(ctx, "web", []byte(sampletest.Spec(t, sampletest.FreeAddr(t), sampletest.Options{}, "")))
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || ae.Code != api.CodeForbidden {
		t.Fatalf("apply with the read-only token: %v, want 403 forbidden", err)
	}
	if apps, err := api.NewUnix(DefaultSocket(dir)).Apps(ctx); err != nil || len(apps) != 0 {
		t.Fatalf("after a refused apply: %+v, %v; want no apps", apps, err)
	}
	if w, err := api.NewUnix(DefaultSocket(dir)).WhoAmI(ctx); err != nil || w.Role != api.RoleAdmin {
		t.Fatalf("whoami over the socket: %+v, %v; want admin", w, err)
	}

	d.stop(t)
	start(t, Config{DataDir: dir})
	if again := readToken(t, dir, ReadOnlyTokenFile); again != viewer {
		t.Fatalf("the read-only token changed across restarts: %q then %q", viewer, again)
	}
}

// TestRefusesTheSameTokenTwice: a read-only token file holding the admin token would make
// every viewer an admin, so the server does not start.
func TestRefusesTheSameTokenTwice(t *testing.T) {
	dir := t.TempDir()
	tok := strings.Repeat("ab", 32) + "\n"
	for _, name := range []string{TokenFile, ReadOnlyTokenFile} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	err := Run(context.Background(), Config{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "delete "+ReadOnlyTokenFile) {
		t.Fatalf("Run with equal tokens: %v, want a refusal saying to delete %s", err, ReadOnlyTokenFile)
	}
}

// TestDataDirModes walks the data dir after a real start and deployment, and again after
// shutdown: every directory is 0700, every file and the socket 0600. A token file left
// readable by an earlier release is tightened at start.
func TestDataDirModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ReadOnlyTokenFile), []byte(strings.Repeat("cd", 32)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	route := sampletest.FreeAddr(t)
	t.Cleanup(func() { stopInstances(t, dir) })
	d := start(t, Config{DataDir: dir, Listen: sampletest.FreeAddr(t)})
	c := api.NewUnix(DefaultSocket(dir))
	ctx := context.Background()
	hook := `hooks:
  - {name: check, at: green_healthy, command: {argv: ["true"]}}
`
	if _, err := c.Apply(ctx, "web", []byte(sampletest.Spec(t, route, sampletest.Options{}, hook))); err != nil {
		t.Fatal(err)
	}
	dep, err := c.Deploy(ctx, "web", api.DeployRequest{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	waitTerminal(t, c, dep.ID, "succeeded")
	if v := version(t, route); v != "v1" {
		t.Fatalf("the route answered %q", v)
	}
	if ls, err := c.Logs(ctx, "web", "", 10); err != nil || len(ls) == 0 {
		t.Fatalf("logs: %v, %v; want the instance's log file written", ls, err)
	}
	seen := checkModes(t, dir)
	for _, want := range []string{TokenFile, ReadOnlyTokenFile, "state.db", "router-table.json", api.SocketFile, "instances"} {
		if !seen[want] {
			t.Errorf("the data dir lacks %s; the walk would not have checked it", want)
		}
	}
	if !seen["logs"] || !seen["web-v1-1.log"] {
		t.Errorf("the walk did not reach the instance's log file: %v", seen)
	}
	d.stop(t)
	checkModes(t, dir)
}

// checkModes asserts the modes under dir and returns the base names it saw.
func checkModes(t *testing.T, dir string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		seen[e.Name()] = true
		want := os.FileMode(0o600)
		switch {
		case fi.IsDir():
			want = 0o700
		case fi.Mode().Type() == fs.ModeSocket, fi.Mode().IsRegular():
		default:
			t.Errorf("%s: unexpected file type %s", path, fi.Mode().Type())
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}
