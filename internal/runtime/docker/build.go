package docker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// buildTailLines is how many of the last output lines a failed build's error carries.
const buildTailLines = 15

// Build builds the image from contextDir (a directory; dockerfile is relative to it, "" =
// Dockerfile) and tags it tag (e.g. "web:v2"), writing the build's output lines to out as
// they come. An error ends with the last lines of the output and what failed.
//
// The context is sent as a tar of contextDir without what its .dockerignore excludes (see
// contextTar). It uses the engine's classic builder; BuildKit-only Dockerfile syntax fails.
func (d *Driver) Build(ctx context.Context, contextDir, dockerfile, tag string, out io.Writer) error {
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if out == nil {
		out = io.Discard
	}
	if err := checkBuildArgs(contextDir, dockerfile, tag); err != nil {
		return fmt.Errorf("docker: build %s: %w", tag, err)
	}
	pr, pw := io.Pipe()
	tarDone := make(chan error, 1)
	go func() {
		err := contextTar(pw, contextDir, filepath.ToSlash(filepath.Clean(dockerfile)))
		pw.CloseWithError(err)
		tarDone <- err
	}()
	// contextErr ends the sending of the context and returns its own failure, if it had one:
	// then it is the cause of whatever the engine said.
	contextErr := func() error {
		pr.CloseWithError(errBuildEnded)
		if err := <-tarDone; err != nil && !errors.Is(err, errBuildEnded) && !errors.Is(err, io.ErrClosedPipe) {
			return fmt.Errorf("docker: build %s: send the build context: %w", tag, err)
		}
		return nil
	}
	res, err := d.cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  filepath.ToSlash(filepath.Clean(dockerfile)),
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		if cerr := contextErr(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("docker: build %s from %s: %w", tag, contextDir, d.engineErr(err))
	}
	defer res.Body.Close()
	p := &progress{out: out}
	err = p.read(res.Body)
	if cerr := contextErr(); cerr != nil {
		return fmt.Errorf("%w%s", cerr, p.tailText())
	}
	if err != nil {
		return fmt.Errorf("docker: build %s from %s: %s: %w%s", tag, contextDir, p.where(), err, p.tailText())
	}
	// The output ended without an error; make sure it was not cut short.
	if ok, err := d.ImageExists(ctx, tag); err != nil || !ok {
		return fmt.Errorf("docker: build %s from %s: the engine reported no error, but the image is absent (%v)%s", tag, contextDir, err, p.tailText())
	}
	return nil
}

// errBuildEnded stops the sending of a build context the engine no longer reads.
var errBuildEnded = errors.New("build ended")

func checkBuildArgs(contextDir, dockerfile, tag string) error {
	if tag == "" {
		return errors.New("tag: must not be empty")
	}
	if !filepath.IsLocal(dockerfile) {
		return fmt.Errorf("dockerfile %q: must be a path inside the context directory", dockerfile)
	}
	fi, err := os.Stat(contextDir)
	if err != nil {
		return fmt.Errorf("context directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("context directory %s: not a directory", contextDir)
	}
	if _, err := os.Stat(filepath.Join(contextDir, dockerfile)); err != nil {
		return fmt.Errorf("dockerfile: %w", err)
	}
	return nil
}

// progress turns the engine's JSON build messages into plain lines.
type progress struct {
	out     io.Writer
	partial string   // output after the last newline
	last    []string // the last buildTailLines lines
	step    string   // the last "Step N/M : ..." line
}

type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Progress    string `json:"progress"`
	ID          string `json:"id"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// read copies the build's output to p.out and returns the build's error, if it reports one.
func (p *progress) read(body io.Reader) error {
	dec := json.NewDecoder(bufio.NewReader(body))
	for {
		var m buildMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			p.flush()
			return nil
		}
		if err != nil {
			p.flush()
			return fmt.Errorf("read the engine's build output: %w", err)
		}
		switch {
		case m.ErrorDetail != nil || m.Error != "":
			p.flush()
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			p.text(msg + "\n")
			return errors.New(strings.TrimSpace(msg))
		case m.Stream != "":
			p.text(m.Stream)
		case m.Status != "":
			line := strings.TrimSpace(strings.Join([]string{m.ID, m.Status, m.Progress}, " "))
			p.text(line + "\n")
		}
	}
}

// text writes complete lines of s to out, keeping an unfinished line for later.
func (p *progress) text(s string) {
	s = p.partial + s
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		p.line(strings.TrimSuffix(s[:i], "\r"))
		s = s[i+1:]
	}
	p.partial = s
}

func (p *progress) flush() {
	if p.partial != "" {
		p.line(p.partial)
		p.partial = ""
	}
}

func (p *progress) line(l string) {
	fmt.Fprintln(p.out, l)
	if strings.HasPrefix(l, "Step ") {
		p.step = l
	}
	p.last = append(p.last, l)
	if len(p.last) > buildTailLines {
		p.last = p.last[len(p.last)-buildTailLines:]
	}
}

// where names the step that failed.
func (p *progress) where() string {
	if p.step == "" {
		return "failed before its first step"
	}
	return "failed at " + p.step
}

func (p *progress) tailText() string {
	if len(p.last) == 0 {
		return "; the engine wrote no output"
	}
	return "\nlast output lines:\n  " + strings.Join(p.last, "\n  ")
}

// RemoveImage removes the image tag ref from the engine; one already gone is removed. An
// image a container still uses is refused by the engine, and so kept.
func (d *Driver) RemoveImage(ctx context.Context, ref string) error {
	if ref == "" {
		return errors.New("docker: remove image: empty image reference")
	}
	_, err := d.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("docker: remove image %s: %w", ref, d.engineErr(err))
	}
	return nil
}

// ImageExists reports whether ref (e.g. "web:v2") is present in the engine.
func (d *Driver) ImageExists(ctx context.Context, ref string) (bool, error) {
	if ref == "" {
		return false, errors.New("docker: image exists: empty image reference")
	}
	_, err := d.cli.ImageInspect(ctx, ref)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("docker: inspect image %s: %w", ref, d.engineErr(err))
	}
	return true, nil
}
