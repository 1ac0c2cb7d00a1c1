package demo

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/sampleapp"
)

// TestMain doubles as the sample app, as `cutover sample-app` does for the real binary.
func TestMain(m *testing.M) {
	if os.Getenv("CUTOVER_DEMO_TEST_APP") != "" {
		os.Exit(sampleapp.Main())
	}
	os.Exit(m.Run())
}

func TestDemo(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sum, err := Run(context.Background(), Options{AppCommand: []string{exe}, AppEnv: map[string]string{"CUTOVER_DEMO_TEST_APP": "1"}, Out: &out})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	sum.Print(&out)
	t.Log(out.String())
	if sum.V2.Outcome != "succeeded" || sum.V2.Failed != 0 || sum.V2.Requests == 0 {
		t.Errorf("v2: %+v", sum.V2)
	}
	if sum.V3.Outcome != "rolled_back" || sum.V3.BadResponses == 0 || sum.V3.Failed != sum.V3.BadResponses {
		t.Errorf("v3: %+v (every failure must be one of v3's own bad answers)", sum.V3)
	}
	if sum.LeftoverProcesses != 0 {
		t.Errorf("%d processes left behind", sum.LeftoverProcesses)
	}
	if len(sum.Steps) != 3 || sum.Steps[0].GreenPercent < 5 || sum.Steps[0].GreenPercent > 15 ||
		sum.Steps[1].GreenPercent < 45 || sum.Steps[1].GreenPercent > 55 {
		t.Errorf("observed splits %+v, want about 10%% and 50%%", sum.Steps)
	}
	// It ran a real server over a temporary directory, and removed the directory at the end.
	if m := regexp.MustCompile(`server in (\S+), API on (\S+)\)`).FindStringSubmatch(out.String()); m == nil {
		t.Error("the demo did not say where its server ran")
	} else if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the demo's directory %s is still there (%v)", m[1], err)
	}
	if !strings.Contains(out.String(), "[██") {
		t.Error("the live view showed no weight bar")
	}
	// The JSON summary carries the fields CI scripts read.
	b, _ := json.Marshal(sum)
	var m map[string]map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"v2.outcome", "v2.requests", "v2.failed", "v3.outcome", "v3.requests", "v3.bad_responses"} {
		parts := strings.Split(k, ".")
		if _, ok := m[parts[0]][parts[1]]; !ok {
			t.Errorf("JSON summary lacks %s: %s", k, b)
		}
	}
	if !strings.Contains(string(b), `"leftover_processes":0`) {
		t.Errorf("JSON summary: %s", b)
	}
}
