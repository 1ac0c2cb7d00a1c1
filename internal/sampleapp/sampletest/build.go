package sampletest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildCutover builds the cutover binary into dir and returns its path, for tests that run
// `cutover server` or `cutover router` as real processes. It fails the test if the build
// does.
func BuildCutover(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "cutover")
	cmd := exec.Command("go", "build", "-o", out, "github.com/cutover/cutover/cmd/cutover")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build cutover: %v\n%s", err, b)
	}
	return out
}
