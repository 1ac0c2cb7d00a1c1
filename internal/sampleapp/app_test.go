package sampleapp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()
	app := start(t, Config{Version: "v2"})
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/", 200, "hello from v2\n"},
		{"/any/other/path", 200, "hello from v2\n"},
		{"/healthz", 200, "ok\n"},
		{"/version", 200, "v2\n"},
		{"/slow?d=50ms", 200, "slept 50ms\n"},
		{"/slow?d=soon", 400, "invalid d \"soon\": want a duration such as 2s\n"},
	}
	for _, tt := range tests {
		status, version, body := get(t, http.DefaultClient, app.url+tt.path)
		if status != tt.wantStatus || body != tt.wantBody || version != "v2" {
			t.Errorf("GET %s = %d %q (X-Version %q), want %d %q (X-Version v2)", tt.path, status, body, version, tt.wantStatus, tt.wantBody)
		}
	}
	if err := app.stop(); err != nil {
		t.Fatalf("Run = %v, want nil after cancelling", err)
	}
	log := app.log.String()
	if lines := strings.Count(log, "\n"); lines != 2 || !strings.Contains(log, "sample-app v2: listening on") ||
		!strings.HasSuffix(log, "sample-app v2: stopped\n") {
		t.Errorf("log = %q, want one line for the start and one for the stop", log)
	}
}

func TestSlowWaitsForDuration(t *testing.T) {
	t.Parallel()
	app := start(t, Config{Version: "v1"})
	begin := time.Now()
	if status, _, _ := get(t, http.DefaultClient, app.url+"/slow?d=300ms"); status != 200 {
		t.Fatalf("GET /slow = %d", status)
	}
	if d := time.Since(begin); d < 300*time.Millisecond {
		t.Errorf("GET /slow?d=300ms answered after %v", d)
	}
}

func TestErrorRateIsDeterministic(t *testing.T) {
	t.Parallel()
	app := start(t, Config{Version: "v3", ErrorRate: 0.1})
	failures := 0
	for i := 1; i <= 100; i++ {
		status, _, body := get(t, http.DefaultClient, app.url+"/")
		switch {
		case status == 500 && body == "sample failure\n":
			failures++
			if i%10 != 0 {
				t.Errorf("request %d failed; want only every 10th", i)
			}
		case status != 200:
			t.Errorf("request %d: status %d %q", i, status, body)
		}
	}
	if failures != 10 {
		t.Errorf("%d of 100 requests failed at error rate 0.1, want 10", failures)
	}
	// Other endpoints neither fail nor count.
	if status, _, _ := get(t, http.DefaultClient, app.url+"/healthz"); status != 200 {
		t.Errorf("GET /healthz = %d with an error rate, want 200", status)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	app := start(t, Config{Version: "v1", Latency: 200 * time.Millisecond})
	begin := time.Now()
	get(t, http.DefaultClient, app.url+"/")
	if d := time.Since(begin); d < 200*time.Millisecond {
		t.Errorf("GET / answered after %v, want at least the 200ms latency", d)
	}
	begin = time.Now()
	get(t, http.DefaultClient, app.url+"/healthz")
	if d := time.Since(begin); d >= 200*time.Millisecond {
		t.Errorf("GET /healthz took %v; latency applies to / only", d)
	}
}

func TestUnhealthy(t *testing.T) {
	t.Parallel()
	app := start(t, Config{Version: "v1", Unhealthy: true})
	if status, _, body := get(t, http.DefaultClient, app.url+"/healthz"); status != 503 || body != "unhealthy\n" {
		t.Errorf("GET /healthz = %d %q, want 503", status, body)
	}
	if status, _, _ := get(t, http.DefaultClient, app.url+"/"); status != 200 {
		t.Errorf("GET / = %d, want 200: only the health check fails", status)
	}
}

func TestStartDelay(t *testing.T) {
	t.Parallel()
	cfg := Config{Version: "v1", StartDelay: 300 * time.Millisecond, Port: freePort(t)}
	begin := time.Now()
	app := startNoWait(t, cfg)
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(cfg.Port)); err == nil {
		_ = c.Close()
		t.Fatal("the app listens before its start delay passed")
	}
	waitListening(t, cfg.Port, 5*time.Second)
	if d := time.Since(begin); d < cfg.StartDelay {
		t.Errorf("listening after %v, want at least the %v start delay", d, cfg.StartDelay)
	}
	if status, _, _ := get(t, http.DefaultClient, app.url+"/healthz"); status != 200 {
		t.Errorf("GET /healthz = %d after the start delay, want 200", status)
	}
}

func TestStopDuringStartDelay(t *testing.T) {
	t.Parallel()
	app := startNoWait(t, Config{Version: "v1", StartDelay: time.Hour, Port: freePort(t)})
	if err := app.stop(); err != nil {
		t.Fatalf("Run = %v, want nil when stopped before listening", err)
	}
}

func TestHangAcceptsButNeverAnswers(t *testing.T) {
	t.Parallel()
	app := start(t, Config{Version: "v1", Hang: true})
	client := &http.Client{Timeout: 300 * time.Millisecond}
	_, err := client.Get(app.url + "/healthz")
	var nerr net.Error
	if !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Fatalf("GET /healthz on a hanging app = %v, want a client timeout", err)
	}
	if err := app.stop(); err != nil {
		t.Fatalf("Run = %v, want nil after cancelling", err)
	}
}

func TestCrashAfter(t *testing.T) {
	t.Parallel()
	for _, hang := range []bool{false, true} {
		exited := make(chan int, 1)
		cfg := Config{Version: "v1", CrashAfter: 200 * time.Millisecond, Hang: hang, exit: func(code int) { exited <- code },
			Port: freePort(t)}
		app := startNoWait(t, cfg) // it may crash before a poll sees it listen
		select {
		case code := <-exited:
			if code != CrashExitCode {
				t.Errorf("crash exit code = %d, want %d", code, CrashExitCode)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no crash within 5s of a 200ms CrashAfter")
		}
		<-app.done
		if !errors.Is(app.err, errCrashed) {
			t.Errorf("Run after a crash = %v, want errCrashed", app.err)
		}
		if log := app.log.String(); !strings.Contains(log, "listening on") ||
			!strings.HasSuffix(log, "crashing with exit code 3 (SAMPLE_CRASH_AFTER=200ms)\n") {
			t.Errorf("log = %q, want a crash line", app.log.String())
		}
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(app.port)); err == nil {
			_ = c.Close()
			t.Errorf("hang=%v: the app still listens after crashing", hang)
		}
	}
}

func TestRunRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	err := Run(context.Background(), Config{Port: 0, ErrorRate: 2}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PORT") || !strings.Contains(err.Error(), "SAMPLE_ERROR_RATE") {
		t.Errorf("Run(invalid) = %v, want errors naming PORT and SAMPLE_ERROR_RATE", err)
	}
}
