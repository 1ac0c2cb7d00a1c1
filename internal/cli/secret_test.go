package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/daemon"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
	"github.com/cutover/cutover/internal/spec"
)

// The secrets of TestSecretsNeverShown: in run.process.env, in a hook's env under a name
// run.process.secret_env lists, in a hook's own secret_env, and given by deploy --set.
const (
	runSecret     = "run-Zq8-secret"
	hookRunSecret = "hook-Zq8-apikey"
	hookSecret    = "hook-Zq8-token"
	setSecret     = "set-Zq8-secret"
)

var allSecrets = []string{runSecret, hookRunSecret, hookSecret, setSecret}

// syncBuffer is the server's log, written by many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// secretSpec is the test app with secrets: its instances print API_KEY from their
// environment (printenv, through a shell only the test uses) before they become the sample
// app, and a hook prints its own two secrets.
func secretSpec(t *testing.T, route string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := sampletest.Spec(t, route, sampletest.Options{StartupGrace: "5s", KeepWarm: "1s"}, `strategy: {preset: AllAtOnce}
hooks:
  - name: show-env
    at: green_healthy
    command:
      argv: [printenv, API_KEY, HOOK_TOKEN]
      env: {API_KEY: `+hookRunSecret+`, HOOK_TOKEN: `+hookSecret+`, PLAIN: visible}
      secret_env: [HOOK_TOKEN]
`)
	for old, new := range map[string]string{
		fmt.Sprintf("command: [%q]", exe): fmt.Sprintf(`command: ["/bin/sh", "-c", "printenv API_KEY; exec \"$0\"", %q]`, exe),
		`env: {` + sampletest.EnvSwitch + `: "1"}`: `env: {` + sampletest.EnvSwitch + `: "1", API_KEY: ` + runSecret + `, LOG_LEVEL: info}
    secret_env: [API_KEY]`,
	} {
		if !strings.Contains(text, old) {
			t.Fatalf("the sample spec has no %q to replace:\n%s", old, text)
		}
		text = strings.Replace(text, old, new, 1)
	}
	return text
}

// TestSecretsNeverShown deploys an app with secrets three times (with the secret, with
// --set overriding it, and a release that crashes after printing it), then looks for the
// secret values in everything cutover shows: every GET of the API (taken from the OpenAPI
// document, so a new route is covered), the CLI's output, and the server's log. The
// instances and the hook must still have received the real values.
func TestSecretsNeverShown(t *testing.T) {
	serverLog := &syncBuffer{}
	e := newEnvWith(t, daemon.Config{Logger: slog.New(slog.NewTextHandler(serverLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	specFile := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(specFile, []byte(secretSpec(t, e.route)), 0o600); err != nil {
		t.Fatal(err)
	}

	var cliOut strings.Builder
	cli := func(want int, args ...string) string {
		t.Helper()
		code, out, errs := e.run(args...)
		if code != want {
			t.Fatalf("cutover %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errs)
		}
		cliOut.WriteString(out + errs)
		return out
	}
	cli(ExitOK, "validate", "-f", specFile)
	cli(ExitOK, "apply", "-f", specFile, "-o", "json")
	cli(ExitOK, "deploy", "web", "--version", "v1", "--wait")
	cli(ExitOK, "deploy", "web", "--version", "v2", "--set", "API_KEY="+setSecret, "--wait")
	crashed := cli(ExitFailed, "deploy", "web", "--version", "v3", "--set", "SAMPLE_CRASH_AFTER=50ms", "--wait")
	if !regexp.MustCompile(`exited: .*last log lines: .*\*\*\*\*\*\*`).MatchString(crashed) {
		t.Errorf("the crash of v3 should be reported with its last log lines, the secret masked:\n%s", crashed)
	}
	for _, args := range [][]string{{"status"}, {"status", "web"}, {"history", "web"}, {"history", "web", "-o", "json"},
		{"why", "web"}, {"why", "web", "-o", "json"}, {"logs", "web"}, {"logs", "web", "-o", "json"}} {
		cli(ExitOK, args...)
	}
	if out := cli(ExitOK, "logs", "web", "--version", "v2"); !strings.Contains(out, spec.Mask) {
		t.Errorf("v2's instance printed its API_KEY; logs should show it masked:\n%s", out)
	}

	api := apiOutput(t, e)
	for _, want := range []string{"API_KEY: '******'", "HOOK_TOKEN: '******'", "PLAIN: visible", "output: ******\\n******"} {
		if !strings.Contains(api, want) {
			t.Errorf("the API output lacks %q", want)
		}
	}
	for where, text := range map[string]string{"the API": api, "the CLI": cliOut.String(), "the server's log": serverLog.String()} {
		for _, s := range allSecrets {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("%s shows the secret %s: …%s…", where, s, text[max(0, i-200):min(len(text), i+100)])
			}
		}
	}
	if !strings.Contains(serverLog.String(), "hook output") {
		t.Error("the server's log has no hook output; the test did not look at what it means to")
	}

	// The instances got the real values: their own log files, which only the server's user
	// reads, hold what they printed.
	for file, want := range map[string]string{"web-v1-1.log": runSecret, "web-v2-1.log": setSecret, "web-v3-1.log": runSecret} {
		b, err := os.ReadFile(filepath.Join(e.dir, "instances", "logs", file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v; want the instance to have printed %s from its environment:\n%s", file, err, want, b)
		}
	}
}

// apiOutput fetches every GET route of the OpenAPI document with the admin token, for every
// deployment, and the read-only token's view of the apps; it returns all the bodies.
func apiOutput(t *testing.T, e *env) string {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(e.dir, api.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + e.listen
	get := func(path string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel() // the live event stream never ends by itself
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body) // cut short by the context for the live stream
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s %s", path, resp.Status, body)
		}
		return string(body)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(get("/api/openapi.json")), &doc); err != nil {
		t.Fatal(err)
	}
	var hist []api.Deployment
	if err := json.Unmarshal([]byte(get("/api/v1/apps/web/deployments")), &hist); err != nil || len(hist) != 3 {
		t.Fatalf("history: %d deployments, %v; want 3", len(hist), err)
	}
	var all strings.Builder
	for path, ops := range doc.Paths {
		if _, ok := ops["get"]; !ok || strings.Contains(path, "/pipeline-runs/") {
			continue // this app has no pipeline: test/pipeline checks a run's masked logs
		}
		for _, d := range hist {
			all.WriteString(get(strings.NewReplacer("{app}", "web", "{id}", d.ID).Replace(path)))
			if !strings.Contains(path, "{id}") {
				break
			}
		}
	}
	return all.String()
}
