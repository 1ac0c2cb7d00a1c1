// Package awstest runs a real moto_server on 127.0.0.1 for the AWS providers' tests and
// gives SDK configs pointed at it. A missing moto_server fails the test loudly; it is never
// a skip. Imported by tests only.
package awstest

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/cutover/cutover/internal/freeport"
)

// Moto is one running moto_server.
type Moto struct {
	URL string
}

// Start starts moto_server on a free loopback port and stops it when t ends.
func Start(t *testing.T) *Moto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is not on PATH (%v): the AWS provider tests need it; install moto 5.2.1 (pip install 'moto[server]==5.2.1')", err)
	}
	port, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	end := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("moto_server exited at start: %s", out.String())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("moto_server did not answer on %s within 30s: %v\n%s", m.URL, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return m
}

// Reset forgets every resource moto holds.
func (m *Moto) Reset(t *testing.T) {
	t.Helper()
	resp, err := http.Post(m.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset moto: %s", resp.Status)
	}
}

// Config is an SDK config for moto: static test credentials, us-east-1, and the SDK's
// standard retries (3 attempts), as cutover's own clients use: moto's werkzeug server now
// and then resets a kept-alive connection, which the SDK classes as a retryable
// connection error ("use of closed network connection"); with one attempt a test set-up
// call failed on it in CI.
func (m *Moto) Config() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(m.URL), RetryMaxAttempts: 3}
}

// Ctx is a context bounded for one test's calls.
func Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
