package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/procgroup"
	"github.com/cutover/cutover/internal/spec"
)

// tailLines is how many of a stage's last output lines its state keeps.
const tailLines = 20

// stageLog writes a stage's output to its log file line by line, secrets masked, and keeps
// the last lines for the run's state.
type stageLog struct {
	mu   sync.Mutex
	f    *os.File
	mask spec.Masker
	buf  bytes.Buffer // a line not yet ended
	tail []string
}

func openStageLog(path string, mask spec.Masker) (*stageLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the stage's log: %w", err)
	}
	return &stageLog{f: f, mask: mask}, nil
}

func (l *stageLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil { // no newline yet: keep the rest for the next write
			l.buf.Reset()
			l.buf.WriteString(line)
			return len(p), nil
		}
		l.line(strings.TrimRight(line, "\r\n"))
	}
}

// Printf writes a line of cutover's own into the log.
func (l *stageLog) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line("cutover: " + fmt.Sprintf(format, args...))
}

func (l *stageLog) line(s string) {
	s = l.mask.Mask(s)
	_, _ = io.WriteString(l.f, s+"\n")
	l.tail = append(l.tail, s)
	if len(l.tail) > tailLines {
		l.tail = l.tail[len(l.tail)-tailLines:]
	}
}

// Close flushes a last unended line and closes the file, returning the tail.
func (l *stageLog) Close() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.line(l.buf.String())
		l.buf.Reset()
	}
	_ = l.f.Close()
	return append([]string(nil), l.tail...)
}

// runCommand runs argv in dir with env added to the server's, its output to out, for at
// most timeout. The command and its children are killed on timeout or when ctx ends. It
// returns the exit status (-1 when it did not exit by itself) and an error saying why it
// failed.
func runCommand(ctx context.Context, argv []string, dir string, env []string, timeout time.Duration, out io.Writer) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procgroup.Group()
	cmd.Cancel = func() error { return procgroup.Kill(cmd.Process) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return -1, fmt.Errorf("%s did not finish within %s; it was killed (raise the stage's timeout if it needs longer)", argv[0], timeout)
	case ctx.Err() != nil:
		return -1, fmt.Errorf("%s was stopped: %w", argv[0], ctx.Err())
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode(), fmt.Errorf("%s exited with status %d", argv[0], exit.ExitCode())
	}
	return -1, fmt.Errorf("run %s: %w", argv[0], err)
}

// lastLines is the last n lines of tail, joined for a reason.
func lastLines(tail []string, n int) string {
	if len(tail) > n {
		tail = tail[len(tail)-n:]
	}
	return strings.Join(tail, " | ")
}
