package analysis

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const promVector = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.02"]}]}}`

// metricsServer serves a fixed status and body on 127.0.0.1 under /api/v1/query, and
// blocks on /slow until the request is cancelled or the test ends.
func metricsServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q, want application/json", got)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

func TestFetcher(t *testing.T) {
	const path = "data.result.0.value.1"
	tests := []struct {
		desc     string
		status   int
		body     string
		urlPath  string
		jsonPath string
		op       string
		timeout  time.Duration
		want     Verdict
		evidence []string
	}{
		{desc: "prometheus value below the threshold passes", status: 200, body: promVector, jsonPath: path, op: "<",
			want: Pass, evidence: []string{"error-ratio is 0.02 < 0.05"}},
		{desc: "prometheus value not above the threshold fails", status: 200, body: promVector, jsonPath: path, op: ">",
			want: Fail, evidence: []string{"error-ratio is 0.02, not > 0.05"}},
		{desc: "server error is inconclusive", status: 500, body: `{"status":"error"}`, jsonPath: path, op: "<",
			want: Inconclusive, evidence: []string{"HTTP 500 Internal Server Error"}},
		{desc: "a path that is not there is inconclusive", status: 200, body: promVector, jsonPath: "data.result.1.value.1", op: "<",
			want: Inconclusive, evidence: []string{`no index "1" in the array of 1 at data.result`}},
		{desc: "a missing key is inconclusive", status: 200, body: promVector, jsonPath: "data.results", op: "<",
			want: Inconclusive, evidence: []string{`no key "results" at data`}},
		{desc: "an empty result (no data) is inconclusive", status: 200, op: "<", jsonPath: path,
			body: `{"status":"success","data":{"resultType":"vector","result":[]}}`,
			want: Inconclusive, evidence: []string{"array of 0"}},
		{desc: "a timeout is inconclusive", status: 200, body: promVector, urlPath: "/slow", jsonPath: path, op: "<",
			timeout: 50 * time.Millisecond, want: Inconclusive, evidence: []string{"no response within the 50ms timeout"}},
		{desc: "a body that is not JSON is inconclusive", status: 200, body: `<html>`, jsonPath: path, op: "<",
			want: Inconclusive, evidence: []string{"is not JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			srv := metricsServer(t, tt.status, tt.body)
			urlPath := tt.urlPath
			if urlPath == "" {
				urlPath = "/api/v1/query"
			}
			c := Check{Name: "error-ratio", External: &External{
				URL:      srv.URL + urlPath + "?query=sum(rate(x[1m]))",
				JSONPath: tt.jsonPath, Op: tt.op, Value: 0.05, Timeout: tt.timeout,
			}}
			start := time.Now()
			got := Fetcher{Client: srv.Client()}.Evaluate(context.Background(), c)
			wantResult(t, got, tt.want, tt.evidence...)
			if tt.want != Inconclusive && got.Value != 0.02 {
				t.Errorf("Value = %v, want 0.02", got.Value)
			}
			if strings.Contains(got.Evidence, "query=") {
				t.Errorf("evidence %q repeats the query string", got.Evidence)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestFetcherRefusesWhatItCannotJudge(t *testing.T) {
	ctx := context.Background()
	got := Fetcher{}.Evaluate(ctx, Check{Name: "errors", ErrorRate: &ErrorRate{Max: 1}})
	wantResult(t, got, Inconclusive, "analysis.Evaluate")
	got = Fetcher{}.Evaluate(ctx, Check{External: &External{URL: "ftp://x", Op: "~", Timeout: -1}})
	wantResult(t, got, Inconclusive, "external.url", "external.op", "external.timeout")
	// Nothing listens on port 1: a transport error, inconclusive, and the password stays out.
	got = Fetcher{}.Evaluate(ctx, Check{External: &External{URL: "http://u:secret@127.0.0.1:1/q?token=abc", Op: "<"}})
	wantResult(t, got, Inconclusive, "GET http://u:xxxxx@127.0.0.1:1/q")
	if strings.Contains(got.Evidence, "secret") || strings.Contains(got.Evidence, "abc") {
		t.Errorf("evidence %q leaks a secret", got.Evidence)
	}
}

func TestJudgeExternal(t *testing.T) {
	tests := []struct {
		desc     string
		body     string
		path     string
		op       string
		value    float64
		want     Verdict
		evidence string
	}{
		{desc: "a JSON number leaf", body: `{"a":{"b":[1,2.5]}}`, path: "a.b.1", op: "==", value: 2.5, want: Pass},
		{desc: "a string leaf holding a number", body: `{"v":"1e-3"}`, path: "v", op: "<=", value: 0.001, want: Pass},
		{desc: "the whole document", body: `42`, path: "", op: ">=", value: 42, want: Pass},
		{desc: "!= on equal values fails", body: `7`, path: "", op: "!=", value: 7, want: Fail},
		{desc: "a key made of digits in an object", body: `{"0":3}`, path: "0", op: "<", value: 5, want: Pass},
		{desc: "NaN from prometheus is inconclusive", body: `{"v":"NaN"}`, path: "v", op: "<", value: 1,
			want: Inconclusive, evidence: "no data"},
		{desc: "+Inf is inconclusive", body: `{"v":"+Inf"}`, path: "v", op: ">", value: 1, want: Inconclusive},
		{desc: "a boolean leaf is inconclusive", body: `{"v":true}`, path: "v", op: "<", value: 1,
			want: Inconclusive, evidence: "found a boolean, want a number"},
		{desc: "a non-numeric string is inconclusive", body: `{"v":"high"}`, path: "v", op: "<", value: 1,
			want: Inconclusive, evidence: `"high" is not a number`},
		{desc: "descending into a number is inconclusive", body: `{"v":1}`, path: "v.x", op: "<", value: 1,
			want: Inconclusive, evidence: "v is a number, not an object or array"},
		{desc: "a negative index is inconclusive", body: `[1]`, path: "-1", op: "<", value: 1, want: Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			x := External{URL: "http://127.0.0.1/q", JSONPath: tt.path, Op: tt.op, Value: tt.value}
			got := judgeExternal(Check{Name: "q", External: &x}, x, []byte(tt.body))
			var fragments []string
			if tt.evidence != "" {
				fragments = append(fragments, tt.evidence)
			}
			wantResult(t, got, tt.want, fragments...)
		})
	}
}
