package docker

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// writeTree writes files (slash paths relative to dir) with their contents.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// removeImage removes tag when the test ends.
func removeImage(t *testing.T, tag string) {
	t.Cleanup(func() {
		_, err := engine(t).ImageRemove(testCtx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !isNotFound(err) {
			t.Errorf("remove image %s: %v", tag, err)
		}
	})
}

func TestBuild(t *testing.T) {
	d := newDriver(t, newOwner(t))
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"build/Dockerfile": "FROM " + testImage + "\nCOPY keep.txt sub/ /data/\nLABEL test=build\n",
		"keep.txt":         "keep",
		"sub/also.txt":     "also",
		"secret.txt":       "not sent",
		"logs/a.log":       "not sent",
		".dockerignore":    "# comment\nsecret.txt\nlogs\n**/*.tmp\n",
	})
	tag := "cutover-docker-test-build:" + strings.ToLower(newOwner(t)[len(newOwner(t))-8:])
	removeImage(t, tag)
	if ok, err := d.ImageExists(testCtx, tag); err != nil || ok {
		t.Fatalf("ImageExists(%s) before the build = %v, %v; want false", tag, ok, err)
	}
	var out strings.Builder
	if err := d.Build(testCtx, dir, "build/Dockerfile", tag, &out); err != nil {
		t.Fatalf("Build: %v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{"Step 1/3 : FROM " + testImage, "Step 2/3 : COPY keep.txt sub/ /data/", "Successfully tagged " + tag} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("build output lacks the line %q:\n%s", want, out.String())
		}
	}
	if ok, err := d.ImageExists(testCtx, tag); err != nil || !ok {
		t.Errorf("ImageExists(%s) after the build = %v, %v; want true", tag, ok, err)
	}

	// What .dockerignore excludes is not in the context: a COPY of it fails.
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM " + testImage + "\nCOPY secret.txt /\n"})
	out.Reset()
	err := d.Build(testCtx, dir, "", tag+"-ignored", &out)
	if err == nil || !strings.Contains(err.Error(), "secret.txt") {
		t.Errorf("Build copying an ignored file: err = %v, want it to fail naming secret.txt", err)
	}
}

func TestBuildFailureNamesTheStep(t *testing.T) {
	d := newDriver(t, newOwner(t))
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		// Failing at the first step after FROM leaves no intermediate image behind.
		"Dockerfile": "FROM " + testImage + "\nCOPY missing.txt /\nLABEL c=d\n",
	})
	tag := "cutover-docker-test-broken:v1"
	removeImage(t, tag)
	var out strings.Builder
	err := d.Build(testCtx, dir, "", tag, &out)
	if err == nil {
		t.Fatal("Build of a Dockerfile copying a missing file succeeded")
	}
	msg := err.Error()
	for _, want := range []string{
		"failed at Step 2/3 : COPY missing.txt /", // what failed
		"missing.txt", // the engine's reason
		"last output lines:\n  Step 1/3 : FROM " + testImage, // the output, ending with the error
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Build error lacks %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(out.String(), "Step 2/3 : COPY missing.txt /\n") {
		t.Errorf("build output lacks the failing step:\n%s", out.String())
	}
	if ok, err := d.ImageExists(testCtx, tag); err != nil || ok {
		t.Errorf("ImageExists(%s) after a failed build = %v, %v; want false", tag, ok, err)
	}

	writeTree(t, dir, map[string]string{"Dockerfile": "FROBNICATE now\n"})
	if err := d.Build(testCtx, dir, "", tag, &out); err == nil || !strings.Contains(err.Error(), "FROBNICATE") &&
		!strings.Contains(strings.ToLower(err.Error()), "frobnicate") {
		t.Errorf("Build with an unknown instruction: err = %v, want it named", err)
	}
	if err := d.Build(testCtx, dir, "../Dockerfile", tag, &out); err == nil || !strings.Contains(err.Error(), "inside the context") {
		t.Errorf("Build with a Dockerfile outside the context: err = %v", err)
	}
	if err := d.Build(testCtx, filepath.Join(dir, "nope"), "", tag, &out); err == nil || !strings.Contains(err.Error(), "context directory") {
		t.Errorf("Build of a missing directory: err = %v", err)
	}
}

// TestSSHHost reaches the engine through an ssh:// host whose "ssh" is a stand-in that runs
// `docker system dial-stdio` locally, as sshd would on the engine's host.
func TestSSHHost(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatalf("the docker CLI is needed for the ssh stand-in (scripts/test.sh installs docker.io): %v", err)
	}
	bin := t.TempDir()
	args := filepath.Join(bin, "args")
	script := "#!/bin/sh\necho \"$@\" > " + args + "\nexec " + docker + " system dial-stdio\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	d, err := New(Options{Owner: newOwner(t), Host: "ssh://deploy@engine.internal:2222"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Ping(testCtx); err != nil {
		t.Fatalf("Ping over ssh: %v", err)
	}
	if ok, err := d.ImageExists(testCtx, testImage); err != nil || !ok {
		t.Errorf("ImageExists(%s) over ssh = %v, %v; want true", testImage, ok, err)
	}
	got, err := os.ReadFile(args)
	if want := "-l deploy -p 2222 -- engine.internal docker system dial-stdio"; err != nil || !strings.Contains(string(got), want) {
		t.Errorf("ssh was run with %q, %v; want it to contain %q", got, err, want)
	}
	if d.addrHost != "engine.internal" || d.bindIP != "0.0.0.0" {
		t.Errorf("a remote engine's instances are published on %s and reached at %s; want 0.0.0.0 and engine.internal", d.bindIP, d.addrHost)
	}
}
