package routerctl_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/routerctl"
)

// killLoad is bounded load of keep-alive and new-connection clients; refused counts
// ECONNREFUSED apart from every other failure.
type killLoad struct {
	ok, refused, failed atomic.Int64
	mu                  sync.Mutex
	errs                []string
	stop                chan struct{}
	wg                  sync.WaitGroup
}

func startKillLoad(url string, keepAlive, fresh int) *killLoad {
	l := &killLoad{stop: make(chan struct{})}
	run := func(c *http.Client) {
		defer l.wg.Done()
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			resp, err := c.Get(url)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = errors.New(resp.Status)
				}
			}
			switch {
			case err == nil:
				l.ok.Add(1)
			case errors.Is(err, syscall.ECONNREFUSED):
				l.refused.Add(1)
			default:
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.errs) < 10 {
					l.errs = append(l.errs, err.Error())
				}
				l.mu.Unlock()
			}
		}
	}
	for range keepAlive {
		l.wg.Add(1)
		go run(&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}})
	}
	for range fresh {
		l.wg.Add(1)
		go run(&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: (&net.Dialer{}).DialContext}})
	}
	return l
}

func (l *killLoad) waitOK(t *testing.T, more int64) {
	t.Helper()
	want := l.ok.Load() + more
	deadline := time.Now().Add(20 * time.Second)
	for l.ok.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d more requests succeeded in 20s", l.ok.Load()-want+more, more)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *killLoad) end() { close(l.stop); l.wg.Wait() }

func TestKilledRouterRefusesNoConnection(t *testing.T) {
	r := newRig(t)
	s, _, started, err := routerctl.Supervise(context.Background(), r.dir, r.exe, slog.New(slog.DiscardHandler))
	if err != nil || started {
		t.Fatalf("Supervise over a running router: started=%v err=%v", started, err)
	}
	defer s.Close()
	table := r.table(10000)
	if err := s.Apply(table); err != nil {
		t.Fatal(err)
	}
	if held := s.Held(); len(held) != 1 || held[0] != r.listen {
		t.Fatalf("held sockets %v after the push, want [%s]", held, r.listen)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); s.Run(ctx, func() error { return s.Apply(table) }) }()
	defer func() { cancel(); <-ran }()

	load := startKillLoad("http://"+r.listen+"/", 4, 4)
	load.waitOK(t, 200)
	pids := []int{r.pid()}
	for i := range 6 {
		if i == 3 { // an upgraded router hands over the fd-passing socket; the server holds the new one's
			uctx, ucancel := context.WithTimeout(context.Background(), 40*time.Second)
			pid, err := r.c.Upgrade(uctx)
			ucancel()
			if err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			waitGone(t, pids[len(pids)-1])
			pids = append(pids, pid)
			load.waitOK(t, 200)
		}
		old := pids[len(pids)-1]
		if i == 3 {
			continue
		}
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if st, err := r.c.Ping(context.Background()); err == nil && st.PID != old {
				pids = append(pids, st.PID)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: no new router 20s after pid %d was killed", i+1, old)
			}
			time.Sleep(10 * time.Millisecond)
		}
		load.waitOK(t, 200)
	}
	load.end()
	t.Logf("5 kills and an upgrade (pids %v): %d ok, %d refused, %d other failures %v", pids, load.ok.Load(), load.refused.Load(), load.failed.Load(), load.errs)
	if n := load.refused.Load(); n != 0 {
		t.Errorf("%d connections refused across 5 kills and an upgrade of the router; want 0", n)
	}
	got, err := r.c.Table()
	if err != nil || len(got.Listeners) != 1 || got.Listeners[0].Addr != r.listen || len(got.Apps) != 1 || got.Apps[0].GreenWeight != 10000 {
		t.Fatalf("table after the kills: %+v, %v; want the pushed one", got, err)
	}
	if v, err := r.get(); err != nil || v != "green" {
		t.Fatalf("GET after the kills: %q, %v; want green", v, err)
	}
}

// A listener the table drops is dropped by the supervisor too: its port is free again.
func TestSupervisorDropsTheSocketOfARemovedListener(t *testing.T) {
	r := newRig(t)
	s, _, _, err := routerctl.Supervise(context.Background(), r.dir, r.exe, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Apply(r.table(0)); err != nil {
		t.Fatal(err)
	}
	empty := r.table(0)
	empty.Listeners, empty.Apps = nil, nil
	if err := s.Apply(empty); err != nil {
		t.Fatal(err)
	}
	if held := s.Held(); len(held) != 0 {
		t.Fatalf("held %v after the listener was removed", held)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", r.listen)
		if err == nil {
			ln.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("port of the removed listener still bound 10s later: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
