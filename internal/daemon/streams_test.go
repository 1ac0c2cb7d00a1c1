package daemon

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestEventStreamsPerTokenAreBounded: past MaxStreamsPerToken open streams a token gets 429;
// the other token is not affected, and closing a stream frees its place.
func TestEventStreamsPerTokenAreBounded(t *testing.T) {
	dir, listen := t.TempDir(), sampletest.FreeAddr(t)
	startTCP(t, Config{DataDir: dir, Listen: listen, MaxStreamsPerToken: 2})
	admin, viewer := readToken(t, dir, TokenFile), readToken(t, dir, ReadOnlyTokenFile)
	open := func(tok string) (int, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+listen+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
		}
		return resp.StatusCode, cancel
	}
	var cancels []context.CancelFunc
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	for i := 0; i < 2; i++ {
		code, cancel := open(admin)
		cancels = append(cancels, cancel)
		if code != 200 {
			t.Fatalf("stream %d: %d, want 200", i, code)
		}
	}
	if code, cancel := open(admin); code != http.StatusTooManyRequests {
		cancel()
		t.Fatalf("third admin stream: %d, want 429", code)
	}
	code, cancel := open(viewer)
	cancels = append(cancels, cancel)
	if code != 200 {
		t.Fatalf("a viewer stream beside two admin ones: %d, want 200", code)
	}
	cancels[0]()
	for i := 0; ; i++ {
		code, cancel := open(admin)
		cancels = append(cancels, cancel)
		if code == 200 {
			break
		}
		if i == 100 {
			t.Fatalf("closing a stream did not free its place: %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
