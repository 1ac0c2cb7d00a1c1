package servecmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/cutover/cutover/internal/cli"
	"github.com/cutover/cutover/internal/sampleapp"
)

// TestMain lets the test binary stand in for the cutover binary: `demo` runs
// "<this binary> sample-app" for its instances and "<this binary> router ..." for its router.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "sample-app":
			os.Exit(sampleapp.Main())
		case "router":
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, Commands()...)
			stop()
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

// TestDemoJSON runs `cutover demo --json` as a user would and checks the summary CI reads.
func TestDemoJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), []string{"demo", "--json"}, &out, &errb, Commands()...)
	if code != 0 {
		t.Fatalf("cutover demo --json exited %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	var sum struct {
		V2 struct {
			Outcome  string `json:"outcome"`
			Requests int    `json:"requests"`
			Failed   int    `json:"failed"`
		} `json:"v2"`
		V3 struct {
			Outcome      string `json:"outcome"`
			Requests     int    `json:"requests"`
			BadResponses int    `json:"bad_responses"`
		} `json:"v3"`
		Leftover *int `json:"leftover_processes"`
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("the output is not one JSON object: %v\n%s", err, out.String())
	}
	t.Logf("%s", out.String())
	if sum.V2.Outcome != "succeeded" || sum.V2.Failed != 0 || sum.V2.Requests == 0 {
		t.Errorf("v2: %+v, want succeeded with requests and 0 failed", sum.V2)
	}
	if sum.V3.Outcome != "rolled_back" || sum.V3.Requests == 0 || sum.V3.BadResponses == 0 {
		t.Errorf("v3: %+v, want rolled_back with a blast radius", sum.V3)
	}
	if sum.Leftover == nil || *sum.Leftover != 0 {
		t.Errorf("leftover_processes: %v, want 0", sum.Leftover)
	}
}

// TestServerRefusesABadEgressAllow: a bad --egress-allow entry stops the server before it
// starts anything, saying which flag and what an entry may be.
func TestServerRefusesABadEgressAllow(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), []string{"server", "--data-dir", dir, "--listen", "", "--egress-allow", "hooks.example.com,https://x.example:443"}, &out, &errb, Commands()...)
	if code == 0 || !bytes.Contains(errb.Bytes(), []byte("--egress-allow")) || !bytes.Contains(errb.Bytes(), []byte("CIDR block")) {
		t.Fatalf("exit %d, stderr %q: want a failure naming --egress-allow and what an entry may be", code, errb.String())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the data dir got %d entries; a refused flag must change nothing", len(ents))
	}
}
