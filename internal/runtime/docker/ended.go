package docker

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/cutover/cutover/internal/runtime"
)

const (
	// keptLogLines is how many of its last log lines the driver keeps of a container it
	// removes.
	keptLogLines = 200
	// maxEnded bounds the records of removed containers a Driver keeps; the oldest go first.
	maxEnded = 1024
	// maxLogBytes bounds what Logs reads of a container's output; older bytes are dropped.
	maxLogBytes = 8 << 20
)

// ended is what the driver keeps of an instance whose container it removed.
type ended struct {
	instanceID string
	status     runtime.Status
	logs       []string // the last keptLogLines lines
	at         time.Time
	gone       bool // made up by lookup: the container was removed by someone else; no logs
}

// endedRecord returns the record of instance id's container containerID, or when that is ""
// of the instance's container removed last.
func (d *Driver) endedRecord(id, containerID string) *ended {
	d.mu.Lock()
	defer d.mu.Unlock()
	if containerID != "" {
		if r := d.ended[containerID]; r != nil && r.instanceID == id {
			return r
		}
		return nil
	}
	var last *ended
	for _, r := range d.ended {
		if r.instanceID == id && (last == nil || r.at.After(last.at)) {
			last = r
		}
	}
	return last
}

// reap keeps the final status and last log lines of the ended container c, then removes it.
// stopped says whether Stop ended it, giving the engine grace.
func (d *Driver) reap(ctx context.Context, c container.InspectResponse, stopped bool, grace time.Duration) error {
	id := c.Config.Labels[labelInstance]
	st := statusOf(c)
	if stopped {
		how := "SIGTERM"
		if st.Signal == "SIGKILL" && !c.State.OOMKilled {
			how = fmt.Sprintf("SIGTERM, then SIGKILL after the %v grace", grace)
		}
		st.Reason += " (stopped by cutover: " + how + ")"
	}
	logs, err := d.containerLogs(ctx, c.ID, keptLogLines)
	if isNotFound(err) {
		return nil // a concurrent reap removed it
	}
	if err != nil {
		d.log.Warn("docker: cannot keep the logs of an ended container", "instance", id, "container", shortID(c.ID), "err", err)
	}
	d.mu.Lock()
	d.ended[c.ID] = &ended{instanceID: id, status: st, logs: logs, at: time.Now()}
	d.pruneLocked()
	d.mu.Unlock()
	_, err = d.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove container %s: %w", shortID(c.ID), d.engineErr(err))
	}
	d.log.Info("docker: instance ended; container removed", "instance", id, "container", shortID(c.ID), "reason", st.Reason)
	return nil
}

// pruneLocked drops the oldest records beyond maxEnded. d.mu must be held.
func (d *Driver) pruneLocked() {
	if len(d.ended) <= maxEnded {
		return
	}
	ids := make([]string, 0, len(d.ended))
	for id := range d.ended {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return d.ended[ids[i]].at.Before(d.ended[ids[j]].at) })
	for _, id := range ids[:len(ids)-maxEnded] {
		delete(d.ended, id) // by container ID
	}
}

// containerLogs returns the last n lines of the container's stdout and stderr, in the order
// the engine recorded them.
func (d *Driver) containerLogs(ctx context.Context, containerID string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	rc, err := d.cli.ContainerLogs(ctx, containerID, client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n),
	})
	if err != nil {
		return nil, d.engineErr(err)
	}
	defer rc.Close()
	var buf tailBuffer
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil {
		return nil, fmt.Errorf("read logs of container %s: %w", shortID(containerID), err)
	}
	return tail(splitLines(buf.b.Bytes(), buf.cut), n), nil
}

// tailBuffer keeps the last maxLogBytes bytes written to it.
type tailBuffer struct {
	b   bytes.Buffer
	cut bool // bytes were dropped: the first line is partial
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b.Write(p)
	if over := t.b.Len() - maxLogBytes; over > 0 {
		t.b.Next(over)
		t.cut = true
	}
	return len(p), nil
}

// splitLines splits output into lines without terminators; a partial first line is dropped.
func splitLines(b []byte, partialFirst bool) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if partialFirst {
		lines = lines[1:]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// tail returns a copy of the last n of lines.
func tail(lines []string, n int) []string {
	if n <= 0 {
		return nil
	}
	return append([]string(nil), lines[max(0, len(lines)-n):]...)
}
