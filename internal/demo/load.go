package demo

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// load is the demo's built-in client: workers sending requests without cookies (every request
// a new client, so each lands by the weight), remembering what answered each one.
type load struct {
	mu     sync.Mutex
	phase  string
	byPh   map[string]*tally
	log    []hit
	quit   chan struct{}
	wg     sync.WaitGroup
	client *http.Client
}

type tally struct{ sent, failed, bad int }

type hit struct {
	at      time.Time
	version string
	ok      bool
}

func startLoad(url string, workers int, pause time.Duration) *load {
	l := &load{byPh: map[string]*tally{}, quit: make(chan struct{}),
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}}
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.quit:
					return
				case <-time.After(pause):
				}
				l.one(url)
			}
		}()
	}
	return l
}

func (l *load) one(url string) {
	resp, err := l.client.Get(url + "/")
	h := hit{at: time.Now()}
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		h.version, h.ok = resp.Header.Get("X-Version"), resp.StatusCode == 200
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.phase == "" {
		return
	}
	t := l.byPh[l.phase]
	t.sent++
	if !h.ok {
		t.failed++
		if h.version == l.phase {
			t.bad++ // green itself answered badly
		}
	}
	l.log = append(l.log, h)
}

func (l *load) setPhase(p string) {
	l.mu.Lock()
	l.phase = p
	if l.byPh[p] == nil {
		l.byPh[p] = &tally{}
	}
	l.mu.Unlock()
}

func (l *load) count(phase string) (sent, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.byPh[phase]; t != nil {
		return t.sent, t.failed
	}
	return 0, 0
}

func (l *load) bad(phase string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.byPh[phase]; t != nil {
		return t.bad
	}
	return 0
}

// between counts requests answered in [from, to) and how many of them green answered.
func (l *load) between(from, to time.Time, green string) (total, byGreen int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.log {
		if !h.at.Before(from) && h.at.Before(to) && h.ok {
			total++
			if h.version == green {
				byGreen++
			}
		}
	}
	return total, byGreen
}

func (l *load) stop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	l.wg.Wait()
}
