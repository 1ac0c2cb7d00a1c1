package multirouter

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Environment of the test binary run as a load generator (inside a namespace).
const (
	envLoadURL  = "MULTIROUTER_LOAD_URL"
	envLoadStop = "MULTIROUTER_LOAD_STOP" // a file whose existence ends the load
)

// result is what a load generator counted.
type result struct {
	Sent      int64          `json:"sent"`
	Failed    int64          `json:"failed"`
	ByVersion map[string]int `json:"by_version"`
	// FailedBy counts failures by the version that answered ("" for no answer).
	FailedBy map[string]int `json:"failed_by"`
	Errors   []string       `json:"errors,omitempty"`
}

// loadMain runs 4 keep-alive workers against the URL until the stop file appears (or 5
// minutes), then prints the result as JSON.
func loadMain() int {
	url, stop := os.Getenv(envLoadURL), os.Getenv(envLoadStop)
	var (
		sent, failed atomic.Int64
		mu           sync.Mutex
		res          = result{ByVersion: map[string]int{}, FailedBy: map[string]int{}}
		wg           sync.WaitGroup
		done         atomic.Bool
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for !done.Load() {
				sent.Add(1)
				resp, err := c.Get(url + "/")
				var v string
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					v = resp.Header.Get("X-Version")
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d from %s", resp.StatusCode, v)
					}
				}
				mu.Lock()
				if err != nil {
					failed.Add(1)
					res.FailedBy[v]++
					if len(res.Errors) < 5 {
						res.Errors = append(res.Errors, err.Error())
					}
				} else {
					res.ByVersion[v]++
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond) // a steady load, not a flood: 2 cores run all of it
			}
		}()
	}
	for end := time.Now().Add(5 * time.Minute); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(stop); err == nil {
			break
		}
	}
	done.Store(true)
	wg.Wait()
	res.Sent, res.Failed = sent.Load(), failed.Load()
	_ = json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// load is a load generator process.
type load struct {
	t    *testing.T
	cmd  *exec.Cmd
	stop string
	out  *os.File
}

// startLoad runs the test binary as a load generator against url, under wrap (nil, or ip
// netns exec NS).
func startLoad(t *testing.T, wrap []string, url string) *load {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l := &load{t: t, stop: filepath.Join(dir, "stop")}
	if l.out, err = os.Create(filepath.Join(dir, "out.json")); err != nil {
		t.Fatal(err)
	}
	argv := append(append([]string(nil), wrap...), exe)
	l.cmd = exec.Command(argv[0], argv[1:]...)
	l.cmd.Env = append(os.Environ(), envLoadURL+"="+url, envLoadStop+"="+l.stop)
	l.cmd.Stdout, l.cmd.Stderr = l.out, os.Stderr
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.end() })
	return l
}

// end stops the load and returns what it counted.
func (l *load) end() result {
	if l.cmd == nil {
		return result{}
	}
	_ = os.WriteFile(l.stop, nil, 0o600)
	if err := l.cmd.Wait(); err != nil {
		l.t.Errorf("load generator: %v", err)
	}
	l.cmd = nil
	data, _ := os.ReadFile(l.out.Name())
	l.out.Close()
	var r result
	if err := json.Unmarshal(data, &r); err != nil {
		l.t.Errorf("load generator output %q: %v", data, err)
	}
	return r
}
