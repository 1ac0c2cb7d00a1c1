package sampleapp

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestSSE(t *testing.T) {
	t.Parallel()
	app := start(t, Config{Version: "v2"})
	resp, err := http.Get(app.url + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var data []string
	begin := time.Now()
	for len(data) < 3 && sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, v)
		}
	}
	if want := []string{"v2 1", "v2 2", "v2 3"}; strings.Join(data, ",") != strings.Join(want, ",") {
		t.Errorf("events = %q, want %q", data, want)
	}
	// The first event comes with the headers; two intervals separate it from the third.
	if d := time.Since(begin); d < 2*sseInterval-50*time.Millisecond {
		t.Errorf("3 events in %v, want one every %v", d, sseInterval)
	}

	// Shutting down ends the stream with a bye event instead of holding the shutdown.
	stopped := make(chan error, 1)
	go func() { stopped <- app.stop() }()
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(rest.String(), "event: bye") {
		t.Errorf("stream after shutdown = %q, want a bye event", rest.String())
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestWebSocketEcho(t *testing.T) {
	t.Parallel()
	app := start(t, Config{Version: "v2"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://127.0.0.1:"+strconv.Itoa(app.port)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := resp.Header.Get("X-Version"); v != "v2" {
		t.Errorf("X-Version of the upgrade = %q, want v2", v)
	}
	for _, msg := range []string{"ping", "second message"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil || typ != websocket.MessageText || string(got) != msg {
			t.Fatalf("echo of %q = %v %q, %v", msg, typ, got, err)
		}
	}

	// Shutting down closes the socket with "going away" and Run still returns.
	stopped := make(chan error, 1)
	go func() { stopped <- app.stop() }()
	_, _, err = c.Read(ctx)
	if status := websocket.CloseStatus(err); status != websocket.StatusGoingAway {
		t.Errorf("read after shutdown = %v, want close status going away", err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run = %v", err)
	}
}
