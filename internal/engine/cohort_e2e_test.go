package engine

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/deploy"
)

const heldAtTen = `
strategy:
  canary:
    steps:
      - {weight: 10, approval: true}
`

// TestE2ESixteenStickyClientsAlwaysReachGreen is issue 12's case with the real router and
// sample app processes: a canary held at 10%, and 20 runs of 16 new keep-alive clients that
// keep cookies. With random buckets about one run in five put no client in green's cohort
// (0.9^16 ≈ 19%); fair cohorts put 1 or 2 there every time.
func TestE2ESixteenStickyClientsAlwaysReachGreen(t *testing.T) {
	r := baseline(t, heldAtTen)
	s, err := r.eng.Deploy(context.Background(), "web", "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, s.ID, func(s deploy.State) bool { return s.Phase == deploy.PhaseShifting && s.Weight == 1000 })
	for run := 1; run <= 20; run++ {
		var mu sync.Mutex
		greenClients, greenRequests, total := 0, 0, 0
		var wg sync.WaitGroup
		for c := 0; c < 16; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				jar, _ := cookiejar.New(nil)
				cl := &http.Client{Jar: jar, Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
				defer cl.CloseIdleConnections()
				green := 0
				for i := 0; i < 10; i++ {
					resp, err := cl.Get(r.url + "/")
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.Header.Get("X-Version") == "v2" {
						green++
					}
				}
				mu.Lock()
				total += 10
				greenRequests += green
				if green > 0 {
					greenClients++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if greenRequests == 0 || greenClients > 2 {
			t.Fatalf("run %d: green served %d of %d requests, %d of 16 clients (want 1 or 2 clients)", run, greenRequests, total, greenClients)
		}
	}
	if err := r.eng.Command("web", deploy.CmdAbort); err != nil {
		t.Fatal(err)
	}
}

// TestE2ERebalanceBringsStickyBlueClientsToGreen: 16 keep-alive clients whose cookies all
// pin them on blue's side (as clients of an earlier, unlucky split would be) give green
// nothing at 10%. The default split check policy re-balances the cohorts: 1 or 2 of the 16
// move to green, the split is back in range and the canary goes on to succeed, well before
// the split deadline would have failed it.
func TestE2ERebalanceBringsStickyBlueClientsToGreen(t *testing.T) {
	r := baseline(t, "")
	r.apply(r.specText(`
strategy:
  canary:
    steps:
      - {weight: 10, pause: 3s}
split_check: {deadline: 30s}
`))
	u, _ := url.Parse(r.url)
	stop := make(chan struct{})
	var mu sync.Mutex
	greenClients := map[int]bool{}
	var wg sync.WaitGroup
	for c := 0; c < 16; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			jar.SetCookies(u, []*http.Cookie{{Name: "cutover-bucket-web", Value: strconv.Itoa(1000 + c*500)}})
			cl := &http.Client{Jar: jar, Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer cl.CloseIdleConnections()
			for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := cl.Get(r.url + "/")
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.Header.Get("X-Version") == "v2" {
					mu.Lock()
					greenClients[c] = true
					mu.Unlock()
				}
			}
		}()
	}
	s := r.deploy("v2", nil)
	close(stop)
	wg.Wait()
	events := r.eventText(s.ID)
	if s.Phase != deploy.PhaseSucceeded {
		t.Fatalf("v2: %s: %s\n%s", s.Phase, s.Reason, events)
	}
	for _, want := range []string{"16 sticky clients, none in green's cohort; re-balancing the cohorts", "back in range"} {
		if !strings.Contains(events, want) {
			t.Errorf("events lack %q:\n%s", want, events)
		}
	}
	// Of the 16 re-balanced at 10%, 1 or 2 reached green before 100% (and all of them after).
	if n := len(greenClients); n == 0 {
		t.Errorf("no client reached green")
	}
}
