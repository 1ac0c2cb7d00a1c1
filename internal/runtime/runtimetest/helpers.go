package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/runtime"
)

// eventually polls cond every pollEvery until it reports true, and fails t with cond's last
// message if that does not happen within timeout.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, msg)
		}
		time.Sleep(pollEvery)
	}
}

// client never reuses connections, so every request shows whether the instance still accepts
// new ones.
var client = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

func get(addr, path string) (int, string, error) {
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), err
}

// waitServing waits until in answers 200 "<release>" on path.
func waitServing(t *testing.T, in runtime.Instance, path string) {
	t.Helper()
	eventually(t, startDeadline, func() (bool, string) {
		code, body, err := get(in.Addr, path)
		return err == nil && code == 200 && body == in.Release,
			fmt.Sprintf("GET http://%s%s = %d %q, %v; want 200 %q", in.Addr, path, code, body, err, in.Release)
	})
}

// waitExited waits until Status reports in not running and returns that status.
func waitExited(t *testing.T, d runtime.Driver, in runtime.Instance) runtime.Status {
	t.Helper()
	var st runtime.Status
	eventually(t, exitDeadline, func() (bool, string) {
		st = status(t, d, in)
		return !st.Running, fmt.Sprintf("Status(%s) = %+v, want not Running", in.ID, st)
	})
	return st
}

func status(t *testing.T, d runtime.Driver, in runtime.Instance) runtime.Status {
	t.Helper()
	st, err := d.Status(context.Background(), in)
	if err != nil {
		t.Fatalf("Status(%s): %v", in.ID, err)
	}
	return st
}

func stop(t *testing.T, d runtime.Driver, in runtime.Instance, grace time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), grace+15*time.Second)
	defer cancel()
	if err := d.Stop(ctx, in, grace); err != nil {
		t.Fatalf("Stop(%s): %v", in.ID, err)
	}
}

func list(t *testing.T, d runtime.Driver) []runtime.Instance {
	t.Helper()
	l, err := d.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return l
}

func logs(t *testing.T, d runtime.Driver, in runtime.Instance, n int) []string {
	t.Helper()
	l, err := d.Logs(context.Background(), in, n)
	if err != nil {
		t.Fatalf("Logs(%s, %d): %v", in.ID, n, err)
	}
	return l
}

func isNotFound(err error) bool { return errors.Is(err, runtime.ErrNotFound) }

func ids(l []runtime.Instance) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, in := range l {
		m[in.ID] = true
	}
	return m
}

func keys(m map[string]bool) []string {
	k := make([]string, 0, len(m))
	for id := range m {
		k = append(k, id)
	}
	sort.Strings(k)
	return k
}
