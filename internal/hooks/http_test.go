package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts an HTTP server on 127.0.0.1 that answers with h.
func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPCheck(t *testing.T) {
	t.Parallel()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, "all systems ready\n")
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "database unreachable\n")
		case "/created":
			if r.Method != http.MethodPost {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			w.WriteHeader(http.StatusCreated)
		case "/elsewhere":
			http.Redirect(w, r, "http://example.invalid/login", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	})
	tests := []struct {
		desc       string
		check      HTTPCheck
		wantPassed bool
		wantReason string
		wantOutput string
	}{
		{desc: "status and body match", check: HTTPCheck{URL: srv.URL + "/ok", ExpectBody: "ready"},
			wantPassed: true, wantReason: "GET " + srv.URL + "/ok: status 200", wantOutput: "all systems ready\n"},
		{desc: "status mismatch", check: HTTPCheck{URL: srv.URL + "/fail"},
			wantReason: "GET " + srv.URL + "/fail: status 500, want 200", wantOutput: "database unreachable\n"},
		{desc: "body mismatch", check: HTTPCheck{URL: srv.URL + "/ok", ExpectBody: "healthy"},
			wantReason: `GET ` + srv.URL + `/ok: status 200, body does not contain "healthy"`, wantOutput: "all systems ready\n"},
		{desc: "expected non-200 status", check: HTTPCheck{Method: http.MethodPost, URL: srv.URL + "/created", ExpectStatus: 201},
			wantPassed: true, wantReason: "POST " + srv.URL + "/created: status 201"},
		{desc: "redirect to another host is judged as is", check: HTTPCheck{URL: srv.URL + "/elsewhere", ExpectStatus: 302},
			wantPassed: true, wantReason: "GET " + srv.URL + "/elsewhere: status 302"},
		{desc: "connection refused", check: HTTPCheck{URL: "http://127.0.0.1:1/"},
			wantReason: "GET http://127.0.0.1:1/: dial tcp 127.0.0.1:1: connect: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			res := Runner{}.Run(context.Background(), Hook{Name: "smoke", Timeout: 5 * time.Second, HTTP: &tt.check}, Info{})
			if res.Passed != tt.wantPassed || res.Reason != tt.wantReason {
				t.Errorf("Run = passed %v, reason %q; want passed %v, reason %q", res.Passed, res.Reason, tt.wantPassed, tt.wantReason)
			}
			if tt.wantOutput != "" && res.Output != tt.wantOutput {
				t.Errorf("Output = %q, want %q", res.Output, tt.wantOutput)
			}
			if res.Hook != "smoke" || res.Attempts != 1 || res.Duration <= 0 {
				t.Errorf("Run = hook %q, %d attempts, duration %v; want smoke, 1, > 0", res.Hook, res.Attempts, res.Duration)
			}
		})
	}
}

func TestHTTPCheckRetriesUntilSuccess(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	check := &HTTPCheck{URL: srv.URL, Retries: 4, RetryDelay: 10 * time.Millisecond}
	res := Runner{}.Run(context.Background(), Hook{Name: "warmup", HTTP: check}, Info{})
	if !res.Passed || res.Attempts != 3 || calls.Load() != 3 {
		t.Fatalf("Run = passed %v after %d attempts (%d requests), reason %q; want a pass on the 3rd",
			res.Passed, res.Attempts, calls.Load(), res.Reason)
	}
	if want := "GET " + srv.URL + ": status 200 (attempt 3 of 5)"; res.Reason != want {
		t.Errorf("Reason = %q, want %q", res.Reason, want)
	}
}

func TestHTTPCheckRetriesExhausted(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	})
	check := &HTTPCheck{URL: srv.URL, Retries: 2, RetryDelay: time.Millisecond}
	res := Runner{}.Run(context.Background(), Hook{HTTP: check}, Info{})
	if res.Passed || res.Attempts != 3 || calls.Load() != 3 {
		t.Fatalf("Run = passed %v after %d attempts (%d requests); want a failure after 3", res.Passed, res.Attempts, calls.Load())
	}
	if want := "GET " + srv.URL + ": status 502, want 200 (attempt 3 of 3)"; res.Reason != want {
		t.Errorf("Reason = %q, want %q", res.Reason, want)
	}
}

func TestHTTPCheckTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release) // before srv.Close, which waits for handlers
	start := time.Now()
	res := Runner{}.Run(context.Background(), Hook{Timeout: 100 * time.Millisecond, HTTP: &HTTPCheck{URL: srv.URL + "/slow"}}, Info{})
	if res.Passed || res.Reason != "GET "+srv.URL+"/slow: timed out after 100ms" {
		t.Errorf("Run = passed %v, reason %q; want a timeout", res.Passed, res.Reason)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %v, want about the 100ms timeout", d)
	}
}

func TestHTTPCheckCanceledBetweenAttempts(t *testing.T) {
	t.Parallel()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The caller gives up right after the first answer, during the minute-long retry delay.
	client := &http.Client{Transport: cancelAfterResponse{cancel}}
	check := &HTTPCheck{URL: srv.URL, Retries: 5, RetryDelay: time.Minute}
	res := Runner{Client: client}.Run(ctx, Hook{HTTP: check}, Info{})
	want := "GET " + srv.URL + ": canceled before attempt 2 (context canceled), last failure: status 500, want 200"
	if res.Passed || res.Attempts != 1 || res.Reason != want {
		t.Errorf("Run = passed %v after %d attempts, reason %q; want %q", res.Passed, res.Attempts, res.Reason, want)
	}
}

func TestHTTPCheckCanceledDuringAttempt(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res := Runner{}.Run(ctx, Hook{HTTP: &HTTPCheck{URL: srv.URL, Retries: 3, RetryDelay: time.Millisecond}}, Info{})
	if want := "GET " + srv.URL + ": canceled: context canceled"; res.Passed || res.Attempts != 1 || res.Reason != want {
		t.Errorf("Run = passed %v after %d attempts, reason %q; want %q and no retry", res.Passed, res.Attempts, res.Reason, want)
	}
}

// cancelAfterResponse is a transport that reads a whole response and then calls cancel.
type cancelAfterResponse struct{ cancel context.CancelFunc }

func (c cancelAfterResponse) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.cancel()
	return resp, nil
}

func TestHTTPCheckOutputKeepsTail(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 100<<10) + "THE END"
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) })
	res := Runner{}.Run(context.Background(), Hook{HTTP: &HTTPCheck{URL: srv.URL, ExpectBody: "THE END"}}, Info{})
	if !res.Passed || len(res.Output) > MaxOutput || !strings.HasSuffix(res.Output, "THE END") ||
		!strings.HasPrefix(res.Output, truncatedMarker) {
		t.Errorf("Run = passed %v, output of %d bytes (%.40q...); want a pass with the last %d bytes",
			res.Passed, len(res.Output), res.Output, MaxOutput)
	}
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	info := Info{App: "web", Deployment: "d-42", Point: "before_allow_traffic", BlueVersion: "v1", GreenVersion: "v2",
		TestURL: "http://127.0.0.1:8081", GreenURL: "http://127.0.0.1:9002", Weight: 12.5}
	got := make(chan map[string]any, 1)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			json.NewDecoder(r.Body).Decode(&body) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got <- body
		if r.URL.Path == "/reject" {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, "change freeze in effect\n")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})

	res := Runner{}.Run(context.Background(), Hook{Name: "notify", Webhook: &Webhook{URL: srv.URL + "/accept"}}, info)
	if !res.Passed || res.Reason != "POST "+srv.URL+"/accept: status 204" {
		t.Fatalf("Run = passed %v, reason %q; want a pass", res.Passed, res.Reason)
	}
	want := map[string]any{"app": "web", "deployment": "d-42", "point": "before_allow_traffic", "blue_version": "v1",
		"green_version": "v2", "test_url": "http://127.0.0.1:8081", "green_url": "http://127.0.0.1:9002", "weight": 12.5}
	body := <-got
	if len(body) != len(want) {
		t.Errorf("webhook body = %v, want %v", body, want)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("webhook body[%q] = %v, want %v", k, body[k], v)
		}
	}

	res = Runner{}.Run(context.Background(), Hook{Webhook: &Webhook{URL: srv.URL + "/reject"}}, info)
	<-got
	if res.Passed || res.Reason != "POST "+srv.URL+"/reject: status 409, want 2xx" || res.Output != "change freeze in effect\n" {
		t.Errorf("Run = passed %v, reason %q, output %q; want a failure naming status 409", res.Passed, res.Reason, res.Output)
	}
}

func TestMalformedHook(t *testing.T) {
	t.Parallel()
	for _, h := range []Hook{
		{Name: "none"},
		{Name: "two", HTTP: &HTTPCheck{URL: "http://127.0.0.1:1"}, Webhook: &Webhook{URL: "http://127.0.0.1:1"}},
	} {
		res := Runner{}.Run(context.Background(), h, Info{})
		if res.Passed || !strings.Contains(res.Reason, "exactly one of http, command and webhook") || res.Attempts != 0 {
			t.Errorf("Run(%s) = passed %v, reason %q, %d attempts; want a failure saying what is wrong",
				h.Name, res.Passed, res.Reason, res.Attempts)
		}
	}
	res := Runner{}.Run(context.Background(), Hook{HTTP: &HTTPCheck{URL: "::not a url", Retries: 3}}, Info{})
	if res.Passed || !strings.Contains(res.Reason, "invalid request") || res.Attempts != 1 {
		t.Errorf("Run(bad URL) = passed %v after %d attempts, reason %q; want one invalid request", res.Passed, res.Attempts, res.Reason)
	}
}
