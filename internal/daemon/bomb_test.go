package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/engine"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// aliasBomb is a ~45 KB spec whose anchor holds 1,500 unknown keys, referenced 1,500 times:
// 2.25 million values once the aliases are followed, every one a problem to report.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("app: web\nx: &h\n")
	for i := range 1500 {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	b.WriteString("routes: [" + strings.Repeat("*h, ", 1499) + "*h]\nrun: {process: {command: [x]}}\n")
	return b.String()
}

// TestAliasBombFromAViewerIsRefusedQuickly: the read-only token posts an alias bomb to
// validate and to apply; each gets a 413 within a second, the server allocates little
// doing so, and it still answers afterwards. Before the spec's bounds, one such request grew
// the server to 2 GB and ended it (out of memory writing the problem list).
func TestAliasBombFromAViewerIsRefusedQuickly(t *testing.T) {
	dir, listen := t.TempDir(), sampletest.FreeAddr(t)
	startTCP(t, Config{DataDir: dir, Listen: listen})
	viewer, admin := readToken(t, dir, ReadOnlyTokenFile), readToken(t, dir, TokenFile)
	bomb := aliasBomb()
	if n := len(bomb); n < 10<<10 || n > 50<<10 {
		t.Fatalf("the bomb is %d bytes, want 10-50 KB", n)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	send := func(method, path, token string) (int, string, time.Duration) {
		req, _ := http.NewRequest(method, "http://"+listen+path, strings.NewReader(bomb))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/yaml")
		began := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(body), time.Since(began)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 5 {
		code, body, took := send("POST", "/api/v1/validate", viewer)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "aliases") {
			t.Fatalf("validate #%d: %d %s, want 413 naming the aliases", i, code, body)
		}
		if len(body) > 4<<10 {
			t.Fatalf("validate #%d answered %d bytes, want a short error", i, len(body))
		}
		if took > time.Second {
			t.Fatalf("validate #%d took %v, want under 1s", i, took)
		}
	}
	// The admin's apply goes through the same parser; the viewer's is refused as forbidden.
	if code, body, _ := send("PUT", "/api/v1/apps/web", admin); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("apply of the bomb: %d %s, want 413", code, body)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
		t.Fatalf("six bombs allocated %d MiB in the server, want a bounded amount", grew>>20)
	}
	if code, body, _ := send("GET", "/api/v1/apps", viewer); code != http.StatusOK || strings.Contains(body, `"web"`) {
		t.Fatalf("after the bombs: %d %s, want 200 and no app", code, body)
	}
}

// TestAppLimitIsA409: past --max-apps, applying a new app is refused with 409 and a message
// naming the flag; the apps already there can still be applied, and deleting one makes room.
func TestAppLimitIsA409(t *testing.T) {
	dir := t.TempDir()
	start(t, Config{DataDir: dir, Limits: engine.Limits{MaxApps: 1}})
	c, ctx := api.NewUnix(DefaultSocket(dir)), context.Background()
	web := sampletest.Spec(t, sampletest.FreeAddr(t), sampletest.Options{}, "")
	other := strings.Replace(sampletest.Spec(t, sampletest.FreeAddr(t), sampletest.Options{}, ""), "app: web", "app: other", 1)
	if _, err := c.Apply(ctx, "web", []byte(web)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Apply(ctx, "other", []byte(other))
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "--max-apps") {
		t.Fatalf("a second app past --max-apps 1: %v, want 409 naming --max-apps", err)
	}
	if _, err := c.Apply(ctx, "web", []byte(web)); err != nil {
		t.Fatalf("applying web again: %v", err)
	}
	if err := c.DeleteApp(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, "other", []byte(other)); err != nil {
		t.Fatalf("other after web was deleted: %v", err)
	}
}
