package docker

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/cutover/cutover/internal/runtime"
)

func TestDockerignore(t *testing.T) {
	tests := []struct {
		desc     string
		patterns string
		excluded []string
		kept     []string
	}{
		{"plain name and its contents", "secret.txt\nlogs", []string{"secret.txt", "logs", "logs/a/b.log"}, []string{"a/secret.txt", "logsx", "keep"}},
		{"leading slash and comments", "# note\n/build/\n\n", []string{"build", "build/out"}, []string{"src/build"}},
		{"star stays in one element", "*.tmp\ndir/*", []string{"a.tmp", "dir/x", "dir/x/y"}, []string{"sub/a.tmp", "dirx/y"}},
		{"double star crosses elements", "**/*.tmp\nsrc/**/gen", []string{"a.tmp", "x/y/a.tmp", "src/gen", "src/a/b/gen/z"}, []string{"a.tmpx", "src/general"}},
		{"question mark and class", "file?.txt\n[ab].md", []string{"file1.txt", "a.md"}, []string{"file10.txt", "c.md"}},
		{"exception, last line wins", "*.md\n!README.md\ndocs\n!docs/keep.md", []string{"a.md", "docs/x.md"}, []string{"README.md", "docs/keep.md", "main.go"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), ".dockerignore")
			if err := os.WriteFile(file, []byte(tt.patterns), 0o644); err != nil {
				t.Fatal(err)
			}
			ign, err := readDockerignore(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.excluded {
				if !ign.excluded(p) {
					t.Errorf("%q is sent, want it excluded by %q", p, tt.patterns)
				}
			}
			for _, p := range tt.kept {
				if ign.excluded(p) {
					t.Errorf("%q is excluded, want it sent despite %q", p, tt.patterns)
				}
			}
		})
	}
}

func TestContextTar(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Dockerfile": "FROM scratch\n", ".dockerignore": "Dockerfile\n.dockerignore\ntmp\n*.md\n!keep.md\n",
		"app": "bin", "tmp/x": "x", "a.md": "a", "keep.md": "k", "sub/b": "b",
	})
	if err := os.Symlink("app", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(contextTar(pw, dir, "Dockerfile")) }()
	tr := tar.NewReader(pr)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		if h.Name == "link" && (h.Typeflag != tar.TypeSymlink || h.Linkname != "app") {
			t.Errorf("link is %+v, want a symlink to app", h)
		}
		names = append(names, h.Name)
	}
	slices.Sort(names)
	// The Dockerfile and .dockerignore are sent although they are ignored, as docker does.
	want := []string{".dockerignore", "Dockerfile", "app", "keep.md", "link", "sub/", "sub/b"}
	if !slices.Equal(names, want) {
		t.Errorf("context holds %q, want %q", names, want)
	}
}

func TestStatusOf(t *testing.T) {
	inspect := func(st container.State, memory int64) container.InspectResponse {
		return container.InspectResponse{State: &st, HostConfig: &container.HostConfig{Resources: container.Resources{Memory: memory}}}
	}
	tests := []struct {
		desc string
		in   container.InspectResponse
		want runtime.Status
	}{
		{"running", inspect(container.State{Status: "running", Running: true}, 0), runtime.Status{Running: true}},
		{"exit code", inspect(container.State{Status: "exited", ExitCode: 3}, 0), runtime.Status{ExitCode: 3, Reason: "exited with code 3"}},
		{"SIGKILL", inspect(container.State{Status: "exited", ExitCode: 137}, 0), runtime.Status{ExitCode: -1, Signal: "SIGKILL", Reason: "killed by SIGKILL"}},
		{"SIGTERM", inspect(container.State{Status: "exited", ExitCode: 143}, 0), runtime.Status{ExitCode: -1, Signal: "SIGTERM", Reason: "killed by SIGTERM"}},
		{"out of memory", inspect(container.State{Status: "exited", ExitCode: 137, OOMKilled: true}, 64<<20),
			runtime.Status{ExitCode: -1, Signal: "SIGKILL", Reason: "killed: out of memory (limit 64 MiB)"}},
		{"out of memory, odd limit", inspect(container.State{Status: "exited", ExitCode: 137, OOMKilled: true}, 1536<<20),
			runtime.Status{ExitCode: -1, Signal: "SIGKILL", Reason: "killed: out of memory (limit 1.5 GiB)"}},
		{"never started", inspect(container.State{Status: "created", Error: "exec: not found"}, 0),
			runtime.Status{ExitCode: -1, Reason: "created but never started: exec: not found"}},
		{"engine error", inspect(container.State{Status: "exited", ExitCode: 127, Error: "no such file"}, 0),
			runtime.Status{ExitCode: 127, Reason: "exited with code 127: no such file"}},
	}
	for _, tt := range tests {
		if got := statusOf(tt.in); got != tt.want {
			t.Errorf("%s: statusOf = %+v, want %+v", tt.desc, got, tt.want)
		}
	}
}

func TestProgress(t *testing.T) {
	body := `{"stream":"Step 1/2 : FROM x\n"}` + "\n" + `{"stream":" ---\u003e abc\n"}{"stream":"Step 2/2 : RUN false"}` +
		`{"stream":"\n"}{"status":"Pulling","id":"x","progress":"[==>  ]"}` +
		`{"errorDetail":{"code":1,"message":"The command returned a non-zero code: 1"},"error":"The command returned a non-zero code: 1"}`
	var out strings.Builder
	p := &progress{out: &out}
	err := p.read(strings.NewReader(body))
	if err == nil || err.Error() != "The command returned a non-zero code: 1" {
		t.Fatalf("read = %v, want the engine's error", err)
	}
	want := "Step 1/2 : FROM x\n ---> abc\nStep 2/2 : RUN false\nx Pulling [==>  ]\nThe command returned a non-zero code: 1\n"
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
	if p.where() != "failed at Step 2/2 : RUN false" {
		t.Errorf("where = %q", p.where())
	}

	p = &progress{out: io.Discard}
	if err := p.read(strings.NewReader(`{"stream":"ok"}{"stream":" done"}`)); err != nil || !slices.Equal(p.last, []string{"ok done"}) {
		t.Errorf("read of a build without a final newline = %v, last %q; want nil, [ok done]", err, p.last)
	}
	if err := (&progress{out: io.Discard}).read(strings.NewReader(`{"stream":`)); err == nil {
		t.Error("read of a truncated message succeeded")
	}
}

func TestSplitAndTail(t *testing.T) {
	lines := splitLines([]byte("partial\na\r\nb\n"), true)
	if !slices.Equal(lines, []string{"a", "b"}) {
		t.Errorf("splitLines = %q, want [a b]", lines)
	}
	if got := tail(lines, 1); !slices.Equal(got, []string{"b"}) {
		t.Errorf("tail(1) = %q", got)
	}
	if got := tail(lines, 10); !slices.Equal(got, lines) {
		t.Errorf("tail(10) = %q", got)
	}
	if got := splitLines(nil, false); got != nil {
		t.Errorf("splitLines(nil) = %q", got)
	}
	var buf tailBuffer
	big := strings.Repeat("x", maxLogBytes) + "\nlast\n"
	buf.Write([]byte("first\n"))
	buf.Write([]byte(big))
	if got := splitLines(buf.b.Bytes(), buf.cut); len(got) != 1 || got[0] != "last" {
		t.Errorf("after more than maxLogBytes, lines = %d, want only [last]", len(got))
	}
}
