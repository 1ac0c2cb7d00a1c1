package demo

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPipelineDemo: `cutover demo pipeline` takes two commits of a real git repository to
// production, the second by canary under load with no failed request, and leaves nothing.
func TestPipelineDemo(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sum, err := RunPipeline(context.Background(), Options{AppCommand: []string{exe}, AppEnv: map[string]string{"CUTOVER_DEMO_TEST_APP": "1"}, Out: &out, Step: 2 * time.Second})
	if err != nil {
		t.Fatalf("demo pipeline: %v\n%s", err, out.String())
	}
	sum.Print(&out)
	t.Log(out.String())
	if sum.First.Outcome != "succeeded" || sum.Second.Outcome != "succeeded" {
		t.Fatalf("runs: %+v %+v", sum.First, sum.Second)
	}
	if sum.Second.Requests == 0 || sum.Second.Failed != 0 {
		t.Errorf("the second commit under load: %d requests, %d failed", sum.Second.Requests, sum.Second.Failed)
	}
	if sum.LeftoverProcesses != 0 {
		t.Errorf("%d processes left behind", sum.LeftoverProcesses)
	}
	for _, st := range []string{"source", "build", "unit", "deploy"} {
		if sum.Second.Stages[st] == "" {
			t.Errorf("the second run's %s stage has no duration: %v", st, sum.Second.Stages)
		}
	}
	if sum.CommitToProduction <= 0 {
		t.Errorf("commit to production: %.1f s", sum.CommitToProduction)
	}
	if m := regexp.MustCompile(`git repository (\S+)/repo\n`).FindStringSubmatch(out.String()); m == nil {
		t.Error("the demo did not say where its repository was")
	} else if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the demo's directory %s is still there (%v)", m[1], err)
	}
}
