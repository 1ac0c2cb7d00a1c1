// Package sampletest is for tests that deploy the sample app with real processes: the test
// binary doubles as the app (Main), and Spec writes an app spec that runs it with health
// checks fast enough for tests. Only _test.go files import it (internal/archtest checks).
package sampletest

import (
	"fmt"
	"os"
	"testing"

	"github.com/cutover/cutover/internal/freeport"
	"github.com/cutover/cutover/internal/sampleapp"
)

// EnvSwitch, set in an instance's environment, makes the test binary run as the sample app.
const EnvSwitch = "CUTOVER_E2E_APP"

// Main is a TestMain: the sample app when EnvSwitch is set, the tests otherwise. It exits.
func Main(m *testing.M) {
	if os.Getenv(EnvSwitch) != "" {
		os.Exit(sampleapp.Main())
	}
	os.Exit(m.Run())
}

// Options shape the spec. Zero values take the defaults shown.
type Options struct {
	Instances    int    // 1
	StartupGrace string // "5s"
	KeepWarm     string // "30s"
	Deadline     string // "60s" for the whole deployment
	DrainTimeout string // "1s"
}

// Spec is the YAML of app "web", served on listen by this test binary as the sample app,
// with extra YAML (strategy, analysis, hooks…) appended.
func Spec(t testing.TB, listen string, o Options, extra string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if o.Instances == 0 {
		o.Instances = 1
	}
	o.StartupGrace = or(o.StartupGrace, "5s")
	o.KeepWarm = or(o.KeepWarm, "30s")
	o.Deadline = or(o.Deadline, "60s")
	o.DrainTimeout = or(o.DrainTimeout, "1s")
	return fmt.Sprintf(`app: web
routes:
  - listen: %s
run:
  process:
    command: [%q]
    env: {%s: "1"}
  instances: %d
  stop_grace: 2s
health:
  path: /healthz
  interval: 100ms
  timeout: 500ms
  healthy_threshold: 1
  startup_grace: %s
keep_warm: %s
drain_timeout: %s
deadlines:
  deployment: %s
%s`, listen, exe, EnvSwitch, o.Instances, o.StartupGrace, o.KeepWarm, o.DrainTimeout, o.Deadline, extra)
}

// FreeAddr returns a 127.0.0.1 address with a port free at the time of the call, below the
// kernel's ephemeral range (see package freeport).
func FreeAddr(t testing.TB) string {
	t.Helper()
	a, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
