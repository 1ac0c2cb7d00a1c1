package sampletest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// BuildCutover builds the cutover binary (static: it also runs FROM scratch) into dir and
// returns its path, for tests that run `cutover server` or `cutover router` as real
// processes. It fails the test if the build does.
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

var (
	binDir  string
	binOnce sync.Once
	binPath string
)

// BinaryMain is a TestMain for packages that use Cutover: it keeps the binary in a
// temporary directory for the test run and removes it at the end. It exits.
func BinaryMain(m *testing.M) {
	d, err := os.MkdirTemp("", "cutover-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = d
	code := m.Run()
	_ = os.RemoveAll(d)
	os.Exit(code)
}

// Cutover returns the cutover binary, built once per test run (see BinaryMain).
func Cutover(t testing.TB) string {
	t.Helper()
	if binDir == "" {
		t.Fatal("sampletest.Cutover needs sampletest.BinaryMain as the package's TestMain")
	}
	binOnce.Do(func() { binPath = BuildCutover(t, binDir) })
	if binPath == "" {
		t.Fatal("the cutover binary did not build (see the first test's failure)")
	}
	return binPath
}
