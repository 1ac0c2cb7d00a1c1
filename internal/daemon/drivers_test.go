package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestServerWithoutDocker: with no Docker engine at the docker host, the server starts and
// takes process apps, and refuses a docker app at apply with the engine's address and what
// to check. The owner ID is generated once, 0600, and kept across restarts.
func TestServerWithoutDocker(t *testing.T) {
	dir := t.TempDir()
	nowhere := "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")
	d := start(t, Config{DataDir: dir, DockerHost: nowhere})
	c := api.NewUnix(DefaultSocket(dir))
	ctx := context.Background()
	listen := sampletest.FreeAddr(t)
	if _, err := c.Apply(ctx, "web", []byte(sampletest.Spec(t, listen, sampletest.Options{}, ""))); err != nil {
		t.Fatalf("a process app without Docker: %v", err)
	}
	docker := fmt.Sprintf("app: shop\nroutes: [{listen: %q}]\nrun: {docker: {image: \"shop:$CUTOVER_VERSION\"}}\n", sampletest.FreeAddr(t))
	_, err := c.Apply(ctx, "shop", []byte(docker))
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "run.docker") ||
		!strings.Contains(ae.Message, nowhere) || !strings.Contains(ae.Message, "is dockerd running") {
		t.Fatalf("apply of a docker app without Docker: %v; want 409 naming the engine's address", err)
	}
	if _, err := c.App(ctx, "shop"); err == nil {
		t.Error("the refused docker app was stored")
	}

	path := filepath.Join(dir, OwnerFile)
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || len(strings.TrimSpace(string(first))) != 32 {
		t.Fatalf("owner ID file: %v, %q; want 0600 holding 32 hex digits", fi.Mode(), first)
	}
	d.stop(t)
	start(t, Config{DataDir: dir, DockerHost: nowhere})
	if again, _ := os.ReadFile(path); string(again) != string(first) {
		t.Errorf("the owner ID changed across a restart: %q then %q", first, again)
	}
}
