package kubetest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// binaries are the executables the harness runs; envtest itself uses only the first two.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// assets caches the located bin dir and gateway CRD dir for the life of the test binary:
// the build script and `go list` run at most once per process.
var assets struct {
	sync.Mutex
	bin, crds string
}

const runScript = "run scripts/kube-binaries.sh (export KUBEBUILDER_ASSETS=\"$(scripts/kube-binaries.sh | tail -1)\")"

// locate returns the directory holding the control-plane binaries and the Gateway API
// standard CRD directory. logf reports a (possibly long) build.
func locate(logf func(string, ...any)) (bin, crds string, err error) {
	assets.Lock()
	defer assets.Unlock()
	if assets.bin != "" {
		return assets.bin, assets.crds, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", "", err
	}
	bin = os.Getenv("KUBEBUILDER_ASSETS")
	if bin == "" {
		if bin, err = buildBinaries(root, logf); err != nil {
			return "", "", err
		}
	}
	if err := checkBin(bin); err != nil {
		return "", "", err
	}
	if crds, err = gatewayCRDs(root); err != nil {
		return "", "", err
	}
	assets.bin, assets.crds = bin, crds
	return bin, crds, nil
}

// checkBin fails unless every binary and the KWOK stages are present in dir.
func checkBin(dir string) error {
	need := append([]string(nil), binaries...)
	for _, s := range kwokStages {
		need = append(need, filepath.Join("kwok-stages", s+".yaml"))
	}
	for _, name := range need {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("kubetest: control-plane file %s missing in %s (%w): %s", name, dir, err, runScript)
		}
	}
	return nil
}

// buildBinaries runs <root>/scripts/kube-binaries.sh, streams its progress to stderr and
// returns the last line of its stdout, the bin dir.
func buildBinaries(root string, logf func(string, ...any)) (string, error) {
	script := filepath.Join(root, "scripts", "kube-binaries.sh")
	logf("kubetest: KUBEBUILDER_ASSETS is unset; running %s (a cold build of the control plane takes ~15 min, a warm one <1 s)", script)
	var out bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kubetest: %s failed (%w); fix it or %s", script, err, runScript)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	bin := strings.TrimSpace(lines[len(lines)-1])
	if bin == "" {
		return "", fmt.Errorf("kubetest: %s printed no bin dir; %s", script, runScript)
	}
	return bin, nil
}

// repoRoot finds the module root: from this source file's path when the build kept it,
// else from `go env GOMOD` in the working directory (a test runs in its package dir).
func repoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		if _, err := os.Stat(filepath.Join(root, "scripts", "kube-binaries.sh")); err == nil {
			return filepath.Clean(root), nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("kubetest: finding the repository root with `go env GOMOD` failed (%w); run the tests inside the repository", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("kubetest: not inside a Go module, cannot find the repository root; run the tests inside the repository")
	}
	return filepath.Dir(gomod), nil
}

// gatewayCRDs returns the standard-channel CRD dir of the required gateway-api module.
func gatewayCRDs(root string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("kubetest: go list -m sigs.k8s.io/gateway-api in %s failed (%w: %s); run `go mod download sigs.k8s.io/gateway-api`", root, err, strings.TrimSpace(stderr.String()))
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("kubetest: gateway-api CRD dir missing (%w); run `go mod download sigs.k8s.io/gateway-api`", err)
	}
	return dir, nil
}
