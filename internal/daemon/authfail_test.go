package daemon

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestWrongTokensAreDelayedLimitedAndLoggedOncePerBurst: wrong bearer tokens and wrong
// dashboard logins from one address wait the delay, turn into 429 past the limit, and the
// whole burst is one log line; the right token is still served.
func TestWrongTokensAreDelayedLimitedAndLoggedOncePerBurst(t *testing.T) {
	dir, listen := t.TempDir(), sampletest.FreeAddr(t)
	logs := &lockedBuf{}
	const delay = 150 * time.Millisecond
	startTCP(t, Config{DataDir: dir, Listen: listen, AuthFailDelay: delay, AuthFailLimit: 3,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	var codes []int
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("GET", "http://"+listen+"/api/v1/apps", nil)
		req.Header.Set("Authorization", "Bearer wrong")
		began := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if took := time.Since(began); took < delay {
			t.Errorf("wrong token %d answered after %v, want at least the delay %v", i, took, delay)
		}
		codes = append(codes, resp.StatusCode)
	}
	for i := 0; i < 2; i++ {
		resp, err := http.PostForm("http://"+listen+"/ui/login", url.Values{"token": {"wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	want := []int{401, 401, 401, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("answers %v, want %v", codes, want)
		}
	}
	if n := strings.Count(logs.String(), "authentication failed"); n != 1 {
		t.Fatalf("%d log lines for one burst of 5 failures, want 1:\n%s", n, logs.String())
	}
	req, _ := http.NewRequest("GET", "http://"+listen+"/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+readToken(t, dir, TokenFile))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the admin token after the burst: %d, want 200", resp.StatusCode)
	}
}
