package sampleapp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/freeport"
)

// running is a sample app started in-process by start.
type running struct {
	url  string
	port int
	log  *syncBuffer
	done chan struct{} // closed when Run returned
	err  error         // what Run returned, once done is closed
	stop func() error  // cancels Run and returns what it returned
}

// start runs cfg (its Port chosen here) until the test ends and waits until it listens.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	cfg.Port = freePort(t)
	r := startNoWait(t, cfg)
	waitListening(t, r.port, cfg.StartDelay+5*time.Second)
	return r
}

func startNoWait(t *testing.T, cfg Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{url: "http://127.0.0.1:" + strconv.Itoa(cfg.Port), port: cfg.Port, log: &syncBuffer{}, done: make(chan struct{})}
	go func() {
		r.err = Run(ctx, cfg, r.log)
		close(r.done)
	}()
	r.stop = func() error {
		cancel()
		select {
		case <-r.done:
			return r.err
		case <-time.After(15 * time.Second):
			return errors.New("Run did not return within 15s of cancelling")
		}
	}
	t.Cleanup(func() { _ = r.stop() })
	return r
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitListening(t *testing.T, port int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %d not listening after %v: %v", port, within, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// get fetches url and returns the status, the X-Version header and the body.
func get(t *testing.T, client *http.Client, url string) (int, string, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("X-Version"), string(body)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
